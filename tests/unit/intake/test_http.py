"""Intake's HTTP surface over an in-memory store: auth, rate limit, error codes, body limit, OpenAPI docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.intake import handlers
from services.intake.bootstrap import bootstrap
from services.intake.entrypoints import models
from services.intake.settings import IntakeSettings
from shared.reference.procedures import Catalogue, load_catalogue
from tests.support.filings import birth_registration
from tests.unit.intake.fakes import Fakes

OFFICE = "00070.TTHCC"


def offline_catalogue() -> Catalogue:
    """The real catalogue with birth registration marked as not fileable online."""
    raw = load_catalogue().model_dump(mode="json")
    for procedure in raw["procedures"]:
        if procedure["code"] == "LT-HT-001":
            procedure["online"] = "none"
    return Catalogue.model_validate(raw)


def settings(**extra: Any) -> IntakeSettings:
    """Settings that never reach real infrastructure (the lifespan is not started in these tests)."""
    return IntakeSettings(
        kafka_bootstrap_servers="127.0.0.1:1",
        mongodb_url="mongodb://127.0.0.1:1",
        relay_enabled=False,
        log_format="console",
        **extra,
    )


@pytest.fixture
def store() -> Fakes:
    """Empty in-memory repositories."""
    return Fakes()


@pytest.fixture
async def api_key(store: Fakes) -> str:
    """A key of the Hoàn Kiếm service centre."""
    _, key = await handlers.create_api_key(OFFICE, keys=store.api_keys, now=datetime.now(UTC))
    return key


def app_for(store: Fakes, s: IntakeSettings, **extra: Any) -> Any:
    """Intake over the in-memory repositories."""
    return bootstrap(s, **store.overrides(s), **extra)


async def client_for(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client calling the app in-process."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        yield client


@pytest.fixture
async def client(store: Fakes) -> AsyncIterator[httpx.AsyncClient]:
    """Intake in memory, with a small rate limit and a catalogue where LT-HT-001 is counter-only."""
    app = app_for(store, settings(rate_limit="30/minute"), catalogue=offline_catalogue())
    async for c in client_for(app):
        yield c


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def dossier(**overrides: Any) -> dict[str, Any]:
    """A complete birth registration filed at the counter."""
    return birth_registration() | overrides


def with_applicant(**fields: Any) -> dict[str, Any]:
    body = dossier()
    body["applicant"] = {**body["applicant"], **fields}
    return body


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (dossier(procedure_code="LT-ZZ-999"), "unknown_procedure"),
        (dossier(procedure_code="X" * 40), "unknown_procedure"),
        (with_applicant(address={"ward_code": "99999"}), "unknown_ward"),
        (dossier(procedure_code="LT-KD-001", subject={"ward_code": "12345"}), "unknown_ward"),
        (with_applicant(citizen_id="00120301234"), "invalid_citizen_id"),
        (with_applicant(citizen_id="003203012345"), "invalid_citizen_id"),
        (with_applicant(citizen_id="0" * 40), "invalid_citizen_id"),
        (with_applicant(phone="0212345678"), "invalid_phone"),
        (dossier(documents=[dossier()["documents"][0]]), "missing_documents"),
        (dossier(documents=[{**dossier()["documents"][0], "size": 0}]), "invalid_document"),
        (dossier(documents=[{**dossier()["documents"][0], "sha256": "XYZ"}]), "invalid_document"),
        (dossier(channel="online"), "procedure_not_online"),
        (dossier(procedure_code="LT-XD-001"), "missing_subject"),
        (dossier(channel="fax"), "validation_error"),
        (dossier(unexpected=1), "validation_error"),
    ],
)
async def test_each_validation_rule_answers_422_with_its_code(
    client: httpx.AsyncClient, api_key: str, store: Fakes, body: dict[str, Any], code: str
) -> None:
    """Bad input gets 422 with the rule's code and a message naming the field; nothing is stored."""
    response = await client.post("/v1/dossiers", json=body, headers=auth(api_key))
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == code, error
    assert ":" in error["message"]
    assert store.dossiers.items == {}


async def test_a_valid_dossier_is_received(client: httpx.AsyncClient, api_key: str) -> None:
    """201 with code, due date and tracking token; GET shows the filing office's view."""
    response = await client.post("/v1/dossiers", json=dossier(), headers=auth(api_key))
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["code"].startswith(f"{OFFICE}-") and receipt["tracking_token"]
    view = await client.get(f"/v1/dossiers/{receipt['code']}", headers=auth(api_key))
    assert view.json()["status"] == "received" and view.json()["history"][0]["office_code"] == OFFICE


async def test_malformed_json_and_oversized_bodies(client: httpx.AsyncClient, api_key: str) -> None:
    """A broken JSON body → 422 malformed_json; a body over the limit → 413 payload_too_large (even unauthenticated)."""
    headers = {**auth(api_key), "content-type": "application/json"}
    broken = await client.post("/v1/dossiers", content=b'{"procedure_code": ', headers=headers)
    assert (broken.status_code, broken.json()["code"]) == (422, "malformed_json")
    huge = await client.post("/v1/dossiers", content=b"x" * 1_100_000, headers={"content-type": "application/json"})
    assert (huge.status_code, huge.json()["code"]) == (413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 60_000  # no Content-Length: only the bytes received tell the size

    chunked = await client.post("/v1/dossiers", content=chunks(), headers=headers)
    assert "content-length" not in chunked.request.headers
    assert (chunked.status_code, chunked.json()["code"]) == (413, "payload_too_large")


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer lt_nope_nope"])
async def test_requests_without_a_valid_key_are_unauthorized(client: httpx.AsyncClient, header: str | None) -> None:
    """Missing, malformed and unknown keys all answer 401 unauthorized."""
    headers = {"Authorization": header} if header else {}
    response = await client.post("/v1/dossiers", json=dossier(), headers=headers)
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")


async def test_revoked_key_stops_at_once(client: httpx.AsyncClient, api_key: str, store: Fakes) -> None:
    """A key works (and is cached), is revoked, and the very next request is refused."""
    assert (await client.get("/v1/dossiers/none", headers=auth(api_key))).status_code == 404
    await store.api_keys.revoke(api_key.split("_")[1], datetime.now(UTC))
    assert (await client.get("/v1/dossiers/none", headers=auth(api_key))).status_code == 401


async def test_rate_limit_per_key(store: Fakes, api_key: str) -> None:
    """Past the configured rate a key gets 429 rate_limited; another key of the same office is not affected."""
    app = app_for(store, settings(rate_limit="3/minute"))
    _, other_key = await handlers.create_api_key(OFFICE, keys=store.api_keys, now=datetime.now(UTC))
    async for client in client_for(app):
        ticket = {"service": "a"}
        url = f"/v1/centres/{OFFICE}/tickets"
        statuses = [(await client.post(url, json=ticket, headers=auth(api_key))).status_code for _ in range(4)]
        assert statuses == [201, 201, 201, 429]
        limited = await client.post(url, json=ticket, headers=auth(api_key))
        assert limited.json()["code"] == "rate_limited"
        ok = await client.post(url, json=ticket, headers=auth(other_key))
        assert ok.status_code == 201


async def test_queue_endpoints(client: httpx.AsyncClient, api_key: str) -> None:
    """Take, call and no-show over HTTP; another centre's queue is forbidden; an empty queue is 404 queue_empty."""
    h = auth(api_key)
    assert (await client.post(f"/v1/centres/{OFFICE}/calls", json={"counter": "1"}, headers=h)).json()[
        "code"
    ] == "queue_empty"
    ticket = (await client.post(f"/v1/centres/{OFFICE}/tickets", json={"service": "ho-tich"}, headers=h)).json()
    called = (await client.post(f"/v1/centres/{OFFICE}/calls", json={"counter": "1"}, headers=h)).json()
    assert called["number"] == ticket["number"] == 1 and called["counter"] == "1"
    gone = await client.post(f"/v1/centres/{OFFICE}/tickets/1/no-show", headers=h)
    assert gone.json()["status"] == "no_show"
    other = await client.post("/v1/centres/00073.TTHCC/tickets", json={"service": "x"}, headers=h)
    assert (other.status_code, other.json()["code"]) == (403, "forbidden")


async def test_procedures_and_due_dates(client: httpx.AsyncClient) -> None:
    """The catalogue is public; due dates follow the legal clock, Tết 2027 included; bad input is a 4xx with a code."""
    procedures = (await client.get("/v1/procedures")).json()
    assert len(procedures) >= 40 and {p["code"] for p in procedures} >= {"LT-HT-001", "LT-KD-001", "LT-XD-001"}
    one = (await client.get("/v1/procedures/LT-KD-001")).json()
    assert one["processing_days"] == 3 and one["required_documents"][0]["code"]
    by_national = await client.get(f"/v1/procedures/{procedures[0]['national_code']}")
    assert by_national.json()["code"] == procedures[0]["code"]
    due = await client.get("/v1/procedures/LT-KD-001/due-date", params={"received_at": "2027-02-03T10:00:00+07:00"})
    assert due.json()["due_at"] == "2027-02-15T10:00:00+07:00"
    naive = await client.get("/v1/procedures/LT-KD-001/due-date", params={"received_at": "2027-02-03T10:00:00"})
    assert (naive.status_code, naive.json()["code"]) == (422, "naive_datetime")
    garbage = await client.get("/v1/procedures/LT-KD-001/due-date", params={"received_at": "tomorrow"})
    assert (garbage.status_code, garbage.json()["code"]) == (422, "validation_error")
    unknown = await client.get("/v1/procedures/LT-ZZ-999/due-date", params={"received_at": "2027-02-03T10:00:00Z"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_procedure")


def _schemas_of_intake_models(spec: dict[str, Any]) -> dict[str, Any]:
    names = {name for name in dir(models) if isinstance(getattr(models, name), type)}
    return {name: schema for name, schema in spec["components"]["schemas"].items() if name in names}


async def test_openapi_documents_every_field_with_an_example(client: httpx.AsyncClient) -> None:
    """Every property of intake's request/response schemas has a description and an example."""
    spec = (await client.get("/openapi.json")).json()
    schemas = _schemas_of_intake_models(spec)
    assert {"DossierIn", "Receipt", "DossierView", "ProcedureOut", "TicketOut"} <= set(schemas)
    undocumented = [
        f"{name}.{field}"
        for name, schema in schemas.items()
        for field, prop in schema.get("properties", {}).items()
        if not prop.get("description") or not (prop.get("examples") or "example" in prop)
    ]
    assert undocumented == []
    paths = spec["paths"]
    assert "Idempotency-Key" in {p["name"] for p in paths["/v1/dossiers"]["post"]["parameters"]}
    assert {"401", "409", "413", "422", "429"} <= set(paths["/v1/dossiers"]["post"]["responses"])


@pytest.mark.parametrize(
    "received_at",
    [
        "0256-07-16T05:47:13Z",  # seen answering 500 against the running system
        "0001-01-01T00:00:00+14:00",  # converting it to Vietnam time overflows
        "1999-12-31T10:00:00+07:00",
        "9999-12-31T23:59:59-12:00",
        "2101-01-02T10:00:00+07:00",
        "2100-12-31T10:00:00+07:00",  # valid itself, but three working days later is beyond the calendar
    ],
)
async def test_due_date_outside_the_supported_calendar_is_422(client: httpx.AsyncClient, received_at: str) -> None:
    """A receipt time the legal clock has no day-off data for is a clear 422 date_out_of_range, never a 500."""
    r = await client.get("/v1/procedures/LT-KD-001/due-date", params={"received_at": received_at})
    assert (r.status_code, r.json()["code"]) == (422, "date_out_of_range"), r.text
    assert "2100" in r.json()["message"]


async def test_ticket_number_out_of_range_is_422(client: httpx.AsyncClient, api_key: str) -> None:
    """A ticket number beyond any integer the store takes is 422, not a 500."""
    r = await client.post(f"/v1/centres/{OFFICE}/tickets/9223372036854775808/no-show", headers=auth(api_key))
    assert (r.status_code, r.json()["code"]) == (422, "validation_error"), r.text


async def test_clerk_errors_are_vietnamese_by_default_and_english_on_request(
    client: httpx.AsyncClient, api_key: str
) -> None:
    """A clerk's mistakes are explained in Vietnamese unless the app asks for English (Accept-Language)."""
    bad = with_applicant(citizen_id="00120301234")
    vi = (await client.post("/v1/dossiers", json=bad, headers=auth(api_key))).json()
    assert (vi["code"], vi["message"]) == ("invalid_citizen_id", "applicant.citizen_id: phải gồm đúng 12 chữ số")
    en = await client.post("/v1/dossiers", json=bad, headers={**auth(api_key), "Accept-Language": "en"})
    assert en.json()["message"] == "applicant.citizen_id: must be exactly 12 digits"
    missing = (await client.get("/v1/procedures/LT-ZZ-999")).json()
    assert missing["message"] == "không có thủ tục 'LT-ZZ-999'"
    unauthorised = (await client.post("/v1/dossiers", json=dossier())).json()
    assert unauthorised["code"] == "unauthorized" and unauthorised["message"].startswith("Chưa xác thực")


async def test_an_office_finds_a_citizens_dossiers_by_keyed_hash(
    client: httpx.AsyncClient, api_key: str, store: Fakes
) -> None:
    """IDs are stored encrypted, yet the filing office finds them by citizen ID; another ID finds nothing;
    a Unicode-digit ID is refused with 422."""
    filed = await client.post("/v1/dossiers", json=dossier(), headers=auth(api_key))
    assert filed.status_code == 201, filed.text
    citizen_id = dossier()["applicant"]["citizen_id"]
    assert citizen_id not in str(store.dossiers.items)
    found = await client.get("/v1/dossiers", params={"citizen_id": citizen_id}, headers=auth(api_key))
    assert [d["code"] for d in found.json()] == [filed.json()["code"]]
    other = await client.get("/v1/dossiers", params={"citizen_id": "079090012345"}, headers=auth(api_key))
    assert other.json() == []
    wide = await client.get("/v1/dossiers", params={"citizen_id": "００１２０３０１２３４５"}, headers=auth(api_key))
    assert wide.status_code == 422
