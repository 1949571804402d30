"""Intake use cases against in-memory repositories: receipts, idempotency, supplements, the status view, keys,
queues."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake import handlers
from services.intake.adapters.key_cache import TtlKeyCache
from services.intake.domain.dossier import Dossier, sha256_hex
from services.intake.domain.errors import Conflict, IntakeError, NotFound, Refused
from services.intake.domain.office import Office, office_of
from services.intake.entrypoints.http import receipt
from services.intake.settings import IntakeSettings
from shared.aggregate import Recorded
from shared.events import DossierReceived, DossierRouted, DossierStatus, DossierStatusChanged, RouteOutcome
from shared.pii import PersonalDataKeys
from shared.reference.procedures import load_catalogue
from shared.topics import Topics
from tests.support.filings import birth_registration
from tests.unit.intake.fakes import Fakes

OFFICE = office_of("00070.TTHCC")
PII = PersonalDataKeys.from_settings(IntakeSettings(environment="test"))
# Monday 2026-11-23 09:15 in Hà Nội
NOW = datetime(2026, 11, 23, 2, 15, tzinfo=UTC)


def body(**overrides: Any) -> dict[str, Any]:
    """A complete birth registration, as the HTTP layer hands it over."""
    filing = birth_registration(
        phone="+84 912 345 678", email="an@example.vn", address={"ward_code": "00070", "detail": None}
    )
    return filing | {"subject": None, "notify": {"sms": True, "email": True, "app": False}, "locale": "vi"} | overrides


def ports(fakes: Fakes) -> handlers.FilingPorts:
    """The filing ports over the fakes."""
    return handlers.FilingPorts(fakes.dossiers, fakes.tickets, fakes.sequences, fakes.claims, load_catalogue(), PII)


async def receive(fakes: Fakes, **kwargs: Any) -> dict[str, Any]:
    """Run receive_dossier with fakes; the receipt as a dict (id, code, due_at, tracking_token, created)."""
    args: dict[str, Any] = {"office": OFFICE, "idempotency_key": None, "now": NOW}
    args.update(kwargs)
    payload = args.pop("body", None) or body()
    result = await handlers.receive_dossier(payload, ports=ports(fakes), **args)
    return {**receipt(result), "created": result.created}


def stored(fakes: Fakes, dossier_id: str) -> Dossier:
    """The committed dossier."""
    return fakes.dossiers.items[dossier_id]


def events_of(fakes: Fakes, dossier_id: str) -> list[Recorded]:
    """The events committed for one dossier."""
    return [e for e in fakes.dossiers.published if e.key == dossier_id]


async def test_receipt_and_event_are_stored_together() -> None:
    """The dossier is committed with its dossier.received.v1 event, and nothing personal travels in clear."""
    fakes = Fakes()
    result = await receive(fakes)
    assert result["created"]
    assert result["code"] == "00070.TTHCC-261123-0001"
    assert result["due_at"] == datetime(2026, 11, 23, 17, 0, tzinfo=result["due_at"].tzinfo)  # same working day
    doc = stored(fakes, result["id"])
    (entry,) = events_of(fakes, doc.id)
    assert entry.topic == Topics.DOSSIER_RECEIVED and entry.key == doc.id and entry.subject == result["code"]
    event = DossierReceived.model_validate(entry.data)
    assert event.dossier_code == result["code"]
    assert event.receiving_office_code == "00070.TTHCC" and event.province_code == "01"
    assert event.receiving_ward_code == "00070" and event.applicant_ward_code == "00070"
    # the contact travels sealed for notify: no clear phone, e-mail or citizen ID in the event
    assert event.contact.phone is None and event.contact.email is None and event.contact.sealed
    assert PII.contact.open(event.contact.sealed) == {"phone": "0912345678", "email": "an@example.vn"}
    assert event.contact.phone_hash == PII.hash("0912345678")
    for secret in ("0912345678", "an@example.vn", body()["applicant"]["citizen_id"]):
        assert secret not in str(entry) and secret not in str(doc)
    assert handlers.applicant_in_clear(doc.applicant, PII).citizen_id == body()["applicant"]["citizen_id"]
    assert doc.applicant.citizen_id_hash == PII.hash(body()["applicant"]["citizen_id"])
    assert event.notify.email is True and event.notify.app is False
    # only the token's hash is kept, on the dossier and on the event
    assert event.tracking_token_sha256 == sha256_hex(result["tracking_token"]) == doc.tracking_token_sha256
    assert result["tracking_token"] not in str(doc)
    assert [h.status for h in doc.history] == ["received"] and doc.appointment_at == doc.due_at


async def test_codes_count_per_office_and_local_day() -> None:
    """Sequences restart on a new Hà Nội day (17:00 UTC) and are separate per office."""
    fakes = Fakes()
    first = await receive(fakes)
    second = await receive(fakes)
    other_office = await receive(fakes, office=office_of("00073.TTHCC"))
    next_day = await receive(fakes, now=datetime(2026, 11, 23, 17, 0, tzinfo=UTC))
    assert first["code"].endswith("-261123-0001") and second["code"].endswith("-261123-0002")
    assert other_office["code"] == "00073.TTHCC-261123-0001"
    assert next_day["code"] == "00070.TTHCC-261124-0001"


async def test_concurrent_receipts_get_distinct_codes() -> None:
    """Fifty interleaved receipts get fifty distinct codes and fifty committed events."""
    fakes = Fakes()
    results = await asyncio.gather(*(receive(fakes) for _ in range(50)))
    assert len({r["code"] for r in results}) == 50
    assert len(fakes.dossiers.published) == 50


async def test_idempotency_key_replays_or_conflicts() -> None:
    """Same key and body → the same dossier without a second event; another body → 409 idempotency_key_reused."""
    fakes = Fakes()
    first = await receive(fakes, idempotency_key="k1")
    again = await receive(fakes, idempotency_key="k1")
    assert first["created"] and not again["created"]
    assert again["code"] == first["code"] and again["tracking_token"] is None
    assert len(fakes.dossiers.items) == 1 and len(fakes.dossiers.published) == 1
    with pytest.raises(Conflict) as info:
        await receive(fakes, idempotency_key="k1", body=body(channel="online"))
    assert info.value.code == "idempotency_key_reused"
    # the key is scoped per office: another office may use the same key
    elsewhere = await receive(fakes, idempotency_key="k1", office=office_of("00073.TTHCC"))
    assert elsewhere["created"]


async def test_racing_requests_with_one_idempotency_key_make_one_dossier() -> None:
    """Concurrent retries of one request: one dossier, the others answer it as a replay."""
    fakes = Fakes()
    results = await asyncio.gather(*(receive(fakes, idempotency_key="same") for _ in range(5)))
    assert len({r["code"] for r in results}) == 1
    assert [r["created"] for r in results].count(True) == 1
    assert len(fakes.dossiers.items) == 1
    assert list(fakes.sequences.counters.values()) == [1]  # no number was claimed for the duplicates
    (code,) = {r["code"] for r in results}
    follow_up = await receive(fakes, idempotency_key="other")
    assert follow_up["code"][-4:] == "0002" and code[-4:] == "0001"  # no skipped numbers


async def test_a_duplicate_insert_answers_the_winner() -> None:
    """When the insert meets the key another request stored meanwhile, the winner's dossier is answered."""
    fakes = Fakes()
    first = await receive(fakes, idempotency_key="k")
    fakes.claims.claims.clear()  # as if the claim had gone stale and been taken over
    original = fakes.dossiers.by_idempotency_key
    calls = 0

    async def late(key: str) -> Dossier | None:  # the first look-up misses it, as under a race
        nonlocal calls
        calls += 1
        return None if calls == 1 else await original(key)

    fakes.dossiers.by_idempotency_key = late  # type: ignore[method-assign]
    again = await receive(fakes, idempotency_key="k")
    assert (again["code"], again["created"]) == (first["code"], False)
    assert len(fakes.dossiers.items) == 1


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
    """A refusal names the rule; no dossier, number or event is created."""
    fakes = Fakes()
    with pytest.raises(Refused) as info:
        await receive(fakes, body=body(**change))
    assert info.value.code == code
    assert fakes.dossiers.items == {} and fakes.sequences.counters == {} and fakes.dossiers.published == []


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
    fakes = Fakes()
    d = fakes.dossiers
    receipt = await receive(fakes)
    accepted = status_change(receipt, DossierStatus.ACCEPTED, 2)
    in_process = status_change(receipt, DossierStatus.IN_PROCESS, 3)
    assert await handlers.apply_status("e1", accepted, dossiers=d)
    assert not await handlers.apply_status("e1", accepted, dossiers=d)
    assert await handlers.apply_status("e2", in_process, dossiers=d)
    assert not await handlers.apply_status("e0", status_change(receipt, DossierStatus.ACCEPTED, 2), dossiers=d)
    doc = stored(fakes, receipt["id"])
    assert doc.status == "in_process" and doc.current_office_code == "00070.UBND"
    assert [h.status for h in doc.history] == ["received", "accepted", "in_process"]
    # a transfer: the next office's versions start again
    moved = status_change(receipt, DossierStatus.ACCEPTED, 1, office_code="00070.CA")
    assert await handlers.apply_status("e3", moved, dossiers=d)
    assert stored(fakes, receipt["id"]).current_office_code == "00070.CA"


async def test_status_for_an_unknown_dossier_is_skipped() -> None:
    """An event about a dossier this intake never filed changes nothing."""
    fakes = Fakes()
    ghost = {"id": "nope", "code": "X-1"}
    change = status_change(ghost, DossierStatus.ACCEPTED, 2)
    assert not await handlers.apply_status("e", change, dossiers=fakes.dossiers)


async def test_supplement_only_while_requested_and_moves_due_date_from_status() -> None:
    """409 before a request; after supplement_requested one supplement is recorded with its event, then 409 again."""
    fakes = Fakes()
    receipt = await receive(fakes)
    docs = [copy.deepcopy(body()["documents"][0])]

    async def supplement() -> dict[str, Any]:
        return await handlers.submit_supplement(
            receipt["code"], docs, "bổ sung", office=OFFICE, dossiers=fakes.dossiers, now=NOW + timedelta(days=2)
        )

    with pytest.raises(Conflict) as info:
        await supplement()
    assert info.value.code == "not_awaiting_supplement"
    requested = status_change(receipt, DossierStatus.SUPPLEMENT_REQUESTED, 3, action="request_supplement")
    await handlers.apply_status("e1", requested, dossiers=fakes.dossiers)
    assert stored(fakes, receipt["id"]).awaiting_supplement
    done = await supplement()
    doc = stored(fakes, receipt["id"])
    assert doc.awaiting_supplement is False and doc.supplements[0].id == done["supplement_id"]
    topics = [e.topic for e in events_of(fakes, receipt["id"])]
    assert topics == [Topics.DOSSIER_RECEIVED, Topics.DOSSIER_SUPPLEMENTED]
    supplemented = events_of(fakes, receipt["id"])[-1]
    assert supplemented.data["documents"] == 1 and supplemented.data["supplement_id"] == done["supplement_id"]
    with pytest.raises(Conflict):
        await supplement()
    # the resumed clock comes back from resolution with a later due date
    later = NOW + timedelta(days=5)
    resumed = status_change(receipt, DossierStatus.IN_PROCESS, 4, action="resume", due_at=later)
    await handlers.apply_status("e2", resumed, dossiers=fakes.dossiers)
    assert stored(fakes, receipt["id"]).due_at == later


async def test_supplement_for_another_office_is_not_found() -> None:
    """An office sees and supplements only its own dossiers."""
    fakes = Fakes()
    receipt = await receive(fakes)
    with pytest.raises(NotFound):
        await handlers.submit_supplement(
            receipt["code"], [], None, office=office_of("00073.TTHCC"), dossiers=fakes.dossiers, now=NOW
        )


async def test_api_keys_are_hashed_bound_to_an_office_and_revocable() -> None:
    """A key authenticates as its office; only its hash is stored; revocation is immediate; bad offices refused."""
    fakes, cache = Fakes(), TtlKeyCache(0)
    keys = fakes.api_keys
    key_id, key = await handlers.create_api_key("00070.TTHCC", keys=keys, now=NOW)
    assert key.startswith(f"lt_{key_id}_") and len(key) > 40
    assert key not in str(keys.keys)
    office = await handlers.authenticate(key, keys=keys, cache=cache)
    assert office == Office("00070.TTHCC", "01", "00070")
    assert await handlers.authenticate(key + "x", keys=keys, cache=cache) is None
    assert await handlers.revoke_api_key(key_id, keys=keys, now=NOW)
    assert await handlers.authenticate(key, keys=keys, cache=cache) is None
    assert not await handlers.revoke_api_key(key_id, keys=keys, now=NOW)
    assert office_of("P01.TTPVHCC") == Office("P01.TTPVHCC", "01", None)
    for bad in ("99999.TTHCC", "00070.XYZ", "P99.STP", "garbage"):
        with pytest.raises(ValueError):
            await handlers.create_api_key(bad, keys=keys, now=NOW)


async def test_a_cached_key_skips_the_look_up_but_not_the_revocation_check() -> None:
    """Within the time to live a known key is not looked up by hash again; revoked, it is refused at once."""
    fakes, cache = Fakes(), TtlKeyCache(300)
    keys = fakes.api_keys
    key_id, key = await handlers.create_api_key("00070.TTHCC", keys=keys, now=NOW)
    for _ in range(3):
        assert await handlers.authenticate(key, keys=keys, cache=cache) == OFFICE
    assert keys.hash_lookups == 1
    await handlers.revoke_api_key(key_id, keys=keys, now=NOW)
    assert await handlers.authenticate(key, keys=keys, cache=cache) is None
    assert cache.get(sha256_hex(key)) is None


def test_the_key_cache_expires_and_stays_bounded() -> None:
    """Entries live ``ttl`` seconds; past ``max_entries`` the oldest goes; ttl 0 caches nothing."""
    now = [0.0]
    cache = TtlKeyCache(30, max_entries=2, clock=lambda: now[0])
    from services.intake.domain.api_keys import VerifiedKey

    for name in ("a", "b", "c"):
        cache.put(name, VerifiedKey(name, OFFICE))
    assert cache.get("a") is None and cache.get("b") == VerifiedKey("b", OFFICE)
    now[0] = 30.0
    assert cache.get("b") is None
    off = TtlKeyCache(0)
    off.put("a", VerifiedKey("a", OFFICE))
    assert off.get("a") is None


async def test_queue_tickets_restart_daily_and_calls_take_the_oldest() -> None:
    """Numbers count per centre and Hà Nội day; calls hand out waiting tickets in order; no-show needs a call."""
    fakes = Fakes()
    t, q = fakes.tickets, fakes.sequences

    async def take(centre: str, at: datetime = NOW) -> int:
        return (await handlers.take_ticket(centre, "ho-tich", tickets=t, sequences=q, now=at)).number

    assert [await take("C1") for _ in range(3)] == [1, 2, 3]
    assert await take("C2") == 1
    assert await take("C1", NOW + timedelta(days=1)) == 1
    first = await handlers.call_next_ticket("C1", "4", tickets=t, now=NOW)
    second = await handlers.call_next_ticket("C1", "5", tickets=t, now=NOW)
    assert (first.number, first.counter, second.number) == (1, "4", 2)
    assert (await handlers.mark_no_show("C1", 1, tickets=t, now=NOW)).status == "no_show"
    with pytest.raises(NotFound):
        await handlers.mark_no_show("C1", 3, tickets=t, now=NOW)  # waiting, not called
    with pytest.raises(NotFound):
        await handlers.mark_no_show("C1", 99, tickets=t, now=NOW)  # no such ticket
    await handlers.call_next_ticket("C1", "4", tickets=t, now=NOW)
    with pytest.raises(NotFound) as info:
        await handlers.call_next_ticket("C1", "4", tickets=t, now=NOW)
    assert info.value.code == "queue_empty"


async def test_concurrent_calls_never_hand_one_ticket_to_two_counters() -> None:
    """Five counters calling at once over three waiting tickets: three get distinct tickets, two hear queue_empty."""
    fakes = Fakes()
    for _ in range(3):
        await handlers.take_ticket("C1", "ho-tich", tickets=fakes.tickets, sequences=fakes.sequences, now=NOW)

    async def call(counter: str) -> int | None:
        try:
            return (await handlers.call_next_ticket("C1", counter, tickets=fakes.tickets, now=NOW)).number
        except IntakeError:
            return None

    numbers = await asyncio.gather(*(call(str(c)) for c in range(5)))
    assert sorted(n for n in numbers if n is not None) == [1, 2, 3] and numbers.count(None) == 2


async def test_a_dossier_filed_for_a_called_ticket_serves_it() -> None:
    """The ticket must have been called today at this centre; filing for it marks it served with the code."""
    fakes = Fakes()
    ticket = await handlers.take_ticket(
        OFFICE.code, "ho-tich", tickets=fakes.tickets, sequences=fakes.sequences, now=NOW
    )
    with pytest.raises(Refused) as info:
        await receive(fakes, body=body(queue_ticket=ticket.number))
    assert info.value.code == "unknown_ticket"
    await handlers.call_next_ticket(OFFICE.code, "1", tickets=fakes.tickets, now=NOW)
    receipt = await receive(fakes, body=body(queue_ticket=ticket.number), idempotency_key="t")
    served = fakes.tickets.items[ticket.id]
    assert (served.status, served.dossier_code) == ("served", receipt["code"])
    again = await receive(fakes, body=body(queue_ticket=ticket.number), idempotency_key="t")
    assert again["code"] == receipt["code"] and fakes.tickets.items[ticket.id].dossier_code == receipt["code"]


def routed_event(
    dossier: dict[str, Any], office: str | None, *, at: datetime = NOW, step: int = 0, name: str | None = None
) -> DossierRouted:
    """Routing's decision for ``dossier`` (``office`` None = parked)."""
    return DossierRouted(
        dossier_id=dossier["id"],
        dossier_code=dossier["code"],
        decision_id=f"d-{office}-{step}-{at.isoformat()}",
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
    fakes = Fakes()
    d = fakes.dossiers
    receipt = await receive(fakes)
    assert await handlers.apply_routed("r1", routed_event(receipt, None), dossiers=d)
    doc = stored(fakes, receipt["id"])
    assert (doc.status, doc.current_office_code) == ("parked", None)
    assert doc.history[-1].reason
    later = NOW + timedelta(minutes=5)
    assert await handlers.apply_routed("r2", routed_event(receipt, "00070.UBND", at=later, name="UBND HK"), dossiers=d)
    assert not await handlers.apply_routed("r2", routed_event(receipt, "00070.UBND", at=later), dossiers=d)
    # the same decision again under another event id (past the consumed window): its own rule refuses it
    assert not await handlers.apply_routed("r2b", routed_event(receipt, "00070.UBND", at=later), dossiers=d)
    assert not await handlers.apply_routed("r0", routed_event(receipt, None, at=NOW - timedelta(minutes=1)), dossiers=d)
    doc = stored(fakes, receipt["id"])
    assert (doc.status, doc.current_office_code) == ("routed", "00070.UBND")
    assert doc.current_office_name() == "UBND HK"
    assert [h.status for h in doc.history] == ["received", "parked", "routed"]


async def test_status_and_routing_events_in_either_order_end_at_the_newest_office() -> None:
    """Topics are not ordered with each other: an office's own status overtaking its routing decision is kept, and
    the old office's transfer arriving after the new decision stays on the timeline without moving the view back."""
    fakes = Fakes()
    d = fakes.dossiers
    receipt = await receive(fakes)
    t1, t2 = NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)
    accepted = status_change(receipt, DossierStatus.ACCEPTED, 2).model_copy(update={"occurred_at": t1})
    assert await handlers.apply_status("s1", accepted, dossiers=d)
    assert await handlers.apply_routed("r1", routed_event(receipt, "00070.UBND", at=NOW), dossiers=d)  # late
    assert stored(fakes, receipt["id"]).status == "accepted"
    # the leader transfers at t2; routing sends it to 00073.UBND just after; the transfer event comes last
    routed = routed_event(receipt, "00073.UBND", at=t2 + timedelta(seconds=1))
    assert await handlers.apply_routed("r2", routed, dossiers=d)
    transferred = status_change(receipt, DossierStatus.TRANSFERRED, 3, action="transfer", reason="sai thẩm quyền")
    assert await handlers.apply_status("s2", transferred.model_copy(update={"occurred_at": t2}), dossiers=d)
    doc = stored(fakes, receipt["id"])
    assert (doc.status, doc.current_office_code) == ("routed", "00073.UBND")
    assert [h.status for h in doc.history][-2:] == ["routed", "transferred"]
