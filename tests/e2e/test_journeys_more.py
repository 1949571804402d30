"""More journeys through the four real processes: a transfer, an inter-agency chain, an overdue dossier."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client, update_document
from tests.e2e.conftest import OPERATOR, api_key, official
from tests.e2e.test_journey import FILED_AT, body, sms_for
from tests.support.infra import MONGO
from tests.support.processes import System
from tests.support.waiting import eventually


async def _now(value: Any) -> Any:
    return value


async def _file(http: httpx.AsyncClient, system: System, procedure: str, subject: str | None = None) -> dict[str, Any]:
    key = await api_key(system, FILED_AT)
    r = await http.post(
        f"{system['intake'].url}/v1/dossiers",
        json=body(procedure, subject=subject),
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _case(http: httpx.AsyncClient, system: System, code: str, office: str) -> dict[str, Any]:
    """The case of ``code`` at ``office``, once resolution has opened it."""
    r = await eventually(
        lambda: http.get(f"{system['resolution'].url}/v1/dossiers/{code}", headers=official(office, "clerk")),
        until=lambda x: x.status_code == 200 and x.json()["office_code"] == office,
        timeout=60,
    )
    return dict(r.json())


async def _act(http: httpx.AsyncClient, system: System, code: str, office: str, *steps: tuple[str, str]) -> None:
    for action, role in steps:
        r = await http.post(
            f"{system['resolution'].url}/v1/dossiers/{code}/{action}",
            json={"reason": "e2e"},
            headers=official(office, role),
        )
        assert r.status_code == 200, (office, action, r.text)


async def _timeline(
    http: httpx.AsyncClient, system: System, filed: dict[str, Any], *, until: Any, timeout: float = 60
) -> list[dict[str, Any]]:
    r = await eventually(
        lambda: http.get(f"{system['notify'].url}/v1/track/{filed['code']}", params={"token": filed["tracking_token"]}),
        until=lambda x: x.status_code == 200 and until([e["kind"] for e in x.json()["timeline"]]),
        timeout=timeout,
    )
    return list(r.json()["timeline"])


async def _sms_count(system: System, code: str, count: int) -> list[dict[str, Any]]:
    return list(await eventually(lambda: _now(sms_for(system, code)), until=lambda ls: len(ls) >= count, timeout=30))


async def test_transfer_to_another_office_reaches_the_citizen(system: System) -> None:
    """The first office's leader transfers (wrong office): routing picks another competent office, never the same,
    records both hand-offs; the case opens there, and the citizen is told of the transfer and the new office."""
    async with httpx.AsyncClient(timeout=30) as http:
        filed = await _file(http, system, "LT-HT-001")
        code = filed["code"]
        first = await _case(http, system, code, "00070.UBND")
        r = await http.post(
            f"{system['resolution'].url}/v1/dossiers/{code}/transfer",
            json={"reason": "sai thẩm quyền", "exclude_offices": ["00070.UBND"]},
            headers=official("00070.UBND", "leader"),
        )
        assert r.status_code == 200 and r.json()["status"] == "transferred", r.text

        route_url = f"{system['routing'].url}/v1/dossiers/{first['dossier_id']}/route"
        auth = OPERATOR
        route = await eventually(
            lambda: http.get(route_url, headers=auth),
            until=lambda x: x.status_code == 200 and len(x.json()["handoffs"]) == 2,
            timeout=60,
        )
        handoffs = route.json()["handoffs"]
        second_office = handoffs[1]["office_code"]
        assert handoffs[0]["office_code"] == "00070.UBND" and second_office != "00070.UBND"
        assert second_office.endswith(".UBND")
        office = (await http.get(f"{system['routing'].url}/v1/offices/{second_office}")).json()
        assert office["province_code"] == "01", "a transfer stays within the competent province"

        second = await _case(http, system, code, second_office)
        assert second["status"] in ("received", "accepted")
        await _act(http, system, code, second_office, ("accept", "clerk"))
        timeline = await _timeline(http, system, filed, until=lambda kinds: kinds.count("accepted") == 1)
        kinds = [e["kind"] for e in timeline]
        assert kinds[:2] == ["received", "routed"] and "transferred" in kinds
        after = kinds[kinds.index("transferred") + 1 :]
        assert after[:1] == ["routed"] and "accepted" in after, kinds
        sms = await _sms_count(system, code, len(kinds))
        assert len(sms) == len(kinds), "one SMS per change, transfer included"
        worklist = await http.get(f"{system['resolution'].url}/v1/worklist", headers=official("00070.UBND", "clerk"))
        assert code not in json.dumps(worklist.json()), "the transferred case left the first office's worklist"


async def test_inter_agency_chain_birth_residence_insurance(system: System) -> None:
    """Birth registration → permanent residence (commune police) → child's health insurance card (province social
    insurance): each approved step routes the next; the citizen follows the whole chain on one code."""
    offices = ["00070.UBND", "00070.CA", "P01.BHXH"]
    async with httpx.AsyncClient(timeout=30) as http:
        filed = await _file(http, system, "LT-HT-001")
        code = filed["code"]
        for office in offices:
            await _case(http, system, code, office)
            await _act(
                http, system, code, office, ("accept", "clerk"), ("process", "specialist"), ("approve", "leader")
            )
        timeline = await _timeline(http, system, filed, until=lambda kinds: kinds.count("result_ready") == len(offices))
        kinds = [e["kind"] for e in timeline]
        assert kinds.count("routed") == len(offices), kinds
        assert kinds.count("accepted") == len(offices), kinds
        assert kinds[0] == "received" and kinds[-1] == "result_ready"
        # the steps happen in order: every step's acceptance comes after its routing
        routed_at = [i for i, k in enumerate(kinds) if k == "routed"]
        ready_at = [i for i, k in enumerate(kinds) if k == "result_ready"]
        assert all(r < d for r, d in zip(routed_at, ready_at, strict=True)), kinds
        assert all(d < r for d, r in zip(ready_at, routed_at[1:], strict=False)), kinds
        sms = await _sms_count(system, code, len(kinds))
        assert len(sms) == len(kinds)


async def test_overdue_dossier_gets_flagged_apology_and_new_appointment(system: System) -> None:
    """The legal time runs out: the case is flagged overdue (once), the citizen is told; the leader's apology letter
    sets a new appointment that the citizen receives too.

    Weeks cannot pass in a test: the case's due date is moved into the past in resolution's store, as if the
    legal time had elapsed. Everything after that (scheduler, events, SMS) runs in the real processes.
    """
    async with httpx.AsyncClient(timeout=30) as http:
        filed = await _file(http, system, "LT-XD-001", subject="00070")
        code = filed["code"]
        case = await _case(http, system, code, await _office_of(http, system, filed))
        office = case["office_code"]
        await _act(http, system, code, office, ("accept", "clerk"))

        client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
        try:
            cases = client[f"{system.prefix}_resolution"]["cases"]
            past = datetime.now(UTC) - timedelta(minutes=1)
            case_id = (await cases.find_one({"dossier_code": code}))["_id"]
            # through the store's one write primitive, as the service itself writes (docs/adr/0003)
            done = await update_document(cases, case_id, {"$set": {"due_at": past}})
            assert done is not None
        finally:
            client.close()

        url = f"{system['resolution'].url}/v1/dossiers/{code}"
        flagged = await eventually(
            lambda: http.get(url, headers=official(office, "clerk")), until=lambda x: x.json()["overdue"], timeout=30
        )
        assert flagged.json()["overdue_at"]
        r = await http.post(f"{url}/apology", json={"reason": "cần xác minh thêm"}, headers=official(office, "leader"))
        assert r.status_code == 200, r.text
        apology = r.json()
        assert not apology["overdue"] and "PHIẾU XIN LỖI" in apology["apology"]["letter"]
        new_due = datetime.fromisoformat(apology["due_at"])
        assert new_due > datetime.now(UTC)

        timeline = await _timeline(http, system, filed, until=lambda kinds: "apology" in kinds)
        kinds = [e["kind"] for e in timeline]
        assert kinds.count("overdue") == 1 and kinds.count("apology") == 1, kinds
        entry = next(e for e in timeline if e["kind"] == "apology")
        assert datetime.fromisoformat(entry["due_at"]) == new_due, "the citizen sees the new appointment"
        sms = await _sms_count(system, code, len(kinds))
        assert len(sms) == len(kinds), "one SMS per change, overdue and apology included"
        (apology_sms,) = [s for s in sms if s["event_id"] == entry["event_id"]]
        assert code in apology_sms["text"]


async def _office_of(http: httpx.AsyncClient, system: System, filed: dict[str, Any]) -> str:
    """The office routing chose for the dossier (its operator API)."""
    r = await eventually(
        lambda: http.get(
            f"{system['routing'].url}/v1/dossiers/{filed['id']}/route",
            headers=OPERATOR,
        ),
        until=lambda x: x.status_code == 200 and x.json()["current_office_code"],
        timeout=60,
    )
    return str(r.json()["current_office_code"])


async def test_citizen_app_gets_live_updates_over_sse(system: System) -> None:
    """The citizen's app holds the SSE stream: a snapshot first, then the official's action arrives as an update."""
    async with httpx.AsyncClient(timeout=30) as http:
        filed = await _file(http, system, "LT-HT-001")
        code = filed["code"]
        await _case(http, system, code, "00070.UBND")
        await _timeline(http, system, filed, until=lambda kinds: "routed" in kinds)
        url = f"{system['notify'].url}/v1/track/{code}/stream"
        events: list[tuple[str, dict[str, Any]]] = []

        async def listen() -> None:
            name = ""
            async with http.stream("GET", url, params={"token": filed["tracking_token"]}) as r:
                assert r.status_code == 200
                async for line in r.aiter_lines():
                    if line.startswith("event:"):
                        name = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        events.append((name, json.loads(line.split(":", 1)[1])))
                        if name == "update":
                            return

        listener = asyncio.create_task(listen())
        await eventually(lambda: _now(events), until=lambda e: any(n == "snapshot" for n, _ in e), timeout=30)
        await _act(http, system, code, "00070.UBND", ("accept", "clerk"))
        await asyncio.wait_for(listener, timeout=30)
        (snapshot,) = [d for n, d in events if n == "snapshot"]
        kinds = (
            [e["kind"] for e in snapshot["timeline"]] if isinstance(snapshot, dict) else [e["kind"] for e in snapshot]
        )
        assert kinds[:2] == ["received", "routed"]
        assert events[-1][0] == "update" and events[-1][1]["kind"] == "accepted"
