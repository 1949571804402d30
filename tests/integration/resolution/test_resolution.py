"""Resolution against real Kafka and FerretDB: transitions, access, clock pause, overdue, signatures, stats."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.resolution.bootstrap import bootstrap
from services.resolution.domain.case import TRANSITIONS
from services.resolution.entrypoints.auth import mint_dev_token
from services.resolution.settings import ResolutionSettings
from shared.envelope import CloudEvent
from shared.events import DossierRouted, DossierSupplemented
from shared.legal_clock import default_clock
from shared.topics import Topics
from tests.support.kafka import collect_events, produce_event
from tests.support.service import drop_databases, running
from tests.support.waiting import eventually

OFFICE, OTHER = "00070.UBND", "00073.UBND"


@pytest.fixture
def settings(base_settings: dict[str, str], isolation: str) -> ResolutionSettings:
    return ResolutionSettings(**base_settings, mongodb_database=f"{isolation}_resolution", overdue_check_interval=0.3)


@pytest.fixture
async def client(settings: ResolutionSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(bootstrap(settings)) as c:
        yield c
    await drop_databases(settings.mongodb_url, settings.mongodb_database)


def tok(settings: ResolutionSettings, *roles: str, office: str = OFFICE) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_dev_token(settings, office=office, roles=list(roles), sub='test')}"}


def routed(
    *,
    office: str = OFFICE,
    due_in: timedelta = timedelta(days=5),
    procedure: str = "LT-XD-001",
    channel: str = "counter",
    ward: str = "00070",
    received_at: datetime | None = None,
    token: str = "citizen-token",
) -> DossierRouted:
    now = datetime.now(UTC)
    dossier_id = str(uuid.uuid4())
    return DossierRouted(
        dossier_id=dossier_id,
        dossier_code=f"00070.TTHCC-261122-{dossier_id[:4]}",
        decision_id=str(uuid.uuid4()),
        office_code=office,
        office_name="UBND Phường Hoàn Kiếm",
        province_code="01",
        procedure_code=procedure,
        reason="test",
        channel=channel,
        applicant_ward_code=ward,
        received_at=received_at or now,
        due_at=now + due_in,
        processing_days=15,
        tracking_token_sha256=hashlib.sha256(token.encode()).hexdigest(),
        routed_at=now,
    )


async def feed(
    settings: ResolutionSettings, data: Any, topic: str = Topics.DOSSIER_ROUTED, event: CloudEvent | None = None
) -> CloudEvent:
    event = event or CloudEvent(
        source="/lienthong/routing",
        type=f"vn.lienthong.{topic}",
        subject=data.dossier_code,
        data=data.model_dump(mode="json"),
    )
    await produce_event(settings.kafka_bootstrap_servers, settings.topic(topic), event, key=data.dossier_id)
    return event


async def opened(client: httpx.AsyncClient, settings: ResolutionSettings, data: DossierRouted) -> dict[str, Any]:
    async def get() -> httpx.Response:
        return await client.get(
            f"/v1/dossiers/{data.dossier_id}", headers=tok(settings, "clerk", office=data.office_code or OFFICE)
        )

    return (await eventually(get, until=lambda r: r.status_code == 200)).json()


async def test_full_lifecycle_and_status_events(client: httpx.AsyncClient, settings: ResolutionSettings) -> None:
    """accept → process → request supplement → supplement → approve (signed) → return, each emitted once in order."""
    data = routed()
    await feed(settings, data)
    await opened(client, settings, data)
    clerk, specialist, leader = tok(settings, "clerk"), tok(settings, "specialist"), tok(settings, "leader")
    url = f"/v1/dossiers/{data.dossier_id}"
    assert (await client.post(f"{url}/accept", headers=clerk)).json()["status"] == "accepted"
    assert (await client.post(f"{url}/process", headers=specialist)).json()["status"] == "in_process"
    r = await client.post(f"{url}/request-supplement", json={"reason": "thiếu bản vẽ"}, headers=specialist)
    assert r.json()["status"] == "supplement_requested"
    second = await client.post(f"{url}/request-supplement", json={"reason": "again"}, headers=specialist)
    assert second.status_code == 409 and second.json()["code"] == "illegal_transition"
    await feed(
        settings,
        DossierSupplemented(
            dossier_id=data.dossier_id,
            dossier_code=data.dossier_code,
            supplement_id="s1",
            documents=1,
            received_at=datetime.now(UTC),
        ),
        Topics.DOSSIER_SUPPLEMENTED,
    )
    await eventually(
        lambda: client.get(url, headers=clerk), until=lambda r: r.json()["status"] == "supplement_received"
    )
    assert (await client.post(f"{url}/process", headers=specialist)).json()["status"] == "in_process"
    approved = (await client.post(f"{url}/approve", json={"result_title": "Giấy phép xây dựng"}, headers=leader)).json()
    assert approved["status"] == "result_ready" and approved["result"]["signature"]
    assert (await client.post(f"{url}/return", headers=clerk)).json()["status"] == "returned"
    events = await collect_events(settings.kafka_bootstrap_servers, settings.topic(Topics.DOSSIER_STATUS), count=7)
    assert [e.data["action"] for e in events] == [
        "accept",
        "process",
        "request_supplement",
        "supplement_received",
        "process",
        "approve",
        "return",
    ]
    assert [e.data["version"] for e in events] == [2, 3, 4, 5, 6, 7, 8]
    assert events[5].data["result"]["document_id"] == approved["result"]["document_id"]


async def test_forbidden_and_illegal_and_cross_office(client: httpx.AsyncClient, settings: ResolutionSettings) -> None:
    """Wrong role → 403, illegal transition → 409 with the current state, other office → 404, no token → 401."""
    data = routed()
    await feed(settings, data)
    await opened(client, settings, data)
    url = f"/v1/dossiers/{data.dossier_id}"
    r = await client.post(f"{url}/approve", headers=tok(settings, "clerk"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = await client.post(f"{url}/return", headers=tok(settings, "clerk"))
    assert r.status_code == 409 and r.json()["details"][0]["current_status"] == "received"
    assert (await client.get(url, headers=tok(settings, "leader", office=OTHER))).status_code == 404
    assert (await client.post(f"{url}/accept", headers=tok(settings, "leader", office=OTHER))).status_code == 404
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers={"Authorization": "Bearer not.a.jwt"})).json()["code"] == "unauthorized"


async def test_supplement_pause_shifts_due_date_by_paused_working_hours(
    client: httpx.AsyncClient, settings: ResolutionSettings
) -> None:
    """The new due date is the old one moved later by exactly the working hours between request and supplement."""
    data = routed()
    await feed(settings, data)
    await opened(client, settings, data)
    url = f"/v1/dossiers/{data.dossier_id}"
    requested = (
        await client.post(f"{url}/request-supplement", json={"reason": "x"}, headers=tok(settings, "clerk"))
    ).json()
    supplied_at = datetime.now(UTC) + timedelta(days=2)  # the citizen answers two days later
    await feed(
        settings,
        DossierSupplemented(
            dossier_id=data.dossier_id,
            dossier_code=data.dossier_code,
            supplement_id="s",
            documents=2,
            received_at=supplied_at,
        ),
        Topics.DOSSIER_SUPPLEMENTED,
    )
    after = (
        await eventually(
            lambda: client.get(url, headers=tok(settings, "clerk")),
            until=lambda r: r.json()["status"] == "supplement_received",
        )
    ).json()
    clock = default_clock()
    paused_at = datetime.fromisoformat(requested["paused_at"])
    expected_hours = clock.working_hours_between(paused_at, supplied_at)
    old_due, new_due = datetime.fromisoformat(requested["due_at"]), datetime.fromisoformat(after["due_at"])
    assert after["paused_hours"] == pytest.approx(expected_hours, abs=1e-3)
    assert clock.working_hours_between(old_due, new_due) == pytest.approx(expected_hours, abs=1e-3)
    assert new_due == clock.shift_due(old_due, expected_hours)


async def test_overdue_flagged_within_seconds_and_apology(
    client: httpx.AsyncClient, settings: ResolutionSettings
) -> None:
    """A dossier whose due date passes is flagged (once) within seconds; the leader's apology sets a new date."""
    data = routed(due_in=timedelta(seconds=2))
    await feed(settings, data)
    await opened(client, settings, data)
    url = f"/v1/dossiers/{data.dossier_id}"
    flagged = (
        await eventually(
            lambda: client.get(url, headers=tok(settings, "clerk")), until=lambda r: r.json()["overdue"], timeout=10
        )
    ).json()
    assert datetime.fromisoformat(flagged["overdue_at"]) >= datetime.fromisoformat(flagged["due_at"])
    assert (
        await client.post(f"{url}/apology", json={"reason": "cần xác minh"}, headers=tok(settings, "clerk"))
    ).status_code == 403
    r = await client.post(f"{url}/apology", json={"reason": "cần xác minh thêm"}, headers=tok(settings, "leader"))
    assert r.status_code == 200 and not r.json()["overdue"] and "PHIẾU XIN LỖI" in r.json()["apology"]["letter"]
    events = await collect_events(settings.kafka_bootstrap_servers, settings.topic(Topics.DOSSIER_STATUS), count=2)
    assert [e.data["action"] for e in events] == ["overdue", "apology"]
    assert datetime.fromisoformat(events[1].data["due_at"]) > datetime.now(UTC)


async def test_signed_result_verifies_and_tampered_does_not(
    client: httpx.AsyncClient, settings: ResolutionSettings
) -> None:
    """The published result verifies against the office key; any change to it fails verification."""
    data = routed()
    await feed(settings, data)
    await opened(client, settings, data)
    url = f"/v1/dossiers/{data.dossier_id}"
    await client.post(f"{url}/accept", headers=tok(settings, "clerk"))
    await client.post(f"{url}/process", headers=tok(settings, "specialist"))
    result = (
        await client.post(
            f"{url}/approve", json={"result_content": "Cho phép xây dựng nhà 3 tầng"}, headers=tok(settings, "leader")
        )
    ).json()["result"]
    published = (await client.get(f"/v1/results/{result['document_id']}")).json()
    assert "BEGIN PUBLIC KEY" in published["public_key_pem"]
    ok = await client.post(
        "/v1/results/verify", json={"document": published["document"], "signature": published["signature"]}
    )
    assert ok.json() == {"valid": True}
    tampered = {**published["document"], "content": "Cho phép xây dựng nhà 9 tầng"}
    bad = await client.post("/v1/results/verify", json={"document": tampered, "signature": published["signature"]})
    assert bad.json() == {"valid": False}


async def test_redelivered_routed_event_creates_one_case(
    client: httpx.AsyncClient, settings: ResolutionSettings
) -> None:
    """The same routing decision delivered three times opens exactly one case."""
    data = routed()
    event = await feed(settings, data)
    await feed(settings, data, event=event)
    await feed(settings, data, event=event)
    marker = routed()
    await feed(settings, marker)
    await opened(client, settings, marker)
    items = (await client.get("/v1/worklist", params={"limit": 200}, headers=tok(settings, "clerk"))).json()["items"]
    assert len([c for c in items if c["dossier_id"] == data.dossier_id]) == 1


PATH_TO = {
    # actions that bring a fresh case (received) to each source status; "supplied" = the citizen's supplement event
    "received": [],
    "accepted": ["accept"],
    "in_process": ["accept", "process"],
    "supplement_requested": ["request_supplement"],
    "supplement_received": ["request_supplement", "supplied"],
    "result_ready": ["accept", "process", "approve"],
}
ROLE_FOR = {"accept": "clerk", "process": "specialist", "request_supplement": "specialist", "approve": "leader"}
URL_ACTION = {"request_supplement": "request-supplement"}


async def supply(settings: ResolutionSettings, data: DossierRouted) -> None:
    """The citizen's supplement for ``data`` on the supplemented topic."""
    supplement = DossierSupplemented(
        dossier_id=data.dossier_id,
        dossier_code=data.dossier_code,
        supplement_id=f"s-{data.dossier_id[:6]}",
        documents=1,
        received_at=datetime.now(UTC),
    )
    await feed(settings, supplement, Topics.DOSSIER_SUPPLEMENTED)


async def test_every_allowed_transition_for_every_role_and_terminal_states_refuse_all(
    client: httpx.AsyncClient, settings: ResolutionSettings
) -> None:
    """Each (action, source status, allowed role) succeeds over HTTP with one status event; then every action on
    the resulting terminal cases answers 409 illegal_transition with the current status, and roles without the
    action answer 403."""
    plans: list[tuple[str, str, str, DossierRouted]] = []
    for transition in TRANSITIONS.values():
        roles = sorted(transition.roles) or ["system"]
        for source in sorted(transition.sources):
            for role in roles:
                plans.append((transition.action, source.value, role, routed(procedure="LT-KD-001")))
    for *_, data in plans:
        await feed(settings, data)
    for *_, data in plans:
        await opened(client, settings, data)
    # bring every case to its source status; supplements go through Kafka, so they are fed in one batch
    expected_events = 0
    for step in range(3):
        waiting = []
        for action, source, role, data in plans:
            path = PATH_TO[source] + (["supplied"] if action == "supplement_received" else [])
            if step >= len(path):
                continue
            expected_events += 1
            if path[step] == "supplied":
                await supply(settings, data)
                waiting.append(data)
                continue
            url = f"/v1/dossiers/{data.dossier_id}/{URL_ACTION.get(path[step], path[step])}"
            r = await client.post(url, headers=tok(settings, ROLE_FOR[path[step]]))
            assert r.status_code == 200, r.text
        for data in waiting:
            await eventually(
                lambda d=data: client.get(f"/v1/dossiers/{d.dossier_id}", headers=tok(settings, "clerk")),
                until=lambda r: r.json()["status"] == "supplement_received",
            )
    for action, source, role, data in plans:
        url = f"/v1/dossiers/{data.dossier_id}"
        case = (await client.get(url, headers=tok(settings, "clerk"))).json()
        if action == "supplement_received":
            assert (case["status"], case["history"][-1]["action"]) == ("supplement_received", action)
            continue
        assert case["status"] == source, (action, source, role)
        r = await client.post(
            f"{url}/{URL_ACTION.get(action, action)}", json={"reason": "test"}, headers=tok(settings, role)
        )
        expected_events += 1
        assert r.status_code == 200, (action, source, role, r.text)
        body = r.json()
        assert body["status"] == TRANSITIONS[action].target.value
        assert (body["history"][-1]["action"], body["history"][-1]["by"]) == (action, "test")
    events = await collect_events(
        settings.kafka_bootstrap_servers, settings.topic(Topics.DOSSIER_STATUS), count=expected_events, timeout=40
    )
    assert len(events) == expected_events
    last = {e.data["dossier_id"]: e.data for e in events}
    for action, _, _, data in plans:
        assert last[data.dossier_id]["action"] == action
        assert last[data.dossier_id]["status"] == TRANSITIONS[action].target.value
    # forbidden samples: every action on every terminal case is illegal, whatever the role
    terminal = [(a, d) for a, _, _, d in plans if a in {"transfer", "reject", "return", "withdraw"}][::3]
    everyone = tok(settings, "clerk", "specialist", "leader")
    for action, data in terminal:
        current = TRANSITIONS[action].target.value
        for other in TRANSITIONS:
            if other == "supplement_received":
                continue
            r = await client.post(f"/v1/dossiers/{data.dossier_id}/{URL_ACTION.get(other, other)}", headers=everyone)
            assert (r.status_code, r.json()["code"]) == (409, "illegal_transition"), (action, other)
            assert r.json()["details"][0]["current_status"] == current
    # roles without the action are refused before anything changes
    fresh = routed(procedure="LT-KD-001")
    await feed(settings, fresh)
    await opened(client, settings, fresh)
    for action, transition in TRANSITIONS.items():
        if not transition.roles:
            continue
        for role in {"clerk", "specialist", "leader", "operations"} - transition.roles:
            r = await client.post(
                f"/v1/dossiers/{fresh.dossier_id}/{URL_ACTION.get(action, action)}", headers=tok(settings, role)
            )
            assert (r.status_code, r.json()["code"]) == (403, "forbidden"), (action, role)
    assert (await client.get(f"/v1/dossiers/{fresh.dossier_id}", headers=tok(settings, "clerk"))).json()["version"] == 1


async def test_transfer_leaves_the_worklist_and_goes_back_to_routing(
    client: httpx.AsyncClient, settings: ResolutionSettings
) -> None:
    """A transfer emits the hand-off for routing (next step, offices to avoid); the case leaves the worklist,
    and the other office's worklist never showed it."""
    data, stays = routed(), routed()
    for d in (data, stays):
        await feed(settings, d)
        await opened(client, settings, d)
    r = await client.post(
        f"/v1/dossiers/{data.dossier_code}/transfer",
        json={"reason": "sai thẩm quyền", "exclude_offices": [OFFICE]},
        headers=tok(settings, "leader"),
    )
    assert r.json()["status"] == "transferred"
    worklist = (await client.get("/v1/worklist", headers=tok(settings, "clerk"))).json()["items"]
    assert [c["dossier_id"] for c in worklist] == [stays.dossier_id]
    assert (await client.get("/v1/worklist", headers=tok(settings, "clerk", office=OTHER))).json()["items"] == []
    [event] = await collect_events(settings.kafka_bootstrap_servers, settings.topic(Topics.DOSSIER_STATUS), count=1)
    assert (event.data["action"], event.data["exclude_offices"], event.data["transfer_to_next_step"]) == (
        "transfer",
        [OFFICE],
        False,
    )
    assert event.subject == data.dossier_code and event.data["reason"] == "sai thẩm quyền"
