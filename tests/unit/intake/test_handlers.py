"""Intake use cases against in-memory fakes: receipts, idempotency, supplements, the status view, keys, queues."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake import handlers
from services.intake.domain.codes import sha256_hex
from services.intake.settings import IntakeSettings
from shared.events import DossierReceived, DossierRouted, DossierStatus, DossierStatusChanged, RouteOutcome
from shared.http import ApiError
from shared.pii import PersonalDataKeys
from shared.reference.procedures import load_catalogue
from shared.topics import Topics
from tests.unit.intake.fakes import FakeIntakeStore, FakePublisher, FakeRelay

OFFICE = handlers.office_of("00070.TTHCC")
PII = PersonalDataKeys.from_settings(IntakeSettings(environment="test"))
# Monday 2026-11-23 09:15 in Hà Nội
NOW = datetime(2026, 11, 23, 2, 15, tzinfo=UTC)


def body(**overrides: Any) -> dict[str, Any]:
    """A complete birth registration, as the HTTP layer hands it over."""
    doc = {"title": "t", "content_type": "application/pdf", "size": 10, "sha256": "a" * 64}
    b: dict[str, Any] = {
        "procedure_code": "LT-HT-001",
        "channel": "counter",
        "applicant": {
            "full_name": "Nguyễn Văn An",
            "citizen_id": "001203012345",
            "phone": "+84 912 345 678",
            "email": "an@example.vn",
            "address": {"ward_code": "00070", "detail": None},
        },
        "subject": None,
        "documents": [{**doc, "code": "to_khai"}, {**doc, "code": "giay_chung_sinh"}],
        "notify": {"sms": True, "email": True, "app": False},
        "locale": "vi",
    }
    b.update(overrides)
    return b


async def receive(store: FakeIntakeStore, relay: FakeRelay | None = None, **kwargs: Any) -> tuple[dict[str, Any], bool]:
    """Run receive_dossier with fakes."""
    args: dict[str, Any] = {"office": OFFICE, "idempotency_key": None, "now": NOW}
    args.update(kwargs)
    payload = args.pop("body", None) or body()
    return await handlers.receive_dossier(
        payload,
        store=store,  # type: ignore[arg-type]
        catalogue=load_catalogue(),
        publisher=FakePublisher(),  # type: ignore[arg-type]
        relay=relay,  # type: ignore[arg-type]
        pii=PII,
        **args,
    )


def outbox_events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Pending outbox entries of a stored dossier."""
    return list((doc.get("outbox") or {}).values())


async def test_receipt_and_event_are_stored_together() -> None:
    """The dossier is inserted with its dossier.received.v1 event in its outbox, and the relay is kicked."""
    store, relay = FakeIntakeStore(), FakeRelay()
    result, created = await receive(store, relay)
    assert created
    assert result["code"] == "00070.TTHCC-261123-0001"
    assert result["due_at"] == datetime(2026, 11, 23, 17, 0, tzinfo=result["due_at"].tzinfo)  # same working day
    (doc,) = store.dossiers.values()
    assert doc["outbox_pending"] == 1 and relay.kicked == [doc["_id"]]
    (entry,) = outbox_events(doc)
    assert entry["topic"] == Topics.DOSSIER_RECEIVED and entry["key"] == doc["_id"]
    event = DossierReceived.model_validate(entry["event"]["data"])
    assert event.dossier_code == result["code"] and entry["event"]["subject"] == result["code"]
    assert event.receiving_office_code == "00070.TTHCC" and event.province_code == "01"
    assert event.receiving_ward_code == "00070" and event.applicant_ward_code == "00070"
    # the contact travels sealed for notify: no clear phone, e-mail or citizen ID in the event
    assert event.contact.phone is None and event.contact.email is None and event.contact.sealed
    assert PII.contact.open(event.contact.sealed) == {"phone": "0912345678", "email": "an@example.vn"}
    assert event.contact.phone_hash == PII.hash("0912345678")
    for secret in ("0912345678", "an@example.vn", body()["applicant"]["citizen_id"]):
        assert secret not in str(entry) and secret not in str(doc)
    assert handlers.applicant_in_clear(doc["applicant"], PII)["citizen_id"] == body()["applicant"]["citizen_id"]
    assert doc["applicant"]["citizen_id_hash"] == PII.hash(body()["applicant"]["citizen_id"])
    assert event.notify.email is True and event.notify.app is False
    # only the token's hash is kept, on the dossier and on the event
    assert event.tracking_token_sha256 == sha256_hex(result["tracking_token"]) == doc["tracking_token_sha256"]
    assert result["tracking_token"] not in str(doc)


async def test_codes_count_per_office_and_local_day() -> None:
    """Sequences restart on a new Hà Nội day (17:00 UTC) and are separate per office."""
    store = FakeIntakeStore()
    first, _ = await receive(store)
    second, _ = await receive(store)
    other_office, _ = await receive(store, office=handlers.office_of("00073.TTHCC"))
    next_day, _ = await receive(store, now=datetime(2026, 11, 23, 17, 0, tzinfo=UTC))
    assert first["code"].endswith("-261123-0001") and second["code"].endswith("-261123-0002")
    assert other_office["code"] == "00073.TTHCC-261123-0001"
    assert next_day["code"] == "00070.TTHCC-261124-0001"


async def test_concurrent_receipts_get_distinct_codes() -> None:
    """Fifty interleaved receipts get fifty distinct codes and fifty stored events."""
    store = FakeIntakeStore()
    results = await asyncio.gather(*(receive(store) for _ in range(50)))
    assert len({r["code"] for r, _ in results}) == 50
    assert sum(len(outbox_events(d)) for d in store.dossiers.values()) == 50


async def test_idempotency_key_replays_or_conflicts() -> None:
    """Same key and body → the same dossier without a second event; another body → 409 idempotency_key_reused."""
    store = FakeIntakeStore()
    first, created = await receive(store, idempotency_key="k1")
    again, created_again = await receive(store, idempotency_key="k1")
    assert created and not created_again
    assert again["code"] == first["code"] and again["tracking_token"] is None
    assert len(store.dossiers) == 1
    with pytest.raises(ApiError) as info:
        await receive(store, idempotency_key="k1", body=body(channel="online"))
    assert (info.value.status, info.value.code) == (409, "idempotency_key_reused")
    # the key is scoped per office: another office may use the same key
    _, created_elsewhere = await receive(store, idempotency_key="k1", office=handlers.office_of("00073.TTHCC"))
    assert created_elsewhere


async def test_racing_requests_with_one_idempotency_key_make_one_dossier() -> None:
    """Concurrent retries of one request: one dossier, the others answer it as a replay."""
    store = FakeIntakeStore()
    results = await asyncio.gather(*(receive(store, idempotency_key="same") for _ in range(5)))
    assert len({r["code"] for r, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1
    assert len(store.dossiers) == 1
    assert list(store.counters.values()) == [1]  # no number was claimed for the duplicates
    (code,) = {r["code"] for r, _ in results}
    follow_up, _ = await receive(store, idempotency_key="other")
    assert follow_up["code"][-4:] == "0002" and code[-4:] == "0001"  # no skipped numbers


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"procedure_code": "LT-XX-999"}, "unknown_procedure"),
        ({"applicant": {**body()["applicant"], "citizen_id": "001999012345"}}, "invalid_citizen_id"),
        ({"applicant": {**body()["applicant"], "phone": "0212345678"}}, "invalid_phone"),
        ({"documents": []}, "missing_documents"),
    ],
)
async def test_rejected_dossiers_store_nothing(change: dict[str, Any], code: str) -> None:
    """A 422 answer names the rule; no dossier, number or event is created."""
    store = FakeIntakeStore()
    with pytest.raises(ApiError) as info:
        await receive(store, body=body(**change))
    assert (info.value.status, info.value.code) == (422, code)
    assert store.dossiers == {} and store.counters == {}


def status_change(dossier: dict[str, Any], status: DossierStatus, version: int, **extra: Any) -> DossierStatusChanged:
    """A status event from resolution."""
    return DossierStatusChanged(
        dossier_id=dossier["id"],
        dossier_code=dossier["code"],
        office_code=extra.pop("office_code", "00070.UBND"),
        status=status,
        action=extra.pop("action", status.value),
        version=version,
        occurred_at=NOW,
        **extra,
    )


async def test_status_view_is_idempotent_and_ignores_stale_events() -> None:
    """A redelivered event applies once; an older version of the same office does not roll the view back."""
    store = FakeIntakeStore()
    receipt, _ = await receive(store)
    accepted = status_change(receipt, DossierStatus.ACCEPTED, 2)
    in_process = status_change(receipt, DossierStatus.IN_PROCESS, 3)
    assert await handlers.apply_status("e1", accepted, store=store)  # type: ignore[arg-type]
    assert not await handlers.apply_status("e1", accepted, store=store)  # type: ignore[arg-type]
    assert await handlers.apply_status("e2", in_process, store=store)  # type: ignore[arg-type]
    assert not await handlers.apply_status("e0", status_change(receipt, DossierStatus.ACCEPTED, 2), store=store)  # type: ignore[arg-type]
    doc = store.dossiers[receipt["id"]]
    assert doc["status"] == "in_process" and doc["current_office_code"] == "00070.UBND"
    assert [h["status"] for h in doc["history"]] == ["received", "accepted", "in_process"]
    # a transfer: the next office's versions start again
    moved = status_change(receipt, DossierStatus.ACCEPTED, 1, office_code="00070.CA")
    assert await handlers.apply_status("e3", moved, store=store)  # type: ignore[arg-type]
    assert store.dossiers[receipt["id"]]["current_office_code"] == "00070.CA"


async def test_status_for_an_unknown_dossier_is_skipped() -> None:
    """An event about a dossier this intake never filed changes nothing."""
    store = FakeIntakeStore()
    ghost = {"id": "nope", "code": "X-1"}
    assert not await handlers.apply_status("e", status_change(ghost, DossierStatus.ACCEPTED, 2), store=store)  # type: ignore[arg-type]


async def test_supplement_only_while_requested_and_moves_due_date_from_status() -> None:
    """409 before a request; after supplement_requested one supplement is recorded with its event, then 409 again."""
    store, relay = FakeIntakeStore(), FakeRelay()
    receipt, _ = await receive(store, relay)
    docs = [copy.deepcopy(body()["documents"][0])]

    async def supplement() -> dict[str, Any]:
        return await handlers.submit_supplement(
            receipt["code"],
            docs,
            "bổ sung",
            office=OFFICE,
            store=store,  # type: ignore[arg-type]
            publisher=FakePublisher(),  # type: ignore[arg-type]
            relay=relay,  # type: ignore[arg-type]
            now=NOW + timedelta(days=2),
        )

    with pytest.raises(ApiError) as info:
        await supplement()
    assert (info.value.status, info.value.code) == (409, "not_awaiting_supplement")
    requested = status_change(receipt, DossierStatus.SUPPLEMENT_REQUESTED, 3, action="request_supplement")
    await handlers.apply_status("e1", requested, store=store)  # type: ignore[arg-type]
    done = await supplement()
    doc = store.dossiers[receipt["id"]]
    assert doc["awaiting_supplement"] is False and doc["supplements"][0]["id"] == done["supplement_id"]
    topics = sorted(e["topic"] for e in outbox_events(doc))
    assert topics == sorted([Topics.DOSSIER_RECEIVED, Topics.DOSSIER_SUPPLEMENTED])
    supplemented = next(e for e in outbox_events(doc) if e["topic"] == Topics.DOSSIER_SUPPLEMENTED)
    assert supplemented["event"]["data"]["documents"] == 1 and supplemented["key"] == receipt["id"]
    with pytest.raises(ApiError):
        await supplement()
    # the resumed clock comes back from resolution with a later due date
    later = NOW + timedelta(days=5)
    resumed = status_change(receipt, DossierStatus.IN_PROCESS, 4, action="resume", due_at=later)
    await handlers.apply_status("e2", resumed, store=store)  # type: ignore[arg-type]
    assert store.dossiers[receipt["id"]]["due_at"] == later


async def test_supplement_for_another_office_is_not_found() -> None:
    """An office sees and supplements only its own dossiers."""
    store = FakeIntakeStore()
    receipt, _ = await receive(store)
    with pytest.raises(ApiError) as info:
        await handlers.submit_supplement(
            receipt["code"],
            [],
            None,
            office=handlers.office_of("00073.TTHCC"),
            store=store,  # type: ignore[arg-type]
            publisher=FakePublisher(),  # type: ignore[arg-type]
            relay=None,
            now=NOW,
        )
    assert info.value.status == 404


async def test_api_keys_are_hashed_bound_to_an_office_and_revocable() -> None:
    """A key authenticates as its office; only its hash is stored; revocation is immediate; bad offices refused."""
    store = FakeIntakeStore()
    key_id, key = await handlers.create_api_key("00070.TTHCC", store=store, now=NOW)  # type: ignore[arg-type]
    assert key.startswith(f"lt_{key_id}_") and len(key) > 40
    assert key not in str(store.api_keys)
    office = await handlers.authenticate(key, store=store)  # type: ignore[arg-type]
    assert office == handlers.Office("00070.TTHCC", "01", "00070")
    assert await handlers.authenticate(key + "x", store=store) is None  # type: ignore[arg-type]
    assert await store.revoke_api_key(key_id, NOW)
    assert await handlers.authenticate(key, store=store) is None  # type: ignore[arg-type]
    assert handlers.office_of("P01.TTPVHCC") == handlers.Office("P01.TTPVHCC", "01", None)
    for bad in ("99999.TTHCC", "00070.XYZ", "P99.STP", "garbage"):
        with pytest.raises(ValueError):
            await handlers.create_api_key(bad, store=store, now=NOW)  # type: ignore[arg-type]


async def test_queue_tickets_restart_daily_and_calls_take_the_oldest() -> None:
    """Numbers count per centre and Hà Nội day; calls hand out waiting tickets in order; no-show needs a call."""
    store = FakeIntakeStore()
    s: Any = store
    numbers = [(await handlers.take_ticket("C1", "ho-tich", store=s, now=NOW))["number"] for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert (await handlers.take_ticket("C2", "ho-tich", store=s, now=NOW))["number"] == 1
    tomorrow = NOW + timedelta(days=1)
    assert (await handlers.take_ticket("C1", "ho-tich", store=s, now=tomorrow))["number"] == 1
    first = await handlers.call_next_ticket("C1", "4", store=s, now=NOW)
    second = await handlers.call_next_ticket("C1", "5", store=s, now=NOW)
    assert (first["number"], first["counter"], second["number"]) == (1, "4", 2)
    assert (await handlers.mark_no_show("C1", 1, store=s, now=NOW))["status"] == "no_show"
    with pytest.raises(ApiError):
        await handlers.mark_no_show("C1", 3, store=s, now=NOW)  # waiting, not called
    await handlers.call_next_ticket("C1", "4", store=s, now=NOW)
    with pytest.raises(ApiError) as info:
        await handlers.call_next_ticket("C1", "4", store=s, now=NOW)
    assert info.value.code == "queue_empty"


def routed_event(
    dossier: dict[str, Any], office: str | None, *, at: datetime = NOW, step: int = 0, name: str | None = None
) -> DossierRouted:
    """Routing's decision for ``dossier`` (``office`` None = parked)."""
    return DossierRouted(
        dossier_id=dossier["id"],
        dossier_code=dossier["code"],
        decision_id=f"d-{office}-{step}",
        outcome=RouteOutcome.ROUTED if office else RouteOutcome.PARKED,
        office_code=office,
        office_name=name,
        province_code="01",
        procedure_code="LT-HT-001",
        reason="Chưa có cơ quan có thẩm quyền đang tiếp nhận" if office is None else "R20",
        received_at=NOW,
        due_at=NOW + timedelta(days=1),
        chain_step=step,
        routed_at=at,
    )


async def test_view_follows_routing_decisions_parked_then_routed() -> None:
    """The filing office sees "parked" (no office) while routing waits, then "routed" with the competent office;
    a redelivered decision and an older decision change nothing."""
    store = FakeIntakeStore()
    receipt, _ = await receive(store)
    s: Any = store
    assert await handlers.apply_routed("r1", routed_event(receipt, None), store=s)
    doc = store.dossiers[receipt["id"]]
    assert (doc["status"], doc["current_office_code"]) == ("parked", None)
    assert doc["history"][-1]["reason"]
    later = NOW + timedelta(minutes=5)
    assert await handlers.apply_routed("r2", routed_event(receipt, "00070.UBND", at=later, name="UBND HK"), store=s)
    assert not await handlers.apply_routed("r2", routed_event(receipt, "00070.UBND", at=later), store=s)
    assert not await handlers.apply_routed("r0", routed_event(receipt, None, at=NOW - timedelta(minutes=1)), store=s)
    doc = store.dossiers[receipt["id"]]
    assert (doc["status"], doc["current_office_code"]) == ("routed", "00070.UBND")
    assert [h["status"] for h in doc["history"]] == ["received", "parked", "routed"]


async def test_status_and_routing_events_in_either_order_end_at_the_newest_office() -> None:
    """Topics are not ordered with each other: an office's own status overtaking its routing decision is kept, and
    the old office's transfer arriving after the new decision stays on the timeline without moving the view back."""
    store = FakeIntakeStore()
    receipt, _ = await receive(store)
    s: Any = store
    t1, t2 = NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)
    accepted = status_change(receipt, DossierStatus.ACCEPTED, 2).model_copy(update={"occurred_at": t1})
    assert await handlers.apply_status("s1", accepted, store=s)
    assert await handlers.apply_routed("r1", routed_event(receipt, "00070.UBND", at=NOW), store=s)  # late
    assert store.dossiers[receipt["id"]]["status"] == "accepted"
    # the leader transfers at t2; routing sends it to 00073.UBND just after; the transfer event comes last
    assert await handlers.apply_routed("r2", routed_event(receipt, "00073.UBND", at=t2 + timedelta(seconds=1)), store=s)
    transferred = status_change(receipt, DossierStatus.TRANSFERRED, 3, action="transfer", reason="sai thẩm quyền")
    assert await handlers.apply_status("s2", transferred.model_copy(update={"occurred_at": t2}), store=s)
    doc = store.dossiers[receipt["id"]]
    assert (doc["status"], doc["current_office_code"]) == ("routed", "00073.UBND")
    assert [h["status"] for h in doc["history"]][-2:] == ["routed", "transferred"]
