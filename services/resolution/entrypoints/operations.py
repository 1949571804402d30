"""Operations centre over HTTP: the figures (JSON), their live stream (SSE) and the dashboard page."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, RedirectResponse
from sse_starlette.sse import EventSourceResponse

from services.resolution.domain.figures import Period, local_day
from services.resolution.domain.scope import Scope, ScopeRefused, scope_for
from services.resolution.domain.service_index import CRITERIA, GROUPS
from services.resolution.entrypoints.auth import CurrentOfficial
from services.resolution.entrypoints.deps import ResolutionDeps, get_deps
from services.resolution.entrypoints.models import StatsOut
from shared.aio import wait_event
from shared.http import ApiError, error_responses, route
from shared.reference.admin_units import normalise_province_code, provinces
from shared.reference.offices import parse_office_code

router = APIRouter()
SHORT = {
    "transparency": "Công khai",
    "progress": "Tiến độ",
    "digitisation": "Số hóa",
    "online": "Trực tuyến",
    "satisfaction": "Hài lòng",
}
MAX_DAYS = 366
SETTLE_SECONDS = 0.2
BUSY_FACTOR = 2.0  # a stream waits at least twice as long as its last report took: at most a third of the time
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)  # beyond these no dossier exists (and UTC would overflow)
DEFAULT_DAYS = 30

From = Annotated[
    date | None, Query(alias="from", description="First local day (YYYY-MM-DD); default: 29 days before `to`.")
]
To = Annotated[date | None, Query(alias="to", description="Last local day, inclusive (YYYY-MM-DD); default: today.")]
Province = Annotated[
    str | None, Query(min_length=1, max_length=2, description="Narrow to a province (competent office's).")
]
Office = Annotated[str | None, Query(min_length=3, max_length=40, description="Narrow to one office.")]


Deps = Annotated[ResolutionDeps, Depends(get_deps)]


def period_of(first: date | None, last: date | None, *, today: date) -> Period:
    """The reporting period; 422 when it is reversed or longer than a year."""
    for name, day in (("from", first), ("to", last)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise ApiError(422, "invalid_date", f"{name} must lie between {EARLIEST} and {LATEST}")
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ApiError(422, "invalid_range", f"from ({first}) is after to ({last})")
    if (last - first).days + 1 > MAX_DAYS:
        raise ApiError(422, "range_too_long", f"the period may span at most {MAX_DAYS} days")
    return Period(first, last)


def _scope(official: Any, province_code: str | None, office_code: str | None) -> Scope:
    province = None
    if province_code is not None:
        province = normalise_province_code(province_code)
        if province is None:
            raise ApiError(422, "invalid_province", f"province_code {province_code!r} is not a province code")
    if office_code is not None:
        try:
            parse_office_code(office_code)
        except ValueError as exc:
            raise ApiError(422, "invalid_office", str(exc)) from None
    try:
        return scope_for(office=official.office, roles=official.roles, province_code=province, office_code=office_code)
    except ScopeRefused as exc:
        raise ApiError(403, "forbidden", str(exc)) from None


async def _report(deps: ResolutionDeps, scope: Scope, period: Period) -> dict[str, Any]:
    report = await deps.operations.report(scope=scope, period=period)
    report["period"] = {**report["period"], "from": period.first.isoformat(), "to": period.last.isoformat()}
    return report


@dataclass(frozen=True)
class StatsQuery:
    """What an official asked for: the scope their token allows and the period's bounds as given."""

    scope: Scope
    first: date | None
    last: date | None

    def period(self) -> Period:
        """The period as of today (a stream left open over midnight moves its default end with the day)."""
        return period_of(self.first, self.last, today=local_day(datetime.now().astimezone()))


async def stats_query(
    official: CurrentOfficial,
    first: From = None,
    last: To = None,
    province_code: Province = None,
    office_code: Office = None,
) -> StatsQuery:
    """FastAPI dependency: the checked scope and period bounds of a figures request."""
    query = StatsQuery(_scope(official, province_code, office_code), first, last)
    query.period()  # a bad period is refused before any stream starts
    return query


FiguresRequest = Annotated[StatsQuery, Depends(stats_query)]


@route(
    router.get,
    "/v1/stats",
    StatsOut,
    "operations",
    "Operations-centre figures and the Decision 766 service index",
    401,
    403,
    422,
)
async def stats(deps: Deps, query: FiguresRequest) -> dict[str, Any]:
    """Figures of the official's scope (national / their province / their office) for a period of local days."""
    return await _report(deps, query.scope, query.period())


@router.get(
    "/v1/stats/stream",
    tags=["operations"],
    summary="Live operations figures (Server-Sent Events)",
    responses={
        200: {"description": "A `figures` event with the report, then one each time it changes."},
        **error_responses(401, 403, 422),
    },
)
async def stats_stream(deps: Deps, query: FiguresRequest) -> EventSourceResponse:
    """The report now, then again whenever a case of this process changes (or at most every refresh interval)."""
    refresh = deps.settings.dashboard_refresh_interval
    changes = deps.watch.changes

    async def events() -> AsyncIterator[dict[str, str]]:
        woken = changes.listen()
        sent = ""
        try:
            while True:
                woken.clear()
                started = time.monotonic()
                report = await _report(deps, query.scope, query.period())
                elapsed = time.monotonic() - started
                encoded = jsonable_encoder(StatsOut.model_validate(report), by_alias=True)
                body = json.dumps(encoded, ensure_ascii=False)
                # as_of changes every time: send only when the figures themselves changed
                stable = json.dumps({k: v for k, v in encoded.items() if k != "as_of"}, sort_keys=True)
                digest = hashlib.sha256(stable.encode()).hexdigest()
                if digest != sent:
                    sent = digest
                    yield {"event": "figures", "data": body}
                await wait_event(woken, refresh)
                # let a burst of changes settle into one recomputation, and keep a large scope's report
                # (seconds to compute under a steady flow of changes) from taking the whole process
                await asyncio.sleep(max(SETTLE_SECONDS, BUSY_FACTOR * elapsed))
        finally:
            changes.stop(woken)

    return EventSourceResponse(events(), ping=15)


@cache
def _templates() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(
        lambda name: (resources.files("services.resolution") / "templates" / name).read_text("utf-8")
    )
    return jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=True)


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    """Someone typing the service's address lands on the dashboard."""
    return RedirectResponse("/operations", status_code=307)


@router.get("/operations", response_class=HTMLResponse, tags=["operations"], summary="Operations-centre dashboard")
async def dashboard() -> HTMLResponse:
    """The dashboard page (Vietnamese); it asks for the official's token and reads the figures above."""
    html = (
        _templates()
        .get_template("operations.html.j2")
        .render(criteria=CRITERIA, groups=GROUPS, group_keys=list(GROUPS), short=SHORT, provinces=provinces())
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
