"""Routing use cases against in-memory fakes: idempotent receipt, load, transfers, chains, parking and retry."""

from __future__ import annotations

import asyncio

import pytest

from services.routing.handlers import Router
from shared.errors import PermanentError
from shared.events import ContactPoint, DossierStatus
from tests.unit.routing.fakes import FakePublisher, make_router, received, status


async def test_redelivered_received_event_makes_one_decision() -> None:
    """The same dossier delivered three times (any event id) gives one route, one event and load 1."""
    router, store = await make_router()
    data = received()
    for event_id in ("e1", "e1", "e2"):
        await router.on_received(event_id, data)
    doc = store.routes[data.dossier_id]
    assert len(doc["decisions"]) == 1 and len(store.events(data.dossier_id)) == 1
    assert router.load["00070.UBND"] == 1
    event = store.events(data.dossier_id)[0]
    assert event["outcome"] == "routed" and event["office_code"] == "00070.UBND"
    assert event["chain"] == ["LT-HT-001", "LT-CT-001", "LT-BH-001"] and event["chain_step"] == 0
    assert event["tracking_token_sha256"] == data.tracking_token_sha256 and event["rule_id"]


async def test_routing_stores_no_contact_data() -> None:
    """Whatever contact the receipt event carries (sealed or, in old events, in clear), the route keeps none."""
    router, store = await make_router()
    data = received().model_copy(
        update={"contact": ContactPoint(phone="0912345678", email="an@example.vn", sealed="v1.x", phone_hash="h")}
    )
    await router.on_received("e1", data)
    doc = store.routes[data.dossier_id]
    assert "contact" not in doc["received"]
    assert "0912345678" not in str(doc) and "an@example.vn" not in str(doc) and "v1.x" not in str(doc)


async def test_unknown_procedure_is_a_permanent_error() -> None:
    """A procedure missing from the catalogue dead-letters instead of retrying forever."""
    router, store = await make_router()
    with pytest.raises(PermanentError):
        await router.on_received("e1", received("LT-NOPE-999"))
    assert store.routes == {}


async def test_load_is_counted_from_routes_at_start() -> None:
    """A restarted router sees the open dossiers per office left in the store."""
    router, store = await make_router()
    for _ in range(3):
        await router.on_received("e", received(receiving_ward="00073"))
    await store.set_status("00070.UBND", "closed", None)
    restarted = Router(
        store=store,  # type: ignore[arg-type]
        publisher=FakePublisher(),  # type: ignore[arg-type]
        catalogue=router.catalogue,
        registry=router.registry,
    )
    await restarted.start()
    assert restarted.load["00073.UBND"] == 3 and restarted.statuses == {"00070.UBND": "closed"}


async def test_least_loaded_choice_follows_live_load() -> None:
    """With the receiving commune closed, successive dossiers spread to the least-loaded committees in turn."""
    router, store = await make_router()
    await router.set_office_status("00070.UBND", "closed")
    offices = []
    for _ in range(3):
        data = received()
        await router.on_received("e", data)
        offices.append(store.routes[data.dossier_id]["open_at"])
    assert len(set(offices)) == 3 and "00070.UBND" not in offices
    assert all(router.registry.get(o).province_code == "01" for o in offices)  # type: ignore[union-attr]


async def test_status_events_record_handoff_and_free_load_once() -> None:
    """Accepted records the receipt date; a redelivered refusal frees the office's load once."""
    router, store = await make_router()
    data = received()
    await router.on_received("r1", data)
    await router.on_status("s1", status(data, "00070.UBND", DossierStatus.ACCEPTED))
    refusal = status(data, "00070.UBND", DossierStatus.REFUSED)
    await router.on_status("s2", refusal)
    await router.on_status("s2", refusal)
    doc = store.routes[data.dossier_id]
    (handoff,) = doc["handoffs"].values()
    assert handoff["sent_at"] and handoff["received_at"] and handoff["returned_at"]
    assert doc["open_at"] is None and router.load["00070.UBND"] == 0


async def test_status_from_an_office_that_no_longer_holds_the_dossier_is_ignored() -> None:
    """News from another office changes neither the route nor any load."""
    router, store = await make_router()
    data = received()
    await router.on_received("r1", data)
    await router.on_status("s1", status(data, "00073.UBND", DossierStatus.REFUSED))
    assert store.routes[data.dossier_id]["open_at"] == "00070.UBND" and router.load["00070.UBND"] == 1


async def test_transfer_redecides_excluding_tried_offices_and_moves_load() -> None:
    """Each transfer picks an office not tried before; the hand-offs and load follow the dossier."""
    router, store = await make_router()
    data = received()
    await router.on_received("r1", data)
    transfer = status(data, "00070.UBND", DossierStatus.TRANSFERRED, reason="sai thẩm quyền")
    await router.on_status("t1", transfer)
    await router.on_status("t1", transfer)  # redelivered: no second hand-off
    doc = store.routes[data.dossier_id]
    second = doc["open_at"]
    assert second not in (None, "00070.UBND") and len(doc["decisions"]) == 2
    await router.on_status("t2", status(data, second, DossierStatus.TRANSFERRED))
    doc = store.routes[data.dossier_id]
    third = doc["open_at"]
    assert third not in (None, "00070.UBND", second)
    assert doc["tried_offices"] == ["00070.UBND", second, third]
    assert [h["office_code"] for h in doc["handoffs"].values()] == doc["tried_offices"]
    events = store.events(data.dossier_id)
    assert [e["previous_office_code"] for e in events] == [None, "00070.UBND", second]
    assert len({e["decision_id"] for e in events}) == 3
    assert (router.load["00070.UBND"], router.load[second], router.load[third]) == (0, 0, 1)


async def test_chain_advances_on_each_result_in_order() -> None:
    """Birth registration → permanent residence → health insurance card, one decision per step."""
    router, store = await make_router()
    data = received()
    await router.on_received("r1", data)
    for n, office in enumerate(("00070.UBND", "00070.CA"), start=1):
        await router.on_status(f"s{n}", status(data, office, DossierStatus.RESULT_READY))
    events = store.events(data.dossier_id)
    assert [(e["procedure_code"], e["office_code"], e["chain_step"]) for e in events] == [
        ("LT-HT-001", "00070.UBND", 0),
        ("LT-CT-001", "00070.CA", 1),
        ("LT-BH-001", "P01.BHXH", 2),
    ]
    # the last step's result ends the chain: no fourth decision
    await router.on_status("s3", status(data, "P01.BHXH", DossierStatus.RESULT_READY))
    assert len(store.events(data.dossier_id)) == 3


async def test_transfer_to_next_step_advances_the_chain() -> None:
    """An official's transfer to the next step routes the next procedure of the chain."""
    router, store = await make_router()
    data = received()
    await router.on_received("r1", data)
    await router.on_status("t1", status(data, "00070.UBND", DossierStatus.TRANSFERRED, transfer_to_next_step=True))
    assert store.routes[data.dossier_id]["open_at"] == "00070.CA"


async def test_unroutable_dossier_is_parked_quietly_then_routed_on_reopen() -> None:
    """Parked with a reason; retries while closed emit nothing new; reopening the office routes it."""
    router, store = await make_router()
    await router.set_office_status("00004.UBND", "closed")
    data = received("LT-DD-001", subject="00004")
    await router.on_received("r1", data)
    (parked,) = store.events(data.dossier_id)
    assert parked["outcome"] == "parked" and parked["office_code"] is None and "parked" in parked["reason"]
    assert await router.refresh_and_retry() == 0
    assert await router.refresh_and_retry() == 0
    assert len(store.events(data.dossier_id)) == 1, "no repeated parked decisions"
    await router.set_office_status("00004.UBND", "open")
    events = store.events(data.dossier_id)
    assert [e["outcome"] for e in events] == ["parked", "routed"] and events[1]["office_code"] == "00004.UBND"
    assert router.load["00004.UBND"] == 1 and not store.routes[data.dossier_id]["parked"]


async def test_operator_status_set_in_the_store_is_picked_up_by_the_retry_loop() -> None:
    """A status written elsewhere (the CLI) takes effect at the next refresh; no parked scan when none parked."""
    router, store = await make_router()
    await router.refresh_and_retry()
    scans = store.parked_scans
    await store.set_status("00070.UBND", "over_capacity", None)
    await router.refresh_and_retry()
    assert router.statuses["00070.UBND"] == "over_capacity" and store.parked_scans == scans
    data = received()
    await router.on_received("r1", data)
    assert store.routes[data.dossier_id]["open_at"] != "00070.UBND"


async def test_unknown_office_status_change_is_refused() -> None:
    """Setting the status of an office that does not exist raises KeyError (404 over HTTP)."""
    router, _ = await make_router()
    with pytest.raises(KeyError):
        await router.set_office_status("99999.UBND", "closed")


class RecordingRelay:
    """Records the route ids the router asks the relay to publish."""

    def __init__(self) -> None:
        self.kicked: list[str] = []

    def kick(self, doc_id: str | None = None) -> None:
        """Remember the kick."""
        if doc_id is not None:
            self.kicked.append(doc_id)


async def test_first_decision_is_published_directly_and_logged() -> None:
    """The first event goes out at once, is logged as published, and a later transfer drops it from the outbox."""
    publisher = FakePublisher()
    router, store = await make_router(publisher)
    data = received()
    await router.on_received("r1", data)
    doc = store.routes[data.dossier_id]
    ((topic, event),) = publisher.sent
    assert topic == "dossier.routed.v1" and event.id == doc["first_event_id"] and doc["outbox_pending"] == 0
    assert await store.unpublished_first_decisions() == []
    await store.flush_published()
    assert store.published_log == {event.id: data.dossier_id}
    await router.on_status("t1", status(data, "00070.UBND", DossierStatus.TRANSFERRED))
    doc = store.routes[data.dossier_id]
    assert event.id not in doc["outbox"] and len(doc["outbox"]) == 1 and doc["outbox_pending"] == 1


async def test_unpublished_first_decision_is_left_to_the_relay_and_resent_after_restart() -> None:
    """Broker down: the decision is kept with its event in the outbox, the relay is kicked, a restart kicks again."""
    router, store = await make_router(FakePublisher(fail=True))
    relay = RecordingRelay()
    router.relay = relay  # type: ignore[assignment]
    data = received()
    await router.on_received("r1", data)
    assert relay.kicked == [data.dossier_id]
    assert await store.unpublished_first_decisions() == [data.dossier_id]
    again = RecordingRelay()
    restarted = Router(
        store=store,  # type: ignore[arg-type]
        publisher=FakePublisher(),  # type: ignore[arg-type]
        catalogue=router.catalogue,
        registry=router.registry,
        relay=again,  # type: ignore[arg-type]
    )
    await restarted.start()
    assert again.kicked == [data.dossier_id]


async def test_redelivery_resends_the_first_event_only_if_it_never_went_out() -> None:
    """A duplicate of a published dossier kicks nothing; a duplicate of an unpublished one hands it to the relay."""
    publisher = FakePublisher()
    router, _ = await make_router(publisher)
    relay = RecordingRelay()
    router.relay = relay  # type: ignore[assignment]
    data = received()
    await router.on_received("r1", data)
    await router.on_received("r1", data)
    assert relay.kicked == [] and len(publisher.sent) == 1
    publisher.fail = True
    lost = received()
    await router.on_received("r2", lost)
    await router.on_received("r2", lost)
    assert relay.kicked == [lost.dossier_id, lost.dossier_id]


async def test_a_stale_status_reload_does_not_undo_an_operator_change() -> None:
    """An operator closes an office while the periodic reload is reading: the closure stands."""
    router, store = await make_router()
    read_started, release = asyncio.Event(), asyncio.Event()
    real_statuses = store.statuses

    async def slow_statuses() -> dict[str, str]:
        snapshot = await real_statuses()
        read_started.set()
        await release.wait()
        return snapshot

    store.statuses = slow_statuses  # type: ignore[method-assign]
    reload = asyncio.create_task(router.refresh_and_retry())
    await read_started.wait()
    store.statuses = real_statuses  # type: ignore[method-assign]
    await router.set_office_status("00070.UBND", "closed")
    release.set()
    await reload
    assert router.statuses["00070.UBND"] == "closed"


async def test_land_transfer_for_a_parcel_in_quang_ninh_filed_in_ha_noi_goes_to_quang_ninh() -> None:
    """The defect seen live: LT-DD-002 filed at Hoàn Kiếm for land in Quảng Ninh went to Hà Nội's department.
    It goes to Quảng Ninh's, and the decision's province is Quảng Ninh (its operations centre counts it)."""
    router, store = await make_router()
    data = received("LT-DD-002", subject="07090")  # Phường An Sinh, Quảng Ninh
    await router.on_received("e1", data)
    [event] = store.events(data.dossier_id)
    assert (event["office_code"], event["province_code"], event["rule_id"]) == (
        "P22.SNNMT",
        "22",
        "R40-subject-location-province",
    )
    assert "Quảng Ninh" in event["reason"]


async def test_transfer_to_the_office_the_official_names_carries_the_reason() -> None:
    """A transfer naming 00073.UBND goes there (not to the least-loaded choice), and the new decision carries the
    transferring office and its reason, so the new office sees why; a closed named office falls back to the rules."""
    router, store = await make_router()
    data = received()
    await router.on_received("r1", data)
    why = "Sai thẩm quyền: người nộp cư trú tại phường khác"
    await router.on_status(
        "t1",
        status(data, "00070.UBND", DossierStatus.TRANSFERRED, reason=why, transfer_to_office="00073.UBND"),
    )
    moved = store.events(data.dossier_id)[-1]
    assert (moved["office_code"], moved["rule_id"]) == ("00073.UBND", "T10-transfer-to-named-office")
    assert (moved["previous_office_code"], moved["transfer_reason"]) == ("00070.UBND", why)

    other = received()
    await router.on_received("r2", other)
    await router.set_office_status("00256.UBND", "closed")
    await router.on_status(
        "t2",
        status(other, "00070.UBND", DossierStatus.TRANSFERRED, reason=why, transfer_to_office="00256.UBND"),
    )
    fallback = store.events(other.dossier_id)[-1]
    assert fallback["office_code"] not in (None, "00256.UBND", "00070.UBND") and fallback["transfer_reason"] == why
