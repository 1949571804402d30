"""The legal clock's hot path (due dates, elapsed working time) against a day-by-day walk over the same calendar.

Moved here from the unit tests: how fast something runs is a measured figure, never a test assertion.
"""

from __future__ import annotations

import time as wall
from datetime import datetime, time, timedelta
from typing import Any

from shared.reference.legal_clock import HOURS_PER_WORKING_DAY, VIETNAM_TZ, LegalClock, default_clock


def _receipts(n: int) -> list[tuple[datetime, int]]:
    """``n`` receipt moments spread over 2026 with legal times of 0–39 working days."""
    return [(datetime(2026, 1 + i % 12, 1 + i % 28, 8 + i % 9, i % 60, tzinfo=VIETNAM_TZ), i % 40) for i in range(n)]


def walk_due_at(clock: LegalClock, received: datetime, days: int) -> datetime:
    """Baseline: count working days one calendar day at a time (what a straightforward implementation does)."""
    moment = clock.next_opening(received)
    hours_left = float(days * HOURS_PER_WORKING_DAY)
    if hours_left == 0:
        return clock.end_of_working_day(moment)
    day = moment.date()
    left_today = clock.working_hours_between(moment, clock.end_of_working_day(moment))
    while hours_left > left_today:
        hours_left -= left_today
        day += timedelta(days=1)
        while clock.is_day_off(day):
            day += timedelta(days=1)
        moment = datetime.combine(day, time(0), tzinfo=VIETNAM_TZ)
        left_today = float(HOURS_PER_WORKING_DAY)
    return clock.add_working_hours(moment, hours_left)


def bench_clock(scale: dict[str, float]) -> dict[str, Any]:
    """Due dates per second: the clock's binary searches vs the day walk, on the same receipts and calendar."""
    clock = default_clock()
    receipts = _receipts(int(scale.get("clock", 3000)))
    for received, days in receipts[:100]:  # warm the calendar years, excluded from both timings
        clock.due_at(received, working_days=days)
    t0 = wall.perf_counter()
    ours = [clock.due_at(received, working_days=days) for received, days in receipts]
    ours_s = wall.perf_counter() - t0
    t0 = wall.perf_counter()
    walked = [walk_due_at(clock, received, days) for received, days in receipts]
    walk_s = wall.perf_counter() - t0
    return {
        "due_dates": len(receipts),
        "agree": ours == walked,
        "ours_per_s": round(len(receipts) / ours_s),
        "baseline_walk_per_s": round(len(receipts) / walk_s),
        "ratio": round(walk_s / ours_s, 2),
    }
