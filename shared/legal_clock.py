"""The legal clock (thời hạn giải quyết): working hours, Vietnamese days off, due dates and pauses.

Rule (DOMAIN.md): office hours 07:30–11:30 and 13:00–17:00 Asia/Ho_Chi_Minh, Monday–Friday; days off
are ``holidays.Vietnam`` plus a per-year override file; ``due_at = received_at + N × 8 working hours``;
a receipt outside office hours starts counting at the next opening; a supplement request pauses the
clock and the due date moves later by the working hours that were paused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel, ConfigDict, Field

HOURS_PER_WORKING_DAY = 8
VIETNAM_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class OfficeHours(BaseModel):
    """Working intervals of an office day and the working weekdays (0 = Monday)."""

    model_config = ConfigDict(frozen=True)

    intervals: tuple[tuple[time, time], ...] = ((time(7, 30), time(11, 30)), (time(13, 0), time(17, 0)))
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    timezone: str = "Asia/Ho_Chi_Minh"


class DayOverrides(BaseModel):
    """The government's announced swaps for one year (extra days off, extra working days)."""

    model_config = ConfigDict(frozen=True)

    year: int
    days_off: frozenset[date] = Field(default_factory=frozenset)
    working_days: frozenset[date] = Field(default_factory=frozenset)
    source: str = ""


@cache
def load_overrides(year: int) -> DayOverrides:
    """The packaged override file ``reference/holiday_overrides/<year>.json`` (empty when there is none)."""
    path = resources.files("shared") / "reference" / "holiday_overrides" / f"{year}.json"
    if not path.is_file():
        return DayOverrides(year=year)
    raw = json.loads(path.read_text(encoding="utf-8"))
    return DayOverrides(
        year=year,
        days_off=frozenset(date.fromisoformat(d["date"]) for d in raw.get("days_off", [])),
        working_days=frozenset(date.fromisoformat(d["date"]) for d in raw.get("working_days", [])),
        source=raw.get("source", ""),
    )


def _require_aware(dt: datetime) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("the legal clock needs timezone-aware datetimes")


class LegalClock:
    """Working-time arithmetic for one set of office hours and days off."""

    def __init__(self, hours: OfficeHours | None = None, *, extra_overrides: list[DayOverrides] | None = None) -> None:
        self.hours = hours or OfficeHours()
        self.tz = ZoneInfo(self.hours.timezone)
        self._extra = extra_overrides or []
        self._days_off: dict[int, frozenset[date]] = {}
        self._working: dict[int, frozenset[date]] = {}
        self._minutes = [(a.hour * 60 + a.minute, b.hour * 60 + b.minute) for a, b in self.hours.intervals]

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        if year not in self._days_off:
            overrides = [load_overrides(year), *(o for o in self._extra if o.year == year)]
            off = set(holidays.country_holidays("VN", years=year).keys())
            working: set[date] = set()
            for o in overrides:
                off |= o.days_off
                working |= o.working_days
            self._days_off[year] = frozenset(off - working)
            self._working[year] = frozenset(working)
        return self._days_off[year], self._working[year]

    def is_day_off(self, day: date) -> bool:
        """True for weekends (unless swapped to a working day), public holidays and announced days off."""
        off, working = self._year(day.year)
        if day in working:
            return False
        return day.weekday() not in self.hours.weekdays or day in off

    def _local(self, dt: datetime) -> datetime:
        _require_aware(dt)
        return dt.astimezone(self.tz)

    def _at(self, day: date, minute: int) -> datetime:
        return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.tz)

    def _segments_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals (clipped at ``start``) in time order, forever."""
        day = start.date()
        start_minute = start.hour * 60 + start.minute + start.second / 60 + start.microsecond / 60e6
        first = True
        while True:
            if not self.is_day_off(day):
                for a, b in self._minutes:
                    if first and b <= start_minute:
                        continue
                    seg_start = start if first and a < start_minute else self._at(day, a)
                    yield seg_start, self._at(day, b)
            first = False
            day += timedelta(days=1)

    def is_working_time(self, dt: datetime) -> bool:
        """True when ``dt`` falls inside office hours of a working day."""
        local = self._local(dt)
        if self.is_day_off(local.date()):
            return False
        minute = local.hour * 60 + local.minute
        return any(a <= minute < b for a, b in self._minutes)

    def next_opening(self, dt: datetime) -> datetime:
        """``dt`` itself when inside office hours, otherwise the next moment the office opens."""
        return next(self._segments_from(self._local(dt)))[0]

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` working hours after ``start``; landing on a closing time stays there."""
        remaining = timedelta(hours=hours)
        segments = self._segments_from(self._local(start))
        seg_start, seg_end = next(segments)
        if remaining <= timedelta(0):
            return seg_start
        while True:
            available = seg_end - seg_start
            if remaining <= available:
                return seg_start + remaining
            remaining -= available
            seg_start, seg_end = next(segments)

    def due_at(
        self, received_at: datetime, working_days: int | None = None, working_hours: float | None = None
    ) -> datetime:
        """Appointment date: ``received_at`` + N×8 working hours; 0 days = end of the day the clock starts."""
        if (working_days is None) == (working_hours is None):
            raise ValueError("give exactly one of working_days or working_hours")
        hours = float(working_hours) if working_hours is not None else float(working_days or 0) * HOURS_PER_WORKING_DAY
        if hours < 0:
            raise ValueError("processing time cannot be negative")
        if hours == 0:
            opening = self.next_opening(received_at)
            last_close = self._minutes[-1][1]
            return self._at(opening.date(), last_close)
        return self.add_working_hours(received_at, hours)

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours elapsed from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
        start, end = self._local(start), self._local(end)
        if end <= start:
            return 0.0
        total = timedelta(0)
        for seg_start, seg_end in self._segments_from(start):
            if seg_start >= end:
                break
            total += min(seg_end, end) - seg_start
        return total.total_seconds() / 3600

    def shift_due(self, due_at: datetime, paused_hours: float) -> datetime:
        """Move a due date later by ``paused_hours`` working hours (supplement pause)."""
        if paused_hours <= 0:
            return self._local(due_at)
        return self.add_working_hours(due_at, paused_hours)


@cache
def default_clock() -> LegalClock:
    """The clock with the contract's default office hours."""
    return LegalClock()
