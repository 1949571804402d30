"""Quiet hours for SMS (no texts at night): messages inside the window wait until it ends, never dropped."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from shared.reference.legal_clock import VIETNAM_TZ

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def parse_window(window: str) -> tuple[time, time] | None:
    """``"21:00-07:00"`` → (21:00, 07:00); empty → None; ValueError for anything else."""
    if not window:
        return None
    match = _WINDOW.match(window.strip())
    if match is None:
        raise ValueError(f"quiet hours must look like 21:00-07:00, got {window!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if (h1, m1) == (h2, m2):
        raise ValueError("quiet hours start and end must differ")
    return time(h1, m1), time(h2, m2)


def resume_at(now: datetime, window: str) -> datetime | None:
    """When SMS may be sent again if ``now`` (Vietnam time) is inside the quiet window, else None."""
    parsed = parse_window(window)
    if parsed is None:
        return None
    start_t, end_t = parsed
    local = now.astimezone(VIETNAM_TZ)
    start = datetime.combine(local.date(), start_t, VIETNAM_TZ)
    end = datetime.combine(local.date(), end_t, VIETNAM_TZ)
    if start < end:  # a window within one day, e.g. 12:00-13:30
        return end if start <= local < end else None
    if local >= start:  # the window crosses midnight: late evening waits for tomorrow's end
        return end + timedelta(days=1)
    return end if local < end else None
