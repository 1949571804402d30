"""The legal clock: working hours, Vietnamese days off, due dates and supplement pauses (table tests)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.legal_clock import VIETNAM_TZ, DayOverrides, LegalClock, default_clock


def vn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VIETNAM_TZ)


CLOCK = default_clock()


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        # DOMAIN.md example: Tết 2027 is 4–10 Feb
        (vn(2027, 2, 3, 10, 0), 3, vn(2027, 2, 15, 10, 0)),
        # received on a Saturday: counting starts Monday 07:30, one day = all of Monday
        (vn(2026, 11, 21, 10, 0), 1, vn(2026, 11, 23, 17, 0)),
        # received in the evening: next opening; 24 Nov 2026 (Vietnam Cultural Day) is off
        (vn(2026, 11, 20, 19, 0), 1, vn(2026, 11, 23, 17, 0)),
        # received during the lunch break: counting starts 13:00; Tue 24 Nov is off; lands on 11:30 and stays
        (vn(2026, 11, 23, 12, 0), 1, vn(2026, 11, 25, 11, 30)),
        # Reunification Day 30/4 and Labour Day 1/5 2026 (Thursday, Friday)
        (vn(2026, 4, 29, 9, 0), 1, vn(2026, 5, 4, 9, 0)),
        # National Day 1-2/9 2026 (Tuesday, Wednesday) and the 31 Aug swap
        (vn(2026, 8, 28, 16, 0), 1, vn(2026, 9, 3, 16, 0)),
        # exactly lands on closing time: stays at 17:00, not next morning
        (vn(2026, 11, 25, 7, 30), 1, vn(2026, 11, 25, 17, 0)),
        # the same working day (0 days) ends at closing time
        (vn(2026, 11, 25, 9, 0), 0, vn(2026, 11, 25, 17, 0)),
        (vn(2026, 11, 25, 18, 0), 0, vn(2026, 11, 26, 17, 0)),
        # household business registration: 3 working days
        (vn(2026, 11, 25, 9, 0), 3, vn(2026, 11, 30, 9, 0)),
    ],
)
def test_due_at(received: datetime, days: int, due: datetime) -> None:
    """due_at = received_at + N×8 working hours, starting at the next opening."""
    assert CLOCK.due_at(received, working_days=days) == due


def test_supplement_pause_shifts_due_by_exactly_the_paused_hours() -> None:
    """Requested Mon 09:00, supplied Wed 14:00: the due date moves by the working hours in between."""
    due = CLOCK.due_at(vn(2026, 11, 16, 8, 0), working_days=15)
    paused = CLOCK.working_hours_between(vn(2026, 11, 16, 9, 0), vn(2026, 11, 18, 14, 0))
    assert paused == pytest.approx(2.5 + 4 + 8 + 4 + 1)
    shifted = CLOCK.shift_due(due, paused)
    assert CLOCK.working_hours_between(due, shifted) == pytest.approx(paused)
    assert shifted > due


def test_working_hours_between_skips_nights_weekends_and_holidays() -> None:
    """Friday 16:00 → Tuesday 08:30 across a weekend is 1 + 8 + 1 working hours."""
    assert CLOCK.working_hours_between(vn(2026, 11, 27, 16, 0), vn(2026, 12, 1, 8, 30)) == pytest.approx(10)
    assert CLOCK.working_hours_between(vn(2026, 12, 1, 9, 0), vn(2026, 12, 1, 8, 0)) == 0


def test_naive_datetimes_are_refused() -> None:
    """A datetime without time zone is ambiguous for a legal deadline."""
    with pytest.raises(ValueError, match="timezone"):
        CLOCK.due_at(datetime(2026, 11, 23, 9, 0), working_days=1)


def test_override_can_make_a_saturday_a_working_day() -> None:
    """A government swap that makes a Saturday a working day is honoured."""
    swap = DayOverrides(year=2026, working_days=frozenset({date(2026, 11, 28)}))
    clock = LegalClock(extra_overrides=[swap])
    assert not clock.is_day_off(date(2026, 11, 28))
    assert clock.due_at(vn(2026, 11, 27, 9, 0), working_days=1) == vn(2026, 11, 28, 9, 0)


def test_days_off_from_holidays_package() -> None:
    """Tết 2027 and National Day are days off; an ordinary Wednesday is not."""
    assert all(CLOCK.is_day_off(date(2027, 2, d)) for d in range(4, 11))
    assert CLOCK.is_day_off(date(2026, 9, 2))
    assert not CLOCK.is_day_off(date(2026, 11, 25))


@settings(max_examples=60, deadline=None)
@given(
    day=st.dates(min_value=date(2025, 7, 1), max_value=date(2027, 12, 31)),
    minute=st.sampled_from([450, 600, 690, 780, 900, 1019]),
    n=st.integers(min_value=1, max_value=20),
)
def test_due_at_properties(day: date, minute: int, n: int) -> None:
    """due_at grows with N; from a moment in office hours exactly 8N working hours separate receipt and due."""
    received = CLOCK.next_opening(datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=VIETNAM_TZ))
    due = CLOCK.due_at(received, working_days=n)
    assert CLOCK.due_at(received, working_days=n + 1) > due
    assert CLOCK.working_hours_between(received, due) == pytest.approx(8 * n)
