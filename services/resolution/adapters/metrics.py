"""Prometheus figures of resolution: cases overdue now (the operations centre's first question)."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Gauge

from services.resolution.adapters.store import ResolutionStore
from services.resolution.domain.case import CLOCK_RUNNING, OPEN


class OverdueMetrics:
    """``lienthong_cases_overdue`` (flagged, still open) and the ones past due but not yet flagged."""

    def __init__(self, registry: CollectorRegistry, store: ResolutionStore) -> None:
        self._store = store
        self.overdue = Gauge("lienthong_cases_overdue", "Open cases past their due date (flagged)", registry=registry)
        self.unflagged = Gauge(
            "lienthong_cases_overdue_unflagged",
            "Running cases past their due date that the overdue scheduler has not flagged yet",
            registry=registry,
        )

    async def refresh(self) -> None:
        """Count both at scrape time."""
        flagged, unflagged = await self._store.count_overdue(
            sorted(s.value for s in OPEN), sorted(s.value for s in CLOCK_RUNNING), datetime.now(UTC)
        )
        self.overdue.set(flagged)
        self.unflagged.set(unflagged)
