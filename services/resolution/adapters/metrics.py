"""Prometheus figure of resolution's overdue scheduler: running cases past due that it has not flagged yet.

How many cases are overdue is one figure, ``lienthong_dossiers_overdue{province}`` (business_metrics.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from services.resolution.adapters.repositories import MongoCases
from shared.metrics import gauge


class OverdueMetrics:
    """``lienthong_cases_overdue_unflagged``: past due, not yet flagged (the scheduler is behind when it stays > 0)."""

    def __init__(self, registry: CollectorRegistry, cases: MongoCases) -> None:
        self._cases = cases
        self.unflagged = gauge(
            registry,
            "lienthong_cases_overdue_unflagged",
            "Running cases past their due date that the overdue scheduler has not flagged yet",
        )

    async def refresh(self) -> None:
        """Count at scrape time."""
        self.unflagged.set(await self._cases.count_unflagged(datetime.now(UTC)))
