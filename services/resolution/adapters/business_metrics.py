"""Business metrics for Prometheus next to the technical ones: dossiers received, resolved, overdue now."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from shared.metrics import counter, gauge
from shared.reference.admin_units import provinces


class BusinessMetrics:
    """Counters and gauges labelled by the competent office's province (bounded: 34 provinces)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._received = counter(
            registry,
            "lienthong_dossiers_received",
            "Dossiers whose first case opened at a competent office (a dossier once, whatever its transfers)",
            ["province"],
        )
        self._resolved = counter(
            registry,
            "lienthong_dossiers_resolved",
            "Dossiers finished with a result (last step of a chain) or a refusal, by timeliness against the due date",
            ["province", "timeliness", "outcome"],
        )
        self._overdue = gauge(
            registry,
            "lienthong_dossiers_overdue",
            "Running cases past their due date now (refreshed from the store): the one overdue figure, the "
            "operations centre's overdue_now",
            ["province"],
        )
        # every province from the start: a quiet country shows 0, not an absent series (alerts and panels read it)
        self._seen: set[str] = {p.code for p in provinces()}
        for province in self._seen:
            self._overdue.labels(province).set(0)

    def received(self, province: str) -> None:
        """Count a newly received dossier."""
        self._received.labels(province).inc()

    def resolved(self, province: str, *, late: bool, refused: bool) -> None:
        """Count a finished case (on time or late; result or refusal)."""
        self._resolved.labels(province, "late" if late else "on_time", "refused" if refused else "result").inc()

    def set_overdue(self, counts: dict[str, int]) -> None:
        """Replace the overdue gauge (provinces no longer overdue drop to 0)."""
        for province in self._seen - counts.keys():
            self._overdue.labels(province).set(0)
        for province, count in counts.items():
            self._overdue.labels(province).set(count)
        self._seen |= counts.keys()
