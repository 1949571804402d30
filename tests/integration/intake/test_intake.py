"""Intake against real Kafka and FerretDB: codes, events, idempotency, crash safety, validation, supplements."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.intake import handlers
from services.intake.adapters.repositories import MongoSequences
from services.intake.bootstrap import bootstrap
from services.intake.entrypoints.deps import deps_of
from services.intake.settings import IntakeSettings
from shared.envelope import CloudEvent
from shared.events import DossierRouted, DossierStatus, DossierStatusChanged, RouteOutcome
from shared.store import make_mongo_client, service_database
from shared.topics import Topics
from tests.integration.intake.conftest import OFFICE, dossier_body
from tests.support.kafka import collect_events, produce_event
from tests.support.service import drop_databases, running
from tests.support.waiting import eventually

Client = tuple[httpx.AsyncClient, Any]


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


async def test_concurrent_posts_get_distinct_codes_and_one_event_each(
    intake: Client, api_key: str, intake_settings: IntakeSettings
) -> None:
    """200 concurrent posts yield 200 distinct codes and exactly 200 events on the topic, each once."""
    client, _ = intake
    responses = await asyncio.gather(
        *(client.post("/v1/dossiers", json=dossier_body(), headers=auth(api_key)) for _ in range(200))
    )
    assert [r.status_code for r in responses] == [201] * 200
    codes = {r.json()["code"] for r in responses}
    assert len(codes) == 200 and all(c.startswith(f"{OFFICE}-") for c in codes)
    events = await collect_events(
        intake_settings.kafka_bootstrap_servers, intake_settings.topic(Topics.DOSSIER_RECEIVED), count=200, timeout=60
    )
    events += await _extra(intake_settings, 200)
    assert len(events) == 200, "each dossier must be published exactly once"
    assert {e.data["dossier_code"] for e in events} == codes
    assert len({e.id for e in events}) == 200
    assert all(e.subject == e.data["dossier_code"] and e.type == "vn.lienthong.dossier.received.v1" for e in events)


async def _extra(settings: IntakeSettings, already: int) -> list[CloudEvent]:
    try:
        everything = await collect_events(
            settings.kafka_bootstrap_servers, settings.topic(Topics.DOSSIER_RECEIVED), count=already + 1, timeout=2
        )
    except AssertionError:
        return []
    return everything[already:]


async def test_idempotency_key(intake: Client, api_key: str) -> None:
    """Same key + same body → the same dossier; same key + another body → 409."""
    client, _ = intake
    first = await client.post("/v1/dossiers", json=dossier_body(), headers=auth(api_key, **{"Idempotency-Key": "k-1"}))
    again = await client.post("/v1/dossiers", json=dossier_body(), headers=auth(api_key, **{"Idempotency-Key": "k-1"}))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["code"] == first.json()["code"] and again.json()["id"] == first.json()["id"]
    other = await client.post(
        "/v1/dossiers", json=dossier_body(channel="online"), headers=auth(api_key, **{"Idempotency-Key": "k-1"})
    )
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"


async def test_crash_between_write_and_publish_loses_nothing(intake_settings: IntakeSettings) -> None:
    """A dossier stored by an instance that died before publishing is published by the next instance's relay."""
    crashed = bootstrap(intake_settings.model_copy(update={"relay_enabled": False}))
    async with running(crashed) as client:
        deps = deps_of(crashed)
        _, key = await handlers.create_api_key(OFFICE, keys=deps.api_keys, now=datetime.now(UTC))
        posted = (await client.post("/v1/dossiers", json=dossier_body(), headers=auth(key))).json()
        # the unit of work's own field, read from the repository's collection: what this test is about
        stored = await deps.dossiers.collection.find_one({"code": posted["code"]})  # type: ignore[attr-defined]
        assert stored["outbox_pending"] == 1, "the event waits in the dossier's outbox"
    async with running(bootstrap(intake_settings)):
        (event,) = await collect_events(
            intake_settings.kafka_bootstrap_servers, intake_settings.topic(Topics.DOSSIER_RECEIVED), count=1
        )
    assert event.data["dossier_code"] == posted["code"]


async def test_two_instances_number_one_counter_without_collisions(intake_settings: IntakeSettings) -> None:
    """Two processes' stores claiming numbers of one office-day concurrently never hand out the same number."""
    clients = [make_mongo_client(intake_settings) for _ in range(2)]
    try:
        stores = [MongoSequences(service_database(c, intake_settings)) for c in clients]
        await stores[0].ensure_indexes()
        numbers = await asyncio.gather(*(stores[i % 2].next("00070.TTHCC-270203") for i in range(60)))
        assert sorted(numbers) == list(range(1, 61))
    finally:
        for c in clients:
            c.close()
        await drop_databases(intake_settings.mongodb_url, intake_settings.mongodb_database)


def _bad(path: list[str], value: Any) -> dict[str, Any]:
    body = dossier_body()
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return body


async def test_each_validation_rule_has_its_code(intake: Client, api_key: str) -> None:
    """Every rule answers 422 with its own machine-readable code."""
    client, _ = intake
    cases = {
        "unknown_procedure": _bad(["procedure_code"], "NOPE-1"),
        "invalid_citizen_id": _bad(["applicant", "citizen_id"], "12345"),
        "invalid_phone": _bad(["applicant", "phone"], "0123"),
        "unknown_ward": _bad(["applicant", "address", "ward_code"], "99999"),
        "missing_documents": _bad(["documents"], []),
        "missing_subject": _bad(["procedure_code"], "LT-XD-001"),
        "invalid_document": _bad(
            ["documents"], [{"code": "x", "title": "t", "content_type": "pdf", "size": 1, "sha256": "z"}]
        ),
        "validation_error": _bad(["channel"], "fax"),
    }
    for expected, body in cases.items():
        response = await client.post("/v1/dossiers", json=body, headers=auth(api_key))
        assert response.status_code == 422, (expected, response.text)
        assert response.json()["code"] == expected, (expected, response.json())
    # citizen ID structure: wrong province-of-birth code, birth year in the future
    for bad_id in ("000203012345", "001999012345"):
        r = await client.post("/v1/dossiers", json=_bad(["applicant", "citizen_id"], bad_id), headers=auth(api_key))
        assert r.json()["code"] == "invalid_citizen_id", bad_id
    unknown_subject = dossier_body(procedure_code="LT-XD-001", subject={"ward_code": "98765"})
    r = await client.post("/v1/dossiers", json=unknown_subject, headers=auth(api_key))
    assert r.json()["code"] in {"unknown_ward", "missing_documents"}
    assert any(d["code"] == "unknown_ward" for d in r.json()["details"])
    r = await client.post(
        "/v1/dossiers", content=b"{not json", headers=auth(api_key, **{"content-type": "application/json"})
    )
    assert r.status_code == 422 and r.json()["code"] == "malformed_json"


async def test_authentication_revocation_and_size_limit(intake: Client, api_key: str) -> None:
    """No key or a wrong key → 401; a revoked key stops at once; oversized bodies → 413."""
    client, app = intake
    assert (await client.post("/v1/dossiers", json=dossier_body())).json()["code"] == "unauthorized"
    assert (await client.post("/v1/dossiers", json=dossier_body(), headers=auth("lt_x_y"))).status_code == 401
    key_id = api_key.split("_")[1]
    assert await handlers.revoke_api_key(key_id, keys=deps_of(app).api_keys, now=datetime.now(UTC))
    assert (await client.post("/v1/dossiers", json=dossier_body(), headers=auth(api_key))).status_code == 401
    big = b"x" * (2 * 1024 * 1024)
    r = await client.post("/v1/dossiers", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


async def test_supplement_only_when_requested(intake: Client, api_key: str, intake_settings: IntakeSettings) -> None:
    """A supplement is refused until a supplement_requested status arrives, then accepted and emitted."""
    client, _ = intake
    posted = (await client.post("/v1/dossiers", json=dossier_body(), headers=auth(api_key))).json()
    supplement = {"documents": [copy.deepcopy(dossier_body()["documents"][0])], "note": "bản bổ sung"}
    r = await client.post(f"/v1/dossiers/{posted['code']}/supplements", json=supplement, headers=auth(api_key))
    assert r.status_code == 409 and r.json()["code"] == "not_awaiting_supplement"

    change = DossierStatusChanged(
        dossier_id=posted["id"],
        dossier_code=posted["code"],
        office_code="00070.UBND",
        status=DossierStatus.SUPPLEMENT_REQUESTED,
        action="request_supplement",
        version=3,
        reason="thiếu giấy chứng sinh bản chính",
        occurred_at=posted["received_at"],
    )
    event = CloudEvent(
        source="/lienthong/resolution",
        type="vn.lienthong.dossier.status.v1",
        subject=posted["code"],
        data=change.model_dump(mode="json"),
    )
    await produce_event(
        intake_settings.kafka_bootstrap_servers, intake_settings.topic(Topics.DOSSIER_STATUS), event, key=posted["id"]
    )
    await produce_event(
        intake_settings.kafka_bootstrap_servers, intake_settings.topic(Topics.DOSSIER_STATUS), event, key=posted["id"]
    )

    async def view() -> dict[str, Any]:
        return (await client.get(f"/v1/dossiers/{posted['code']}", headers=auth(api_key))).json()

    shown = await eventually(view, until=lambda v: v.get("awaiting_supplement") is True)
    assert shown["status"] == "supplement_requested"
    assert len([h for h in shown["history"] if h["status"] == "supplement_requested"]) == 1, "redelivery applied once"
    r = await client.post(f"/v1/dossiers/{posted['code']}/supplements", json=supplement, headers=auth(api_key))
    assert r.status_code == 201
    (supplemented,) = await collect_events(
        intake_settings.kafka_bootstrap_servers, intake_settings.topic(Topics.DOSSIER_SUPPLEMENTED), count=1
    )
    assert supplemented.data["dossier_id"] == posted["id"] and supplemented.data["documents"] == 1
    again = await client.post(f"/v1/dossiers/{posted['code']}/supplements", json=supplement, headers=auth(api_key))
    assert again.status_code == 409


async def test_procedures_and_due_date(intake: Client) -> None:
    """The catalogue is served and the due-date endpoint applies the legal clock (Tết 2027 example)."""
    client, _ = intake
    procedures = (await client.get("/v1/procedures")).json()
    assert len(procedures) >= 40
    assert (await client.get("/v1/procedures/NOPE")).json()["code"] == "unknown_procedure"
    r = await client.get("/v1/procedures/LT-KD-001/due-date", params={"received_at": "2027-02-03T10:00:00+07:00"})
    assert r.json()["due_at"] == "2027-02-15T10:00:00+07:00"
    r = await client.get("/v1/procedures/LT-KD-001/due-date", params={"received_at": "tomorrow"})
    assert r.status_code == 422


async def test_queue_tickets(intake: Client, api_key: str) -> None:
    """Tickets are numbered from 1 per centre and day; calls hand out the oldest; no-show marks a called one."""
    client, _ = intake
    numbers = [
        (await client.post(f"/v1/centres/{OFFICE}/tickets", json={"service": "ho-tich"}, headers=auth(api_key))).json()[
            "number"
        ]
        for _ in range(3)
    ]
    assert numbers == [1, 2, 3]
    called = (await client.post(f"/v1/centres/{OFFICE}/calls", json={"counter": "2"}, headers=auth(api_key))).json()
    assert called["number"] == 1 and called["status"] == "called"
    r = await client.post(f"/v1/centres/{OFFICE}/tickets/1/no-show", headers=auth(api_key))
    assert r.json()["status"] == "no_show"
    assert (await client.post(f"/v1/centres/{OFFICE}/tickets/2/no-show", headers=auth(api_key))).status_code == 404
    other = await client.post("/v1/centres/00073.TTHCC/tickets", json={"service": "x"}, headers=auth(api_key))
    assert other.status_code == 403


async def test_filing_office_view_follows_routing_decisions(
    intake: Client, api_key: str, intake_settings: IntakeSettings
) -> None:
    """dossier.routed.v1 through the real broker: parked shows as "parked" with no office, the later decision as
    "routed" with the competent office and its name (the view said "received" and null before)."""
    client, _ = intake
    posted = (await client.post("/v1/dossiers", json=dossier_body(), headers=auth(api_key))).json()
    received_at = datetime.fromisoformat(posted["received_at"])

    async def route(office: str | None, seconds: int) -> None:
        data = DossierRouted(
            dossier_id=posted["id"],
            dossier_code=posted["code"],
            decision_id=f"d{seconds}",
            outcome=RouteOutcome.ROUTED if office else RouteOutcome.PARKED,
            office_code=office,
            office_name="Ủy ban nhân dân Phường Hoàn Kiếm" if office else None,
            province_code="01",
            procedure_code="LT-HT-001",
            reason="chờ cơ quan có thẩm quyền",
            received_at=received_at,
            due_at=datetime.fromisoformat(posted["due_at"]),
            routed_at=received_at + timedelta(seconds=seconds),
        )
        event = CloudEvent(
            source="/lienthong/routing",
            type="vn.lienthong.dossier.routed.v1",
            subject=posted["code"],
            data=data.model_dump(mode="json"),
        )
        topic = intake_settings.topic(Topics.DOSSIER_ROUTED)
        await produce_event(intake_settings.kafka_bootstrap_servers, topic, event, key=posted["id"])

    async def view() -> dict[str, Any]:
        return (await client.get(f"/v1/dossiers/{posted['code']}", headers=auth(api_key))).json()

    await route(None, 1)
    parked = await eventually(view, until=lambda v: v["status"] == "parked")
    assert parked["current_office_code"] is None
    await route("00070.UBND", 2)
    routed = await eventually(view, until=lambda v: v["status"] == "routed")
    assert routed["current_office_code"] == "00070.UBND"
    assert routed["current_office_name"] == "Ủy ban nhân dân Phường Hoàn Kiếm"
    assert [h["status"] for h in routed["history"]] == ["received", "parked", "routed"]


async def test_queue_per_service_display_board_and_ticket_linked_to_its_dossier(intake: Client, api_key: str) -> None:
    """A centre runs one queue per service: a counter calls the next ticket of its own service (this answered 422),
    the display board lists today's waiting and called tickets, and filing a dossier for a called ticket marks it
    served with the dossier code; a ticket not called today is refused with 422 unknown_ticket."""
    client, _ = intake
    headers = auth(api_key)
    url = f"/v1/centres/{OFFICE}"
    services = ["ho-tich", "dat-dai", "ho-tich", "dat-dai", "ho-tich"]
    taken = [(await client.post(f"{url}/tickets", json={"service": s}, headers=headers)).json() for s in services]
    assert [t["number"] for t in taken] == [1, 2, 3, 4, 5]
    land = await client.post(f"{url}/calls", json={"counter": "7", "service": "dat-dai"}, headers=headers)
    assert land.status_code == 200, land.text
    assert (land.json()["number"], land.json()["service"], land.json()["counter"]) == (2, "dat-dai", "7")
    civil = (await client.post(f"{url}/calls", json={"counter": "3", "service": "ho-tich"}, headers=headers)).json()
    assert civil["number"] == 1
    board = (await client.get(f"{url}/tickets", headers=headers)).json()
    assert [(t["number"], t["status"]) for t in board["items"]] == [
        (1, "called"),
        (2, "called"),
        (3, "waiting"),
        (4, "waiting"),
        (5, "waiting"),
    ]
    only_land = (await client.get(f"{url}/tickets", params={"service": "dat-dai"}, headers=headers)).json()
    assert [t["number"] for t in only_land["items"]] == [2, 4]

    filed = await client.post("/v1/dossiers", json=dossier_body(queue_ticket=1), headers=headers)
    assert filed.status_code == 201, filed.text
    served = (await client.get(f"{url}/tickets", params={"status": "served"}, headers=headers)).json()["items"]
    assert [(t["number"], t["dossier_code"]) for t in served] == [(1, filed.json()["code"])]
    waiting = await client.post("/v1/dossiers", json=dossier_body(queue_ticket=3), headers=headers)
    assert (waiting.status_code, waiting.json()["code"]) == (422, "unknown_ticket")
    other = await client.get("/v1/centres/00073.TTHCC/tickets", headers=headers)
    assert other.status_code == 403
