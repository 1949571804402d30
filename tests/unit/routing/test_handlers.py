"""Routing use cases over in-memory repositories: idempotent receipt, load, transfers, chains, parking and retry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from services.routing.adapters.repositories import RouteMapper
from services.routing.domain.offices import OfficeStatus, UnknownOffice
from services.routing.domain.route import Route
from shared.errors import PermanentError
from shared.events import ContactPoint, DossierStatus
from tests.unit.routing.fakes import make_routing, received, status


async def test_redelivered_received_event_makes_one_decision() -> None:
    """The same dossier delivered three times (any event id) gives one route, one event and load 1."""
    routing = await make_routing()
    data = received()
    for event_id in ("e1", "e1", "e2"):
        await routing.receive(event_id, data)
    doc = routing.routes.route(data.dossier_id)
    assert len(doc.decisions) == 1 and len(routing.routes.events(data.dossier_id)) == 1
    assert routing.board.load["00070.UBND"] == 1
    event = routing.routes.events(data.dossier_id)[0]
    assert event["outcome"] == "routed" and event["office_code"] == "00070.UBND"
    assert event["chain"] == ["LT-HT-001", "LT-CT-001", "LT-BH-001"] and event["chain_step"] == 0
    assert event["tracking_token_sha256"] == data.tracking_token_sha256 and event["rule_id"]


async def test_routing_stores_no_contact_data() -> None:
    """Whatever contact the receipt event carries (sealed or, in old events, in clear), the route keeps none."""
    routing = await make_routing()
    data = received().model_copy(
        update={"contact": ContactPoint(phone="0912345678", email="an@example.vn", sealed="v1.x", phone_hash="h")}
    )
    await routing.receive("e1", data)
    route = routing.routes.route(data.dossier_id)
    assert route.received.contact == ContactPoint()
    doc = RouteMapper().to_document(route)
    assert "contact" not in doc["received"]
    assert "0912345678" not in str(doc) and "an@example.vn" not in str(doc) and "v1.x" not in str(doc)


async def test_unknown_procedure_is_a_permanent_error() -> None:
    """A procedure missing from the catalogue dead-letters instead of retrying forever."""
    routing = await make_routing()
    with pytest.raises(PermanentError):
        await routing.receive("e1", received("LT-NOPE-999"))
    assert routing.routes.items == {} and routing.routes.published == []


async def test_load_is_counted_from_routes_at_start() -> None:
    """A restarted router sees the open dossiers per office left in the store."""
    routing = await make_routing()
    for _ in range(3):
        await routing.receive("e", received(receiving_ward="00073"))
    await routing.statuses.set("00070.UBND", OfficeStatus.CLOSED, at=datetime.now(UTC))
    restarted = await routing.restarted().start()
    assert restarted.board.load["00073.UBND"] == 3 and restarted.board.statuses == {"00070.UBND": "closed"}


async def test_least_loaded_choice_follows_live_load() -> None:
    """With the receiving commune closed, successive dossiers spread to the least-loaded committees in turn."""
    routing = await make_routing()
    await routing.set_status("00070.UBND", OfficeStatus.CLOSED)
    offices = []
    for _ in range(3):
        data = received()
        await routing.receive("e", data)
        offices.append(routing.routes.route(data.dossier_id).open_at)
    assert len(set(offices)) == 3 and "00070.UBND" not in offices
    assert all(routing.board.registry.get(o).province_code == "01" for o in offices)  # type: ignore[union-attr]


async def test_status_events_record_handoff_and_free_load_once() -> None:
    """Accepted records the receipt date; a redelivered refusal frees the office's load once."""
    routing = await make_routing()
    data = received()
    await routing.receive("r1", data)
    await routing.status("s1", status(data, "00070.UBND", DossierStatus.ACCEPTED))
    refusal = status(data, "00070.UBND", DossierStatus.REFUSED)
    await routing.status("s2", refusal)
    await routing.status("s2", refusal)
    doc = routing.routes.route(data.dossier_id)
    (handoff,) = doc.handoffs.values()
    assert handoff.sent_at and handoff.received_at and handoff.returned_at
    assert doc.open_at is None and routing.board.load["00070.UBND"] == 0


async def test_status_from_an_office_that_no_longer_holds_the_dossier_is_ignored() -> None:
    """News from another office changes neither the route nor any load."""
    routing = await make_routing()
    data = received()
    await routing.receive("r1", data)
    await routing.status("s1", status(data, "00073.UBND", DossierStatus.REFUSED))
    assert routing.routes.route(data.dossier_id).open_at == "00070.UBND" and routing.board.load["00070.UBND"] == 1


async def test_transfer_redecides_excluding_tried_offices_and_moves_load() -> None:
    """Each transfer picks an office not tried before; the hand-offs and load follow the dossier."""
    routing = await make_routing()
    data = received()
    await routing.receive("r1", data)
    transfer = status(data, "00070.UBND", DossierStatus.TRANSFERRED, reason="sai thẩm quyền")
    await routing.status("t1", transfer)
    await routing.status("t1", transfer)  # redelivered: no second hand-off
    doc = routing.routes.route(data.dossier_id)
    second = doc.open_at
    assert second not in (None, "00070.UBND") and len(doc.decisions) == 2
    await routing.status("t2", status(data, second, DossierStatus.TRANSFERRED))
    doc = routing.routes.route(data.dossier_id)
    third = doc.open_at
    assert third not in (None, "00070.UBND", second)
    assert doc.tried_offices == ["00070.UBND", second, third]
    assert [h.office_code for h in doc.handoffs.values()] == doc.tried_offices
    events = routing.routes.events(data.dossier_id)
    assert [e["previous_office_code"] for e in events] == [None, "00070.UBND", second]
    assert len({e["decision_id"] for e in events}) == 3
    assert (routing.board.load["00070.UBND"], routing.board.load[second], routing.board.load[third]) == (0, 0, 1)


async def test_chain_advances_on_each_result_in_order() -> None:
    """Birth registration → permanent residence → health insurance card, one decision per step."""
    routing = await make_routing()
    data = received()
    await routing.receive("r1", data)
    for n, office in enumerate(("00070.UBND", "00070.CA"), start=1):
        await routing.status(f"s{n}", status(data, office, DossierStatus.RESULT_READY))
    events = routing.routes.events(data.dossier_id)
    assert [(e["procedure_code"], e["office_code"], e["chain_step"]) for e in events] == [
        ("LT-HT-001", "00070.UBND", 0),
        ("LT-CT-001", "00070.CA", 1),
        ("LT-BH-001", "P01.BHXH", 2),
    ]
    # the last step's result ends the chain: no fourth decision
    await routing.status("s3", status(data, "P01.BHXH", DossierStatus.RESULT_READY))
    assert len(routing.routes.events(data.dossier_id)) == 3


async def test_transfer_to_next_step_advances_the_chain() -> None:
    """An official's transfer to the next step routes the next procedure of the chain."""
    routing = await make_routing()
    data = received()
    await routing.receive("r1", data)
    await routing.status("t1", status(data, "00070.UBND", DossierStatus.TRANSFERRED, transfer_to_next_step=True))
    assert routing.routes.route(data.dossier_id).open_at == "00070.CA"


async def test_unroutable_dossier_is_parked_quietly_then_routed_on_reopen() -> None:
    """Parked with a reason; retries while closed emit nothing new; reopening the office routes it."""
    routing = await make_routing()
    await routing.set_status("00004.UBND", OfficeStatus.CLOSED)
    data = received("LT-DD-001", subject="00004")
    await routing.receive("r1", data)
    (parked,) = routing.routes.events(data.dossier_id)
    assert parked["outcome"] == "parked" and parked["office_code"] is None and "parked" in parked["reason"]
    assert await routing.place_parked() == 0
    assert await routing.place_parked() == 0
    assert len(routing.routes.events(data.dossier_id)) == 1, "no repeated parked decisions"
    await routing.set_status("00004.UBND", OfficeStatus.OPEN)
    events = routing.routes.events(data.dossier_id)
    assert [e["outcome"] for e in events] == ["parked", "routed"] and events[1]["office_code"] == "00004.UBND"
    assert routing.board.load["00004.UBND"] == 1 and not routing.routes.route(data.dossier_id).parked


async def test_operator_status_set_in_the_store_is_picked_up_by_the_retry_loop() -> None:
    """A status written elsewhere (the CLI) takes effect at the next refresh; no parked scan when none parked."""
    routing = await make_routing()
    await routing.place_parked()
    scans = routing.routes.parked_scans
    await routing.statuses.set("00070.UBND", OfficeStatus.OVER_CAPACITY, at=datetime.now(UTC))
    await routing.place_parked()
    assert routing.board.statuses["00070.UBND"] == "over_capacity" and routing.routes.parked_scans == scans
    data = received()
    await routing.receive("r1", data)
    assert routing.routes.route(data.dossier_id).open_at != "00070.UBND"


async def test_unknown_office_status_change_is_refused() -> None:
    """Setting the status of an office that does not exist raises KeyError (404 over HTTP)."""
    routing = await make_routing()
    with pytest.raises(UnknownOffice):
        await routing.set_status("99999.UBND", OfficeStatus.CLOSED)


async def test_first_decision_is_committed_with_its_route_for_the_relay() -> None:
    """One add holds the route and its one event (the unit of work's outbox, sent by the shared relay);
    redeliveries commit nothing more; a later transfer commits only its own event."""
    routing = await make_routing()
    data = received()
    await routing.receive("r1", data)
    await routing.receive("r1", data)
    ((first,),) = [[e for e in routing.routes.published if e.key == data.dossier_id]]
    assert (first.topic, first.subject, first.data["decision_id"]) == (
        "dossier.routed.v1",
        data.dossier_code,
        routing.routes.route(data.dossier_id).decisions[0].decision_id,
    )
    assert routing.routes.seen[data.dossier_id] == ["r1"]
    await routing.status("t1", status(data, "00070.UBND", DossierStatus.TRANSFERRED))
    assert [e.data["chain_step"] for e in routing.routes.published] == [0, 0]
    assert routing.routes.published[1].data["previous_office_code"] == "00070.UBND"


async def test_a_failed_first_write_frees_the_load_it_counted() -> None:
    """The office's load is counted before the write (concurrent decisions see it) and given back if it fails."""
    routing = await make_routing()

    async def broken(route: Route, *, consumed: str | None = None) -> bool:
        raise ConnectionError("store down")

    routing.routes.add = broken  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await routing.receive("r1", received())
    assert routing.board.load["00070.UBND"] == 0


async def test_a_stale_status_reload_does_not_undo_an_operator_change() -> None:
    """An operator closes an office while the periodic reload is reading: the closure stands."""
    routing = await make_routing()
    read_started, release = asyncio.Event(), asyncio.Event()
    real_statuses = routing.statuses.all

    async def slow_statuses() -> dict[str, OfficeStatus]:
        snapshot = await real_statuses()
        read_started.set()
        await release.wait()
        return snapshot

    routing.statuses.all = slow_statuses  # type: ignore[method-assign]
    reload = asyncio.create_task(routing.place_parked())
    await read_started.wait()
    routing.statuses.all = real_statuses  # type: ignore[method-assign]
    await routing.set_status("00070.UBND", OfficeStatus.CLOSED)
    release.set()
    await reload
    assert routing.board.statuses["00070.UBND"] == "closed"


async def test_land_transfer_for_a_parcel_in_quang_ninh_filed_in_ha_noi_goes_to_quang_ninh() -> None:
    """The defect seen live: LT-DD-002 filed at Hoàn Kiếm for land in Quảng Ninh went to Hà Nội's department.
    It goes to Quảng Ninh's, and the decision's province is Quảng Ninh (its operations centre counts it)."""
    routing = await make_routing()
    data = received("LT-DD-002", subject="07090")  # Phường An Sinh, Quảng Ninh
    await routing.receive("e1", data)
    [event] = routing.routes.events(data.dossier_id)
    assert (event["office_code"], event["province_code"], event["rule_id"]) == (
        "P22.SNNMT",
        "22",
        "R40-subject-location-province",
    )
    assert "Quảng Ninh" in event["reason"]


async def test_transfer_to_the_office_the_official_names_carries_the_reason() -> None:
    """A transfer naming 00073.UBND goes there (not to the least-loaded choice), and the new decision carries the
    transferring office and its reason, so the new office sees why; a closed named office falls back to the rules."""
    routing = await make_routing()
    data = received()
    await routing.receive("r1", data)
    why = "Sai thẩm quyền: người nộp cư trú tại phường khác"
    await routing.status(
        "t1",
        status(data, "00070.UBND", DossierStatus.TRANSFERRED, reason=why, transfer_to_office="00073.UBND"),
    )
    moved = routing.routes.events(data.dossier_id)[-1]
    assert (moved["office_code"], moved["rule_id"]) == ("00073.UBND", "T10-transfer-to-named-office")
    assert (moved["previous_office_code"], moved["transfer_reason"]) == ("00070.UBND", why)

    other = received()
    await routing.receive("r2", other)
    await routing.set_status("00256.UBND", OfficeStatus.CLOSED)
    await routing.status(
        "t2",
        status(other, "00070.UBND", DossierStatus.TRANSFERRED, reason=why, transfer_to_office="00256.UBND"),
    )
    fallback = routing.routes.events(other.dossier_id)[-1]
    assert fallback["office_code"] not in (None, "00256.UBND", "00070.UBND") and fallback["transfer_reason"] == why
