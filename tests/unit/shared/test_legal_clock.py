"""The legal clock: working hours, Vietnamese days off, due dates and supplement pauses."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.reference.legal_clock import (
    FIRST_YEAR,
    LAST_YEAR,
    VIETNAM_TZ,
    ClockConfig,
    DatedNote,
    DayOverrides,
    LegalClock,
    OfficeHours,
    OutsideCalendar,
    check_in_calendar,
    default_clock,
    load_overrides,
)

CLOCK = default_clock()


def vn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VIETNAM_TZ)


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        pytest.param(vn(2027, 2, 3, 10), 3, vn(2027, 2, 15, 10), id="tet-2027-domain-example"),
        pytest.param(vn(2026, 2, 13, 10), 1, vn(2026, 2, 23, 10), id="tet-2026-16-to-20-feb"),
        pytest.param(vn(2026, 11, 21, 10), 1, vn(2026, 11, 23, 17), id="saturday-starts-monday-0730"),
        pytest.param(vn(2026, 11, 22, 23, 59), 2, vn(2026, 11, 25, 17), id="sunday-night-then-culture-day-24-11"),
        pytest.param(vn(2026, 11, 26, 19), 1, vn(2026, 11, 27, 17), id="evening-starts-next-morning"),
        pytest.param(vn(2026, 11, 26, 6, 0), 1, vn(2026, 11, 26, 17), id="before-opening-starts-0730"),
        pytest.param(vn(2026, 11, 26, 12), 1, vn(2026, 11, 27, 11, 30), id="lunch-break-starts-1300"),
        pytest.param(vn(2026, 11, 26, 10), 1, vn(2026, 11, 27, 10), id="inside-hours"),
        pytest.param(vn(2025, 4, 29, 9), 1, vn(2025, 5, 5, 9), id="2025-30-4-1-5-and-swapped-2-5"),
        pytest.param(vn(2026, 4, 29, 9), 1, vn(2026, 5, 4, 9), id="2026-30-4-thu-1-5-fri"),
        pytest.param(vn(2027, 4, 29, 9), 1, vn(2027, 5, 4, 9), id="2027-30-4-fri-1-5-sat-observed-mon"),
        pytest.param(vn(2025, 8, 29, 10), 1, vn(2025, 9, 3, 10), id="2025-national-day-1-2-9"),
        pytest.param(vn(2026, 8, 28, 16), 1, vn(2026, 9, 3, 16), id="2026-national-day-and-31-8-swap"),
        pytest.param(vn(2027, 9, 1, 9), 1, vn(2027, 9, 6, 9), id="2027-national-day-2-3-9"),
        pytest.param(vn(2026, 11, 25, 7, 30), 1, vn(2026, 11, 25, 17), id="lands-on-closing-stays-1700"),
        pytest.param(vn(2026, 11, 25, 13), 2, vn(2026, 11, 27, 11, 30), id="lands-on-1130-stays-1130"),
        pytest.param(vn(2026, 11, 25, 17), 1, vn(2026, 11, 26, 17), id="received-at-closing-counts-from-next-day"),
        pytest.param(vn(2026, 11, 25, 9), 0, vn(2026, 11, 25, 17), id="same-day"),
        pytest.param(vn(2026, 11, 25, 16, 59), 0, vn(2026, 11, 25, 17), id="same-day-one-minute-before-closing"),
        pytest.param(vn(2026, 11, 25, 18), 0, vn(2026, 11, 26, 17), id="same-day-after-hours-is-next-day"),
        pytest.param(vn(2026, 11, 28, 9), 0, vn(2026, 11, 30, 17), id="same-day-on-saturday-is-monday"),
        pytest.param(vn(2026, 11, 25, 9), 3, vn(2026, 11, 30, 9), id="household-business-3-days"),
        pytest.param(vn(2026, 12, 28, 9), 7, vn(2027, 1, 7, 9), id="across-new-year"),
    ],
)
def test_due_at(received: datetime, days: int, due: datetime) -> None:
    """due_at = received_at + N×8 working hours from the next opening; 0 days = closing time of that day."""
    got = CLOCK.due_at(received, working_days=days)
    assert got == due
    assert got.tzinfo == VIETNAM_TZ


def test_due_at_in_working_hours_and_other_time_zones() -> None:
    """Hours work like days; a UTC receipt is converted and the result comes back in Vietnam time."""
    received_utc = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
    due = CLOCK.due_at(received_utc, working_hours=4)
    assert due == vn(2026, 11, 25, 14, 30)
    assert str(due.tzinfo) == "Asia/Ho_Chi_Minh"
    assert CLOCK.due_at(received_utc, working_hours=24) == CLOCK.due_at(received_utc, working_days=3)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"working_days": 1, "working_hours": 8.0}, {"working_days": -1}, {"working_hours": -0.5}],
)
def test_due_at_rejects_bad_durations(kwargs: dict[str, float]) -> None:
    """Exactly one non-negative duration is accepted."""
    with pytest.raises(ValueError):
        CLOCK.due_at(vn(2026, 11, 25, 9), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "call",
    [
        lambda: CLOCK.due_at(datetime(2026, 11, 23, 9), working_days=1),
        lambda: CLOCK.working_hours_between(datetime(2026, 11, 23, 9), vn(2026, 11, 24, 9)),
        lambda: CLOCK.shift_due(datetime(2026, 11, 23, 9), 2.0),
        lambda: CLOCK.is_working_time(datetime(2026, 11, 23, 9)),
        lambda: CLOCK.next_opening(datetime(2026, 11, 23, 9)),
    ],
    ids=["due_at", "working_hours_between", "shift_due", "is_working_time", "next_opening"],
)
def test_naive_datetimes_are_refused(call: object) -> None:
    """A datetime without a time zone is ambiguous for a legal deadline."""
    with pytest.raises(ValueError, match="timezone"):
        call()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        pytest.param(vn(2026, 11, 16, 9), vn(2026, 11, 18, 14), 6.5 + 8 + 5, id="mon-0900-to-wed-1400"),
        pytest.param(vn(2026, 11, 27, 16), vn(2026, 12, 1, 8, 30), 1 + 8 + 1, id="over-a-weekend"),
        pytest.param(vn(2026, 11, 23, 11), vn(2026, 11, 23, 13, 30), 1.0, id="over-lunch"),
        pytest.param(vn(2026, 11, 23, 20), vn(2026, 11, 24, 20), 0.0, id="evening-to-holiday-evening"),
        pytest.param(vn(2027, 2, 3, 17), vn(2027, 2, 11, 7, 30), 0.0, id="the-whole-tet-2027-break"),
        pytest.param(vn(2026, 12, 1, 9), vn(2026, 12, 1, 8), 0.0, id="end-before-start"),
        pytest.param(vn(2026, 12, 1, 9), vn(2026, 12, 1, 9), 0.0, id="empty"),
    ],
)
def test_working_hours_between(start: datetime, end: datetime, hours: float) -> None:
    """Only office hours of working days count."""
    assert CLOCK.working_hours_between(start, end) == pytest.approx(hours)


def test_supplement_pause_shifts_due_by_exactly_the_paused_hours() -> None:
    """Supplement requested Mon 09:00, supplied Wed 14:00: the due date moves later by those 19.5 working hours."""
    due = vn(2026, 12, 4, 17)
    paused = CLOCK.working_hours_between(vn(2026, 11, 16, 9), vn(2026, 11, 18, 14))
    assert paused == 19.5
    shifted = CLOCK.shift_due(due, paused)
    assert shifted == vn(2026, 12, 9, 11)  # Mon 8 h + Tue 8 h + Wed 07:30 + 3.5 h
    assert CLOCK.working_hours_between(due, shifted) == paused
    assert CLOCK.shift_due(due, 0) == due


def test_shift_lands_on_closing_time_and_refuses_negative_pauses() -> None:
    """A shift that ends exactly at 17:00 stays at 17:00; a negative pause is a bug upstream."""
    assert CLOCK.shift_due(vn(2026, 11, 25, 9), 6.5) == vn(2026, 11, 25, 17)
    with pytest.raises(ValueError):
        CLOCK.shift_due(vn(2026, 11, 25, 9), -1.0)


@pytest.mark.parametrize(
    ("moment", "working", "opening"),
    [
        (vn(2026, 11, 25, 7, 29), False, vn(2026, 11, 25, 7, 30)),
        (vn(2026, 11, 25, 7, 30), True, vn(2026, 11, 25, 7, 30)),
        (vn(2026, 11, 25, 11, 30), False, vn(2026, 11, 25, 13)),
        (vn(2026, 11, 25, 16, 59), True, vn(2026, 11, 25, 16, 59)),
        (vn(2026, 11, 25, 17), False, vn(2026, 11, 26, 7, 30)),
        (vn(2026, 11, 27, 18), False, vn(2026, 11, 30, 7, 30)),
        (vn(2026, 11, 24, 10), False, vn(2026, 11, 25, 7, 30)),  # Vietnamese Culture Day
        (vn(2027, 2, 3, 17, 30), False, vn(2027, 2, 11, 7, 30)),  # into Tết 2027
    ],
)
def test_is_working_time_and_next_opening(moment: datetime, working: bool, opening: datetime) -> None:
    """Opening times count as working, closing times do not; next_opening skips breaks, nights and days off."""
    assert CLOCK.is_working_time(moment) is working
    assert CLOCK.next_opening(moment) == opening


@pytest.mark.parametrize(
    ("day", "off"),
    [
        *[(date(2027, 2, d), True) for d in range(4, 11)],
        (date(2027, 2, 11), False),
        (date(2025, 4, 30), True),
        (date(2025, 5, 1), True),
        (date(2025, 5, 2), True),
        (date(2025, 4, 26), False),  # Saturday made a working day by the packaged 2025 override file
        (date(2026, 8, 22), False),  # idem 2026
        (date(2026, 8, 29), True),  # an ordinary Saturday
        (date(2026, 9, 2), True),
        (date(2026, 11, 24), True),
        (date(2026, 11, 25), False),
    ],
)
def test_is_day_off(day: date, off: bool) -> None:
    """holidays.Vietnam plus the packaged override files decide days off."""
    assert CLOCK.is_day_off(day) is off


def test_packaged_override_makes_a_saturday_a_working_day() -> None:
    """Received Friday 25 April 2025 16:00 with 1 day: the swapped Saturday 26 April counts."""
    assert CLOCK.due_at(vn(2025, 4, 25, 16), working_days=1) == vn(2025, 4, 26, 16)
    without = LegalClock(ClockConfig(use_packaged_overrides=False))
    assert without.due_at(vn(2025, 4, 25, 16), working_days=1) == vn(2025, 4, 28, 16)


def test_configured_override_adds_a_working_saturday_and_a_day_off() -> None:
    """Overrides given in the config are honoured like the packaged ones."""
    swap = DayOverrides(
        year=2026,
        days_off=(DatedNote(date=date(2026, 11, 27), note="extra day off"),),
        working_days=(DatedNote(date=date(2026, 11, 28), note="Saturday worked instead"),),
    )
    clock = LegalClock(ClockConfig(extra_overrides=(swap,)))
    assert clock.is_day_off(date(2026, 11, 27)) and not clock.is_day_off(date(2026, 11, 28))
    assert clock.due_at(vn(2026, 11, 26, 9), working_days=1) == vn(2026, 11, 28, 9)


def test_every_substituted_holiday_has_its_working_saturday_in_an_override_file() -> None:
    """holidays.Vietnam names the Saturday each swapped day off is "taken from"; that Saturday must be worked."""
    for year in (2025, 2026, 2027):
        for day, name in holidays.country_holidays("VN", years=year, language="vi").items():
            for worked in re.findall(r"thay cho ngày (\d{2}/\d{2}/\d{4})", name):
                saturday = datetime.strptime(worked, "%d/%m/%Y").date()
                assert saturday in load_overrides(year).working_dates, (day, saturday)
                assert not CLOCK.is_day_off(saturday)


@pytest.mark.parametrize(
    "raw",
    [
        {"year": 2026, "days_off": [{"date": "2027-01-02", "note": "wrong year"}]},
        {"year": 2026, "working_days": [{"date": "2026-11-28"}]},
        {
            "year": 2026,
            "days_off": [{"date": "2026-11-28", "note": "a"}],
            "working_days": [{"date": "2026-11-28", "note": "b"}],
        },
        {"year": 2026, "holidays": []},
        {"year": 2026, "days_off": [{"date": "2026-02-30", "note": "no such day"}]},
    ],
    ids=["other-year", "missing-note", "both-lists", "unknown-key", "bad-date"],
)
def test_bad_override_data_fails_loudly(raw: dict[str, object]) -> None:
    """An override file that is wrong is refused when loaded, not silently ignored."""
    with pytest.raises(ValidationError):
        DayOverrides.model_validate(raw)


@pytest.mark.parametrize(
    "hours",
    [
        {"intervals": ()},
        {"intervals": ((time(9), time(8)),)},
        {"intervals": ((time(8), time(12)), (time(11), time(17)))},
        {"weekdays": frozenset({7})},
        {"weekdays": frozenset()},
    ],
    ids=["no-interval", "empty-interval", "overlap", "bad-weekday", "no-weekday"],
)
def test_office_hours_are_validated(hours: dict[str, object]) -> None:
    """Office hours that make no sense are refused."""
    with pytest.raises(ValidationError):
        OfficeHours.model_validate(hours)


def test_configurable_office_hours_and_time_zone() -> None:
    """Office hours are configurable: with 08:00–14:00 Mon–Sat, one working day (8 h) spills into Saturday."""
    hours = OfficeHours(intervals=((time(8), time(14)),), weekdays=frozenset({0, 1, 2, 3, 4, 5}))
    clock = LegalClock(ClockConfig(office_hours=hours))
    assert hours.day_length == timedelta(hours=6)
    # Fri 27 Nov 2026 08:00 + 8 working hours = Fri 6 h + Sat 2 h
    assert clock.due_at(vn(2026, 11, 27, 8), working_days=1) == vn(2026, 11, 28, 10)
    with pytest.raises(ValidationError):
        ClockConfig(timezone="Mars/Olympus_Mons")


def _in_office_hours(day: date, worked_seconds: int) -> datetime:
    """The moment ``worked_seconds`` into the office day ``day`` (or into the next working day when ``day`` is off)."""
    morning = 4 * 3600
    clock_time = (
        datetime.combine(day, time(7, 30)) + timedelta(seconds=worked_seconds)
        if worked_seconds < morning
        else datetime.combine(day, time(13)) + timedelta(seconds=worked_seconds - morning)
    )
    return CLOCK.next_opening(clock_time.replace(tzinfo=VIETNAM_TZ))


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    worked_seconds=st.integers(min_value=0, max_value=8 * 3600 - 1),
    n=st.integers(min_value=0, max_value=60),
)
def test_due_at_is_monotonic_and_exactly_8n_hours_away(day: date, worked_seconds: int, n: int) -> None:
    """For a receipt in office hours: due_at grows with N, and exactly 8N working hours separate receipt and due."""
    received = _in_office_hours(day, worked_seconds)
    assert CLOCK.is_working_time(received)
    due = CLOCK.due_at(received, working_days=n)
    later = CLOCK.due_at(received, working_days=n + 1)
    if n == 0:
        # "the same working day" ends at closing time; one day from 07:30 also ends at that closing time
        assert due == CLOCK.end_of_working_day(received) <= later
    else:
        assert due < later
        assert CLOCK.working_hours_between(due, later) == pytest.approx(8)
        assert CLOCK.working_hours_between(received, due) == pytest.approx(8 * n)


@settings(max_examples=150, deadline=None)
@given(
    due=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(VIETNAM_TZ)),
    quarters=st.integers(min_value=1, max_value=400),
)
def test_shift_due_moves_by_exactly_the_paused_hours(due: datetime, quarters: int) -> None:
    """Whatever the due moment, shifting by h working hours puts exactly h working hours between old and new."""
    paused = quarters / 4
    shifted = CLOCK.shift_due(due, paused)
    assert shifted > due
    assert CLOCK.working_hours_between(due, shifted) == pytest.approx(paused)
    assert not CLOCK.is_day_off(shifted.date())


def test_every_supported_year_has_tet_in_the_holiday_data() -> None:
    """The supported calendar ends where holidays.Vietnam's lunar data does: each year has its Tết days off."""
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        names = holidays.country_holidays("VN", years=year).values()
        assert any("Lunar New Year" in n for n in names), year


@pytest.mark.parametrize(
    "moment",
    [
        datetime(256, 7, 16, 5, 47, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        vn(FIRST_YEAR - 1, 12, 31, 10),
        vn(LAST_YEAR + 1, 1, 2, 10),
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    ],
)
def test_dates_outside_the_supported_calendar_are_refused(moment: datetime) -> None:
    """Outside the years with day-off data every operation raises OutsideCalendar (a ValueError), never guesses."""
    with pytest.raises(OutsideCalendar):
        CLOCK.due_at(moment, working_days=3)
    with pytest.raises(OutsideCalendar):
        CLOCK.is_working_time(moment)
    with pytest.raises(OutsideCalendar):
        check_in_calendar(moment)


def test_a_due_date_beyond_the_calendar_is_refused_but_the_last_year_works() -> None:
    """Receipts late in the last year are fine until the due date itself leaves the calendar."""
    assert CLOCK.due_at(vn(LAST_YEAR, 6, 1, 10), working_days=3).year == LAST_YEAR
    with pytest.raises(OutsideCalendar):
        CLOCK.due_at(vn(LAST_YEAR, 12, 30, 10), working_days=5)
    with pytest.raises(OutsideCalendar):
        CLOCK.shift_due(vn(LAST_YEAR, 12, 30, 10), 80)
    assert check_in_calendar(vn(FIRST_YEAR, 1, 1)) == vn(FIRST_YEAR, 1, 1)
