"""The legal clock (thời hạn giải quyết): working hours, Vietnamese days off, due dates and pauses.

Rule (docs/domain.md): office hours 07:30–11:30 and 13:00–17:00 Asia/Ho_Chi_Minh, Monday–Friday; days off
are ``holidays.Vietnam`` plus a per-year override file ``reference/holiday_overrides/<year>.json``;
``due_at = received_at + N × 8 working hours``; a receipt outside office hours starts counting at the
next opening; a supplement request pauses the clock and the due date moves later by the paused working hours.

Arithmetic is exact (integer microseconds) on a "working-time line": every working day is a block of
``day_length`` working time, and a moment maps to ``index of its working day × day_length + time worked
that day``. Working days of each year are precomputed once as sorted ordinals, so every operation is a
couple of binary searches, never a walk over minutes or days.
"""

from __future__ import annotations

import json
import threading
from bisect import bisect_left
from datetime import date, datetime, time, timedelta
from functools import cache, cached_property
from importlib import resources
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

HOURS_PER_WORKING_DAY = 8
VIETNAM_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: Years the clock answers for: from 2000 (older receipts are typing errors, not dossiers) to 2100, the last
#: year ``holidays.Vietnam`` has lunar data for (without it Tết would silently count as working days).
FIRST_YEAR, LAST_YEAR = 2000, 2100

_US_PER_HOUR = 3_600_000_000
_LOOKAHEAD_YEARS = 2  # years built beyond the start year before an addition needs to grow the calendar


def _us(t: time) -> int:
    """Microseconds since midnight."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _time_of(us: int) -> time:
    """Time of day ``us`` microseconds after midnight."""
    seconds, micro = divmod(us, 1_000_000)
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60, micro)


class OutsideCalendar(ValueError):
    """A moment outside the years the clock has day-off data for (``FIRST_YEAR``–``LAST_YEAR``)."""


def check_in_calendar(dt: datetime) -> datetime:
    """``dt`` itself when its year is within the supported calendar; OutsideCalendar otherwise."""
    try:
        year = dt.astimezone(VIETNAM_TZ).year if dt.tzinfo is not None else dt.year
    except OverflowError:
        year = dt.year
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise OutsideCalendar(f"{dt.isoformat()} is outside the supported calendar ({FIRST_YEAR}–{LAST_YEAR})")
    return dt


CalendarDatetime = Annotated[datetime, AfterValidator(check_in_calendar)]
"""A datetime field or parameter the legal clock can answer for (a clear 422 instead of a failure later)."""


class OfficeHours(BaseModel):
    """Working intervals of an office day and the working weekdays (0 = Monday)."""

    model_config = ConfigDict(frozen=True)

    intervals: tuple[tuple[time, time], ...] = ((time(7, 30), time(11, 30)), (time(13, 0), time(17, 0)))
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})

    @model_validator(mode="after")
    def _ordered(self) -> OfficeHours:
        if not self.intervals:
            raise ValueError("office hours need at least one interval")
        previous_end: time | None = None
        for start, end in self.intervals:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("office-hour times are local wall-clock times without a time zone")
            if start >= end:
                raise ValueError(f"office interval {start}–{end} is empty")
            if previous_end is not None and start < previous_end:
                raise ValueError("office intervals must be in order and must not overlap")
            previous_end = end
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError("weekdays must be a non-empty subset of 0..6 (0 = Monday)")
        return self

    @property
    def day_length(self) -> timedelta:
        """Working time in one office day (8 h by default)."""
        return timedelta(microseconds=sum(_us(b) - _us(a) for a, b in self.intervals))


class DatedNote(BaseModel):
    """One day in an override file, with why it is there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: date
    note: str = Field(min_length=1)


class DayOverrides(BaseModel):
    """The government's announced swaps for one year: extra days off and extra working days (e.g. a Saturday)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int = Field(ge=1900, le=2200)
    source: str = ""
    note: str = ""
    days_off: tuple[DatedNote, ...] = ()
    working_days: tuple[DatedNote, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> DayOverrides:
        off, working = self.off_dates, self.working_dates
        if any(d.year != self.year for d in off | working):
            raise ValueError(f"override file for {self.year} lists a date of another year")
        if off & working:
            raise ValueError(f"{sorted(off & working)} listed both as day off and as working day")
        return self

    @property
    def off_dates(self) -> frozenset[date]:
        """Extra days off."""
        return frozenset(d.date for d in self.days_off)

    @property
    def working_dates(self) -> frozenset[date]:
        """Extra working days (days that would otherwise be off)."""
        return frozenset(d.date for d in self.working_days)


@cache
def load_overrides(year: int) -> DayOverrides:
    """The packaged override file ``reference/holiday_overrides/<year>.json`` (empty when there is none)."""
    path = resources.files("shared.reference") / "holiday_overrides" / f"{year}.json"
    if not path.is_file():
        return DayOverrides(year=year)
    overrides = DayOverrides.model_validate(json.loads(path.read_text(encoding="utf-8")))
    if overrides.year != year:
        raise ValueError(f"holiday override file {year}.json declares year {overrides.year}")
    return overrides


class ClockConfig(BaseModel):
    """Everything the legal clock depends on: office hours, time zone and day overrides."""

    model_config = ConfigDict(frozen=True)

    office_hours: OfficeHours = OfficeHours()
    timezone: str = "Asia/Ho_Chi_Minh"
    use_packaged_overrides: bool = True
    extra_overrides: tuple[DayOverrides, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class _YearCalendar:
    """Days off and working days of one year, computed once."""

    __slots__ = ("days_off", "forced_working", "working_ordinals")

    def __init__(self, year: int, config: ClockConfig) -> None:
        overrides = [load_overrides(year)] if config.use_packaged_overrides else []
        overrides += [o for o in config.extra_overrides if o.year == year]
        # country_holidays("VN") is holidays.Vietnam, through the typed entry point
        off: set[date] = set(holidays.country_holidays("VN", years=year).keys())
        forced: set[date] = set()
        for o in overrides:
            off |= o.off_dates
            forced |= o.working_dates
        self.days_off = frozenset(off - forced)
        self.forced_working = frozenset(forced)
        weekdays = config.office_hours.weekdays
        first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
        self.working_ordinals = tuple(o for o in range(first, last + 1) if self._working(date.fromordinal(o), weekdays))

    def _working(self, day: date, weekdays: frozenset[int]) -> bool:
        if day in self.forced_working:
            return True
        return day.weekday() in weekdays and day not in self.days_off


class _Span:
    """Working days of consecutive years as one sorted tuple of ordinals (immutable snapshot)."""

    __slots__ = ("first_year", "last_year", "ordinals")

    def __init__(self, first_year: int, last_year: int, years: dict[int, _YearCalendar]) -> None:
        self.first_year, self.last_year = first_year, last_year
        self.ordinals: tuple[int, ...] = tuple(
            o for y in range(first_year, last_year + 1) for o in years[y].working_ordinals
        )

    def covers(self, first_year: int, last_year: int) -> bool:
        return self.first_year <= first_year and last_year <= self.last_year


class LegalClock:
    """Working-time arithmetic for one set of office hours and days off (thread-safe, immutable config)."""

    def __init__(self, config: ClockConfig | None = None) -> None:
        self.config = config or ClockConfig()
        self.tz = ZoneInfo(self.config.timezone)
        self._intervals = tuple((_us(a), _us(b)) for a, b in self.config.office_hours.intervals)
        self._day_us = sum(b - a for a, b in self._intervals)
        self._years: dict[int, _YearCalendar] = {}
        self._span: _Span | None = None
        self._lock = threading.Lock()

    # --- calendar -----------------------------------------------------------------------------------------

    def _year(self, year: int) -> _YearCalendar:
        calendar = self._years.get(year)
        if calendar is None:
            if not FIRST_YEAR <= year <= LAST_YEAR:
                raise OutsideCalendar(f"{year} is outside the supported calendar ({FIRST_YEAR}–{LAST_YEAR})")
            with self._lock:
                calendar = self._years.get(year)
                if calendar is None:
                    calendar = self._years[year] = _YearCalendar(year, self.config)
        return calendar

    def _span_for(self, first_year: int, last_year: int) -> _Span:
        span = self._span
        if span is not None and span.covers(first_year, last_year):
            return span
        if span is not None:
            first_year, last_year = min(first_year, span.first_year), max(last_year, span.last_year)
        for y in range(first_year, last_year + 1):
            self._year(y)
        span = _Span(first_year, last_year, self._years)
        self._span = span  # a plain attribute swap: readers keep whichever snapshot they took
        return span

    def is_day_off(self, day: date) -> bool:
        """True for weekends (unless swapped to a working day), public holidays and announced days off."""
        calendar = self._year(day.year)
        if day in calendar.forced_working:
            return False
        return day.weekday() not in self.config.office_hours.weekdays or day in calendar.days_off

    @cached_property
    def _closing(self) -> time:
        return _time_of(self._intervals[-1][1])

    # --- the working-time line ----------------------------------------------------------------------------

    def _local(self, dt: datetime) -> datetime:
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError("the legal clock needs timezone-aware datetimes")
        try:
            local = dt.astimezone(self.tz)
        except OverflowError:
            raise OutsideCalendar(f"{dt.isoformat()} is outside the supported calendar") from None
        if not FIRST_YEAR <= local.year <= LAST_YEAR:
            raise OutsideCalendar(f"{dt.isoformat()} is outside the supported calendar ({FIRST_YEAR}–{LAST_YEAR})")
        return local

    def _worked_before(self, moment_us: int) -> int:
        """Working time of one office day that lies before ``moment_us`` (time of day)."""
        return sum(min(max(moment_us - a, 0), b - a) for a, b in self._intervals)

    def _position(self, local: datetime, span: _Span) -> int:
        """Place of ``local`` on the working-time line of ``span`` (microseconds)."""
        ordinal = local.date().toordinal()
        index = bisect_left(span.ordinals, ordinal)
        worked = 0
        if index < len(span.ordinals) and span.ordinals[index] == ordinal:
            worked = self._worked_before(_us(local.timetz().replace(tzinfo=None)))
        return index * self._day_us + worked

    def _moment(self, position: int, span: _Span, *, at_close: bool) -> datetime:
        """The moment at ``position``; on a boundary, ``at_close`` picks the closing time over the next opening."""
        index, offset = divmod(position, self._day_us)
        if at_close and offset == 0 and index > 0:
            index, offset = index - 1, self._day_us
        moment = self._intervals[-1][1]  # not reached: a position always falls in some interval
        for a, b in self._intervals:
            if offset < b - a or (at_close and offset == b - a):
                moment = a + offset
                break
            offset -= b - a
        day = date.fromordinal(span.ordinals[index])
        return datetime.combine(day, _time_of(moment), tzinfo=self.tz)

    def _years_ahead(self, start: datetime, working_us: int) -> int:
        # ~250 working days a year in Vietnam; 200 keeps a margin for odd office-hour configurations
        return min(LAST_YEAR, start.year + _LOOKAHEAD_YEARS + working_us // (self._day_us * 200))

    def _advance(self, start: datetime, working_us: int, *, at_close: bool) -> datetime:
        local = self._local(start)
        last_year = self._years_ahead(local, working_us)
        while True:
            span = self._span_for(local.year, last_year)
            target = self._position(local, span) + working_us
            # the target must fall strictly inside the span, or the span simply has no later days yet
            if target < len(span.ordinals) * self._day_us:
                return self._moment(target, span, at_close=at_close)
            if last_year >= LAST_YEAR:
                raise OutsideCalendar(f"the result falls after {LAST_YEAR}, beyond the supported calendar")
            last_year = min(LAST_YEAR, last_year + _LOOKAHEAD_YEARS)

    # --- public API ---------------------------------------------------------------------------------------

    def is_working_time(self, dt: datetime) -> bool:
        """True when ``dt`` falls inside office hours of a working day (closing time itself is outside)."""
        local = self._local(dt)
        if self.is_day_off(local.date()):
            return False
        moment = _us(local.timetz().replace(tzinfo=None))
        return any(a <= moment < b for a, b in self._intervals)

    def next_opening(self, dt: datetime) -> datetime:
        """``dt`` itself (local time) when inside office hours, otherwise the next moment the office opens."""
        local = self._local(dt)
        if self.is_working_time(local):
            return local
        return self._advance(local, 0, at_close=False)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` working hours after ``start``; landing exactly on a closing time stays there."""
        if hours < 0:
            raise ValueError("working hours to add cannot be negative")
        if hours == 0:
            return self.next_opening(start)
        return self._advance(start, round(hours * _US_PER_HOUR), at_close=True)

    def due_at(
        self, received_at: datetime, *, working_days: int | None = None, working_hours: float | None = None
    ) -> datetime:
        """Appointment date: ``received_at`` + N×8 working hours; 0 means the end of the day the clock starts."""
        if (working_days is None) == (working_hours is None):
            raise ValueError("give exactly one of working_days or working_hours")
        hours = float(working_hours) if working_hours is not None else float(working_days or 0) * HOURS_PER_WORKING_DAY
        if hours < 0:
            raise ValueError("processing time cannot be negative")
        if hours == 0:
            return self.end_of_working_day(received_at)
        return self.add_working_hours(received_at, hours)

    def end_of_working_day(self, dt: datetime) -> datetime:
        """Closing time of the working day on which the clock runs at ``dt`` (today, or the next working day)."""
        opening = self.next_opening(dt)
        return datetime.combine(opening.date(), self._closing, tzinfo=self.tz)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        after = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
        return self.next_opening(after).date()

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours elapsed from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
        start, end = self._local(start), self._local(end)
        if end <= start:
            return 0.0
        span = self._span_for(start.year, end.year)
        return (self._position(end, span) - self._position(start, span)) / _US_PER_HOUR

    def shift_due(self, due_at: datetime, paused_hours: float) -> datetime:
        """Move a due date later by ``paused_hours`` working hours (supplement pause); 0 leaves it unchanged."""
        if paused_hours < 0:
            raise ValueError("paused hours cannot be negative")
        if paused_hours == 0:
            return self._local(due_at)
        return self._advance(due_at, round(paused_hours * _US_PER_HOUR), at_close=True)


@cache
def default_clock() -> LegalClock:
    """The clock with the contract's default office hours and the packaged override files."""
    return LegalClock()
