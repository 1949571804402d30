"""Routing's HTTP surface over in-memory repositories: filters, paging, operator auth, errors and route history."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.routing.entrypoints.deps import RoutingDeps
from services.routing.entrypoints.http import router as http_router
from services.routing.settings import RoutingSettings
from shared.events import DossierReceived
from shared.http import install_error_handlers
from shared.identity import TokenVerifier
from tests.support.audit import MemoryAudit
from tests.support.identity import bearer
from tests.unit.routing.fakes import Routing, make_routing, received

ADMIN = bearer("P01.TTPVHCC", "operator", sub="van-hanh")


@pytest.fixture
async def wired() -> AsyncIterator[tuple[httpx.AsyncClient, Routing]]:
    """The routing routes on a bare app, over routing's use cases with in-memory repositories."""
    routing = await make_routing()
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(http_router)
    app.state.deps = RoutingDeps(
        routes=routing.routes,
        statuses=routing.statuses,
        jurisdiction=routing.jurisdiction,
        audit=MemoryAudit("routing"),
        verifier=TokenVerifier.from_settings(RoutingSettings(environment="test")),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        yield client, routing


async def test_offices_are_filtered_and_paged(wired: tuple[httpx.AsyncClient, Routing]) -> None:
    """Province, level, kind and status filters narrow the list; limit/offset page it."""
    client, _ = wired
    everything = (await client.get("/v1/offices", params={"limit": 1})).json()
    assert everything["total"] == 13522 and len(everything["items"]) == 1
    departments = (await client.get("/v1/offices", params={"province_code": "01", "level": "province"})).json()
    assert departments["total"] == 7 and {o["province_code"] for o in departments["items"]} == {"01"}
    params: dict[str, str | int] = {"province_code": "01", "kind": "commune_police", "limit": 50, "offset": 100}
    police = (await client.get("/v1/offices", params=params)).json()
    assert police["total"] == 126 and len(police["items"]) == 26
    assert all(o["code"].endswith(".CA") for o in police["items"])


async def test_operator_status_change_requires_the_token(
    wired: tuple[httpx.AsyncClient, Routing],
) -> None:
    """No or a wrong bearer token is 401; the right one closes the office, which then filters as closed."""
    client, routing = wired
    for headers in ({}, {"Authorization": "Bearer nope"}):
        r = await client.post("/v1/offices/00070.UBND/status", json={"status": "closed"}, headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    assert routing.board.statuses == {}
    r = await client.post("/v1/offices/00070.UBND/status", json={"status": "closed"}, headers=ADMIN)
    assert (
        r.status_code == 200 and r.json()["status"] == "closed" and routing.statuses.status == {"00070.UBND": "closed"}
    )
    closed = (await client.get("/v1/offices", params={"status": "closed"})).json()
    assert [o["code"] for o in closed["items"]] == ["00070.UBND"]


async def test_bad_requests_get_clear_4xx_errors(wired: tuple[httpx.AsyncClient, Routing]) -> None:
    """Unknown office, status, kind or province and out-of-range paging answer 4xx JSON naming the problem."""
    client, _ = wired
    cases = [
        (await client.get("/v1/offices/99999.UBND"), 404, "unknown_office"),
        (await client.post("/v1/offices/99999.UBND/status", json={"status": "closed"}, headers=ADMIN), 404, None),
        (await client.post("/v1/offices/00070.UBND/status", json={"status": "asleep"}, headers=ADMIN), 422, None),
        (await client.get("/v1/offices", params={"kind": "bakery"}), 422, "unknown_kind"),
        (await client.get("/v1/offices", params={"province_code": "99"}), 422, "unknown_province"),
        (await client.get("/v1/offices", params={"limit": 0}), 422, "validation_error"),
        (await client.get("/v1/dossiers/nope/route", headers=ADMIN), 404, "not_found"),
    ]
    for response, status, code in cases:
        body = response.json()
        assert response.status_code == status and body["message"], body
        assert code is None or body["code"] == code


async def _land_routed(
    wired: tuple[httpx.AsyncClient, Routing],
) -> tuple[httpx.AsyncClient, DossierReceived]:
    """A first land registration for a parcel in 00004, routed; (client, the dossier)."""
    client, routing = wired
    data = received("LT-DD-001", subject="00004")
    await routing.receive("r1", data)
    return client, data


async def test_route_history_explains_each_decision(
    wired: tuple[httpx.AsyncClient, Routing],
) -> None:
    """The route look-up (operators only) shows rule, reason, hand-off and load of the chosen office."""
    client, data = await _land_routed(wired)
    assert (await client.get(f"/v1/dossiers/{data.dossier_id}/route")).status_code == 401
    route = (await client.get(f"/v1/dossiers/{data.dossier_id}/route", headers=ADMIN)).json()
    assert route["current_office_code"] == "00004.UBND" and route["parked"] is False
    (decision,) = route["decisions"]
    assert decision["rule_id"] == "R10-subject-location-commune" and "00004" in decision["reason"]
    assert route["handoffs"][0]["office_code"] == "00004.UBND" and route["handoffs"][0]["received_at"] is None
    assert (await client.get("/v1/offices/00004.UBND")).json()["load"] == 1


@pytest.mark.parametrize("offset", ["9223372036854775808", "-1", "1000001"])
async def test_offset_out_of_range_is_422(wired: tuple[httpx.AsyncClient, Routing], offset: str) -> None:
    """Paging offsets beyond what a store's skip takes (or negative) are a 422 naming the parameter."""
    client, _ = wired
    r = await client.get("/v1/offices", params={"offset": offset})
    assert (r.status_code, r.json()["code"]) == (422, "validation_error") and r.json()["message"].startswith("offset")


async def test_route_look_up_accepts_the_dossier_code_too(
    wired: tuple[httpx.AsyncClient, Routing],
) -> None:
    """Like every other API, the route look-up takes the dossier code as well as its id; an unknown one is 404."""
    client, data = await _land_routed(wired)
    by_id = (await client.get(f"/v1/dossiers/{data.dossier_id}/route", headers=ADMIN)).json()
    by_code = await client.get(f"/v1/dossiers/{data.dossier_code}/route", headers=ADMIN)
    assert by_code.status_code == 200 and by_code.json() == by_id and by_id["dossier_code"] == data.dossier_code
    missing = await client.get(f"/v1/dossiers/{data.dossier_code}-9/route", headers=ADMIN)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
