"""The Route aggregate alone: its transitions, the rules that refuse them, and the events it records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.routing.domain.offices import OfficeBoard, OfficeStatus
from services.routing.domain.registry import build_registry
from services.routing.domain.route import Move, Route
from services.routing.domain.rules import Jurisdiction, UnknownProcedure
from shared.aggregate import Unchanged
from shared.events import ContactPoint, DossierStatus
from shared.reference.procedures import load_catalogue
from tests.unit.routing.fakes import received, status

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def jurisdiction() -> Jurisdiction:
    """The real rules over a fresh board (every office open, no load)."""
    return Jurisdiction(load_catalogue(), OfficeBoard(build_registry()))


def test_receipt_decides_records_one_event_and_keeps_no_contact(jurisdiction: Jurisdiction) -> None:
    """The first decision: office, hand-off, chain; its event names no office tried yet and no previous office."""
    data = received().model_copy(update={"contact": ContactPoint(phone="0912345678")})
    route = Route.receive(data, jurisdiction=jurisdiction, now=NOW)
    assert (route.open_at, route.chain_step, route.tried_offices) == ("00070.UBND", 0, ["00070.UBND"])
    assert route.chain == ["LT-HT-001", "LT-CT-001", "LT-BH-001"] and route.received.contact == ContactPoint()
    ((event,),) = [route.pull_events()]
    assert (event.topic, event.key, event.subject) == ("dossier.routed.v1", data.dossier_id, data.dossier_code)
    assert event.data["tried_offices"] == [] and event.data["previous_office_code"] is None
    assert event.data["decision_id"] == route.decisions[0].decision_id
    assert event.data["due_at"] == data.due_at.isoformat().replace("+00:00", "Z")
    (handoff,) = route.handoffs.values()
    assert (handoff.office_code, handoff.sent_at, handoff.received_at) == ("00070.UBND", NOW, None)


def test_unknown_procedure_is_refused_before_any_state(jurisdiction: Jurisdiction) -> None:
    """A procedure the catalogue lacks is a permanent error (the message dead-letters)."""
    with pytest.raises(UnknownProcedure):
        Route.receive(received("LT-NOPE-999"), jurisdiction=jurisdiction, now=NOW)


def test_news_from_another_office_or_a_status_with_nothing_to_do_is_unchanged(jurisdiction: Jurisdiction) -> None:
    """Another office's news, a status routing does not follow, a repeated refusal: Unchanged, nothing recorded."""
    data = received()
    route = Route.receive(data, jurisdiction=jurisdiction, now=NOW)
    route.pull_events()
    for change in (
        status(data, "00073.UBND", DossierStatus.REFUSED),
        status(data, "00070.UBND", DossierStatus.IN_PROCESS),
    ):
        with pytest.raises(Unchanged):
            route.follow(change, jurisdiction=jurisdiction, now=NOW)
    refusal = status(data, "00070.UBND", DossierStatus.REFUSED)
    assert route.follow(refusal, jurisdiction=jurisdiction, now=NOW) == Move(left="00070.UBND")
    with pytest.raises(Unchanged):
        route.follow(refusal, jurisdiction=jurisdiction, now=NOW)
    assert route.open_at is None and route.recorded == []


def test_last_chain_step_result_ends_the_chain(jurisdiction: Jurisdiction) -> None:
    """A result at the last step routes nothing further (and changes nothing)."""
    data = received("LT-BH-001")
    route = Route.receive(data, jurisdiction=jurisdiction, now=NOW)
    route.pull_events()
    with pytest.raises(Unchanged):
        route.follow(status(data, route.open_at or "", DossierStatus.RESULT_READY), jurisdiction=jurisdiction, now=NOW)
    assert route.recorded == []


def test_a_parked_route_is_placed_only_when_an_office_opens(jurisdiction: Jurisdiction) -> None:
    """Placing while still closed is Unchanged (one parked decision); once open, one routed decision and event."""
    jurisdiction.board.set_status("00004.UBND", OfficeStatus.CLOSED)
    route = Route.receive(received("LT-DD-001", subject="00004"), jurisdiction=jurisdiction, now=NOW)
    assert route.parked and route.open_at is None and route.tried_offices == [] and route.handoffs == {}
    route.pull_events()
    with pytest.raises(Unchanged):
        route.place(jurisdiction=jurisdiction, now=NOW)
    jurisdiction.board.set_status("00004.UBND", OfficeStatus.OPEN)
    move = route.place(jurisdiction=jurisdiction, now=NOW)
    assert move == Move(left=None, entered="00004.UBND", decided=True, parked=False)
    ((event,),) = [route.pull_events()]
    assert event.data["outcome"] == "routed" and event.data["tried_offices"] == ["00004.UBND"]
    with pytest.raises(Unchanged):
        route.place(jurisdiction=jurisdiction, now=NOW)


def test_transfer_moves_to_an_untried_office_and_carries_the_reason(jurisdiction: Jurisdiction) -> None:
    """A transfer leaves the office, excludes every office tried and the ones the official excluded."""
    data = received()
    route = Route.receive(data, jurisdiction=jurisdiction, now=NOW)
    route.pull_events()
    change = status(data, "00070.UBND", DossierStatus.TRANSFERRED, reason="sai", exclude_offices=["00073.UBND"])
    move = route.follow(change, jurisdiction=jurisdiction, now=NOW)
    assert move.left == "00070.UBND" and move.entered not in (None, "00070.UBND", "00073.UBND") and move.decided
    ((event,),) = [route.pull_events()]
    assert (event.data["previous_office_code"], event.data["transfer_reason"]) == ("00070.UBND", "sai")
    assert event.data["tried_offices"] == route.tried_offices == ["00070.UBND", move.entered]
