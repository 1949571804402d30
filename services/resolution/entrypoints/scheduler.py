"""The overdue scheduler: wakes at the earliest upcoming due date (at most ``max_wait`` apart) and flags cases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from services.resolution.handlers import Cases, Operations
from shared.aio import wait_event
from shared.logging import get_logger

log = get_logger(__name__)

# never spin faster than this, even when many due dates fall within a few milliseconds
MIN_WAIT = 0.05


def seconds_until(next_due: datetime | None, *, now: datetime, max_wait: float) -> float:
    """How long to sleep before the next check: until the next due date, bounded by [MIN_WAIT, max_wait]."""
    if next_due is None:
        return max_wait
    return min(max_wait, max(MIN_WAIT, (next_due - now).total_seconds()))


async def overdue_loop(cases: Cases, *, max_wait: float) -> None:
    """Flag overdue cases as their due dates pass, for the life of the service.

    The loop also wakes when a case opens or a due date moves in this process to a moment before the planned
    wake-up (``DueSignal``); the ``max_wait`` bound covers changes made by other instances of the service.
    """
    while True:
        delay = max_wait
        # before the check: any due date written during it wakes the next check at once
        due = cases.watch.due
        due.changed.clear()
        due.planned_wake = None
        try:
            await cases.flag_overdue()
            delay = seconds_until(await cases.next_due(), now=datetime.now(UTC), max_wait=max_wait)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep checking after a store hiccup
            log.warning("overdue_check_failed", error=str(exc), error_type=type(exc).__name__)
        due.planned_wake = datetime.now(UTC) + timedelta(seconds=delay)
        await wait_event(due.changed, delay)


async def business_metrics_loop(operations: Operations, *, interval: float) -> None:
    """Refresh the overdue gauge on /metrics from the store (every instance sees the same figure)."""
    while True:
        try:
            await operations.refresh_overdue_gauge()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep refreshing after a store hiccup
            log.warning("metrics_refresh_failed", error=str(exc), error_type=type(exc).__name__)
        await asyncio.sleep(interval)
