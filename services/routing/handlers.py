"""Routing use cases: decide on receipt, follow status events, place parked dossiers, operators' office status.

Each loads through a port, calls the Route aggregate, commits through the unit of work (which stores the
``dossier.routed.v1`` events with the state and has the relay publish them), then moves the offices' load.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.routing.domain.offices import OfficeStatus
from services.routing.domain.ports import OfficeStatuses, Routes
from services.routing.domain.registry import Office
from services.routing.domain.route import Move, Route
from services.routing.domain.rules import Jurisdiction
from shared.events import DossierReceived, DossierStatusChanged
from shared.logging import get_logger

log = get_logger(__name__)


async def start_offices(*, routes: Routes, statuses: OfficeStatuses, jurisdiction: Jurisdiction) -> None:
    """Load operator statuses and office load (open dossiers per office) at start."""
    jurisdiction.board.start(await statuses.all(), await routes.open_counts())


async def receive_dossier(
    event_id: str, received: DossierReceived, *, routes: Routes, jurisdiction: Jurisdiction, now: datetime | None = None
) -> None:
    """Decide the first office of a new dossier; a redelivered event changes nothing."""
    route = Route.receive(received, jurisdiction=jurisdiction, now=now or datetime.now(UTC))
    board, added = jurisdiction.board, False
    board.enter(route.open_at)  # counted before the write so concurrent decisions already see it
    try:
        added = await routes.add(route, consumed=event_id)
    finally:
        if not added:
            board.leave(route.open_at)
    if added:
        log.info(
            "dossier_routed",
            dossier_id=route.dossier_id,
            office=route.open_at,
            rule=route.decisions[-1].rule_id,
            parked=route.parked,
        )


async def follow_status(
    event_id: str,
    change: DossierStatusChanged,
    *,
    routes: Routes,
    jurisdiction: Jurisdiction,
    now: datetime | None = None,
) -> None:
    """A case's status at the office holding the dossier: hand-off dates, load, transfers, a chain's next step."""
    at = now or datetime.now(UTC)
    outcome = await routes.change(
        change.dossier_id, lambda route: route.follow(change, jurisdiction=jurisdiction, now=at), consumed=event_id
    )
    if outcome.applied and outcome.aggregate is not None and outcome.result is not None:
        _moved(outcome.aggregate, outcome.result, jurisdiction)


async def place_parked(
    *, routes: Routes, statuses: OfficeStatuses, jurisdiction: Jurisdiction, now: datetime | None = None
) -> int:
    """Re-read operator statuses; route parked dossiers that now have an open office. Returns how many moved."""
    board = jurisdiction.board
    read_after = board.changes()
    board.reload(await statuses.all(), read_after=read_after)
    if not board.parked_possible:
        return 0  # nothing parked since the last scan: spare the store a full read
    parked = await routes.parked()
    board.parked_possible = bool(parked)
    at, moved = now or datetime.now(UTC), 0
    for waiting in parked:
        outcome = await routes.change(waiting.dossier_id, lambda route: route.place(jurisdiction=jurisdiction, now=at))
        if outcome.applied and outcome.aggregate is not None and outcome.result is not None:
            _moved(outcome.aggregate, outcome.result, jurisdiction)
            moved += int(not outcome.aggregate.parked)
    return moved


async def set_office_status(
    code: str,
    status: OfficeStatus,
    *,
    routes: Routes,
    statuses: OfficeStatuses,
    jurisdiction: Jurisdiction,
    now: datetime | None = None,
) -> Office:
    """Operator action: open, close or mark an office over capacity; reopening places parked dossiers."""
    board = jurisdiction.board
    office = board.office(code)  # UnknownOffice (404) before anything is written
    await statuses.set(code, status, at=now or datetime.now(UTC))
    board.set_status(code, status)
    if status is OfficeStatus.OPEN:
        await place_parked(routes=routes, statuses=statuses, jurisdiction=jurisdiction, now=now)
    return office


async def find_route(dossier: str, *, routes: Routes) -> Route | None:
    """The route of a dossier by its id or its code."""
    return await routes.get(dossier) or await routes.by_code(dossier)


def _moved(route: Route, move: Move, jurisdiction: Jurisdiction) -> None:
    """A committed change moves the load; a new decision is logged."""
    jurisdiction.board.leave(move.left)
    if move.decided:
        jurisdiction.board.enter(move.entered)
        log.info(
            "dossier_rerouted",
            dossier_id=route.dossier_id,
            office=move.entered,
            previous=move.left,
            step=route.chain_step,
            parked=move.parked,
        )
