"""Resolution against real Kafka and FerretDB: transitions, access, clock pause, overdue, signatures, stats."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from services.resolution.bootstrap import bootstrap
from services.resolution.domain.case import TRANSITIONS
from services.resolution.settings import ResolutionSettings
from shared.envelope import CloudEvent
from shared.events import DossierRouted, DossierSupplemented
from shared.reference.legal_clock import default_clock
from shared.topics import Topics
from tests.support import events
from tests.support.identity import bearer
from tests.support.kafka import collect_events, publish
from tests.support.service import drop_databases, running
from tests.support.waiting import eventually

OFFICE, OTHER = "00070.UBND", "00073.UBND"


@pytest.fixture
def settings(base_settings: dict[str, str], isolation: str) -> ResolutionSettings:
    return ResolutionSettings(
        **base_settings,
        mongodb_database=f"{isolation}_resolution",
        overdue_check_interval=0.3,
        metrics_refresh_interval=0.3,
    )


@pytest.fixture
async def client(settings: ResolutionSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(bootstrap(settings)) as c:
        yield c
    await drop_databases(settings.mongodb_url, settings.mongodb_database)


def tok(settings: ResolutionSettings, *roles: str, office: str = OFFICE) -> dict[str, str]:
    return bearer(office, *roles, sub="test")


def routed(*, due_in: timedelta = timedelta(days=5), **fields: Any) -> DossierRouted:
    """A routing decision due ``due_in`` from now, routed now."""
    now = datetime.now(UTC)
    return events.routed(due_at=now + due_in, routed_at=now, **fields)


async def feed(
    settings: ResolutionSettings, data: Any, topic: str = Topics.DOSSIER_ROUTED, event: CloudEvent | None = None
) -> CloudEvent:
    return await publish(settings, topic, data, source="routing", event=event)


async def feed_many(settings: ResolutionSettings, items: list[Any], topic: str = Topics.DOSSIER_ROUTED) -> None:
    """Produce many events through one producer (a producer per event costs a connection each)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for data in items:
            event = CloudEvent(
                source="/lienthong/test",
                type=f"vn.lienthong.{topic}",
                subject=data.dossier_code,
                data=data.model_dump(mode="json"),
            )
            headers = [(k, v.encode()) for k, v in event.headers().items()]
            await producer.send(settings.topic(topic), event.value(), key=data.dossier_id.encode(), headers=headers)
        await producer.flush()
    finally:
        await producer.stop()


async def opened(client: httpx.AsyncClient, settings: ResolutionSettings, data: DossierRouted) -> dict[str, Any]:
    async def get() -> httpx.Response:
        return await client.get(
            f"/v1/dossiers/{data.dossier_id}", headers=tok(settings, "clerk", office=data.office_code or OFFICE)
        )

    return (await eventually(get, until=lambda r: r.status_code == 200)).json()


async def open_case(
    client: httpx.AsyncClient, settings: ResolutionSettings, **fields: Any
) -> tuple[DossierRouted, str]:
    """A routing decision fed to resolution, once its case is open: the decision and the case's URL."""
    data = routed(**fields)
    await feed(settings, data)
    await opened(client, settings, data)
    return data, f"/v1/dossiers/{data.dossier_id}"


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
    data, url = await open_case(client, settings)
    r = await client.post(f"{url}/approve", headers=tok(settings, "clerk"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = await client.post(f"{url}/return", headers=tok(settings, "clerk"))
    assert r.status_code == 409 and r.json()["details"][0]["current_status"] == "received"
    assert (await client.get(url, headers=tok(settings, "leader", office=OTHER))).status_code == 404
    assert (await client.post(f"{url}/accept", headers=tok(settings, "leader", office=OTHER))).status_code == 404
    assert (await client.get(url)).status_code == 401
    bad_inputs = [
        client.get("/v1/worklist", params={"status": "bogus"}, headers=tok(settings, "clerk")),
        client.post(f"{url}/accept", json={"reason": 5, "colour": "red"}, headers=tok(settings, "clerk")),
        client.post(
            f"{url}/apology",
            json={"reason": "x" * 5, "new_due_at": "2030-01-01T10:00:00"},
            headers=tok(settings, "leader"),
        ),
        client.post(f"/v1/dossiers/{data.dossier_code}/rating", params={"token": "citizen-token"}, json={"score": 9}),
        client.post("/v1/results/verify", json={"document": {}}),
    ]
    for response in [await r for r in bad_inputs]:
        assert response.status_code == 422 and response.json()["code"] and response.json()["message"], response.text
    assert (await client.get("/v1/results/no-such-result")).json()["code"] == "not_found"
    assert (await client.get(url, headers={"Authorization": "Bearer not.a.jwt"})).json()["code"] == "unauthorized"


async def test_supplement_pause_shifts_due_date_by_paused_working_hours(
    client: httpx.AsyncClient, settings: ResolutionSettings
) -> None:
    """The new due date is the old one moved later by exactly the working hours between request and supplement."""
    data, url = await open_case(client, settings)
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
    # the store keeps milliseconds; inside working hours the citizen's microseconds move the due date too
    assert abs(new_due - clock.shift_due(old_due, expected_hours)) < timedelta(milliseconds=1)


async def test_overdue_flagged_within_seconds_and_apology(
    client: httpx.AsyncClient, settings: ResolutionSettings
) -> None:
    """A dossier whose due date passes is flagged (once) within seconds; the leader's apology sets a new date."""
    _data, url = await open_case(client, settings, due_in=timedelta(seconds=2))
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
    _data, url = await open_case(client, settings)
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


def supplement_of(data: DossierRouted) -> DossierSupplemented:
    """The citizen's supplement for ``data``, received now."""
    return DossierSupplemented(
        dossier_id=data.dossier_id,
        dossier_code=data.dossier_code,
        supplement_id=f"s-{data.dossier_id[:6]}",
        documents=1,
        received_at=datetime.now(UTC),
    )


async def test_every_allowed_transition_for_every_role_and_terminal_states_refuse_all(
    client: httpx.AsyncClient, settings: ResolutionSettings
) -> None:
    """Each (action, source status, allowed role) succeeds over HTTP with one status event; then every action on
    the resulting terminal cases answers 409 illegal_transition with the current status, and roles without the
    action answer 403."""
    plans: list[tuple[str, str, str, DossierRouted]] = []
    for transition in TRANSITIONS.values():
        roles = sorted(transition.roles) or ["system"]
        sources = sorted(transition.sources)
        # every source status once, every allowed role at least once (cycling over the roles)
        for i in range(max(len(sources), len(roles))):
            source, role = sources[i % len(sources)], roles[i % len(roles)]
            plans.append((transition.action, source.value, role, routed(procedure="LT-KD-001")))
    assert {(a, s) for a, s, _, _ in plans} == {(t.action, s.value) for t in TRANSITIONS.values() for s in t.sources}
    await feed_many(settings, [data for *_, data in plans])
    await eventually(
        lambda: client.get("/v1/worklist", params={"limit": 200}, headers=tok(settings, "clerk")),
        until=lambda r: len(r.json()["items"]) == len(plans),
        timeout=30,
    )

    async def post(data: DossierRouted, action: str, role: str) -> dict[str, Any]:
        url = f"/v1/dossiers/{data.dossier_id}/{URL_ACTION.get(action, action)}"
        r = await client.post(url, json={"reason": "test"}, headers=tok(settings, role))
        assert r.status_code == 200, (action, role, r.text)
        return r.json()  # type: ignore[no-any-return]

    # bring every case to its source status (cases in parallel, steps in order); supplements go through Kafka
    expected_events = 0
    for step in range(3):
        steps, waiting = [], []
        for action, source, _, data in plans:
            path = PATH_TO[source] + (["supplied"] if action == "supplement_received" else [])
            if step < len(path):
                expected_events += 1
                if path[step] == "supplied":
                    waiting.append(data)
                else:
                    steps.append(post(data, path[step], ROLE_FOR[path[step]]))
        await asyncio.gather(*steps)
        await feed_many(settings, [supplement_of(d) for d in waiting], Topics.DOSSIER_SUPPLEMENTED)
        for data in waiting:
            await eventually(
                lambda d=data: client.get(f"/v1/dossiers/{d.dossier_id}", headers=tok(settings, "clerk")),
                until=lambda r: r.json()["status"] == "supplement_received",
            )

    async def act(action: str, source: str, role: str, data: DossierRouted) -> None:
        case = (await client.get(f"/v1/dossiers/{data.dossier_id}", headers=tok(settings, "clerk"))).json()
        if action == "supplement_received":
            assert (case["status"], case["history"][-1]["action"]) == ("supplement_received", action)
            return
        assert case["status"] == source, (action, source, role)
        body = await post(data, action, role)
        assert body["status"] == TRANSITIONS[action].target.value
        assert (body["history"][-1]["action"], body["history"][-1]["by"]) == (action, "test")

    await asyncio.gather(*(act(*plan) for plan in plans))
    expected_events += sum(1 for action, *_ in plans if action != "supplement_received")
    events = await collect_events(
        settings.kafka_bootstrap_servers, settings.topic(Topics.DOSSIER_STATUS), count=expected_events, timeout=40
    )
    assert len(events) == expected_events
    last = {e.data["dossier_id"]: e.data for e in events}
    for action, _, _, data in plans:
        assert last[data.dossier_id]["action"] == action
        assert last[data.dossier_id]["status"] == TRANSITIONS[action].target.value

    # forbidden samples: every action on a case in each terminal status is illegal, whatever the role
    everyone = tok(settings, "clerk", "specialist", "leader")
    terminal = {
        TRANSITIONS[a].target.value: d for a, _, _, d in plans if a in {"transfer", "reject", "return", "withdraw"}
    }

    async def illegal(current: str, data: DossierRouted, other: str) -> None:
        r = await client.post(f"/v1/dossiers/{data.dossier_id}/{URL_ACTION.get(other, other)}", headers=everyone)
        assert (r.status_code, r.json()["code"]) == (409, "illegal_transition"), (current, other)
        assert r.json()["details"][0]["current_status"] == current

    await asyncio.gather(
        *(illegal(c, d, other) for c, d in terminal.items() for other in TRANSITIONS if other != "supplement_received")
    )
    assert set(terminal) == {"transferred", "refused", "returned", "withdrawn"}

    # roles without the action are refused before anything changes
    fresh = routed(procedure="LT-KD-001")
    await feed(settings, fresh)
    await opened(client, settings, fresh)
    for action, transition in TRANSITIONS.items():
        for role in {"clerk", "specialist", "leader", "operations"} - transition.roles if transition.roles else ():
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


# the seeded data set: office, procedure (legal days), commune, channel, past due?, actions, rating
A, B, H = OFFICE, OTHER, "26506.UBND"  # two Hà Nội wards and one ward of Hồ Chí Minh City
KD, XD = ("LT-KD-001", 3), ("LT-XD-001", 15)  # fully online / partly online procedures
FULL = ["accept", "process", "approve", "return"]
SEEDS: list[tuple[str, tuple[str, int], str, str, bool, list[str], int | None]] = [
    (A, KD, "00070", "online", False, FULL, 5),  # 0
    (A, KD, "00070", "online", False, FULL, 3),  # 1
    (A, XD, "00073", "counter", False, ["accept", "process", "approve"], None),  # 2
    (A, XD, "00076", "online", False, ["accept"], None),  # 3
    (A, KD, "00070", "counter", False, [], None),  # 4
    (A, KD, "00073", "postal", True, [], None),  # 5
    (A, XD, "00070", "online", True, FULL, 2),  # 6
    (A, KD, "00076", "counter", False, ["reject"], None),  # 7
    (B, KD, "00073", "online", False, ["accept", "transfer", "route-to-A"], None),  # 8
    (B, XD, "00073", "counter", True, ["apology"], None),  # 9
    (B, KD, "00076", "online", False, ["request-supplement"], None),  # 10
    (B, XD, "00070", "counter", False, FULL, 4),  # 11
    (H, KD, "26506", "online", False, FULL, 4),  # 12
]
ROLE_OF = {"accept": "clerk", "process": "specialist", "approve": "leader", "return": "clerk", "reject": "leader"}
ROLE_OF |= {"transfer": "leader", "apology": "leader", "request-supplement": "specialist"}
# counted by hand from SEEDS (docs/operations-centre.md has the definitions)
HAND_TOTALS = {
    "received": 13,  # dossier 8 has two cases (B, then A): one dossier
    "resolved": 7,  # 0 1 2 6 7 11 12
    "resolved_on_time": 6,
    "resolved_late": 1,  # 6
    "open": 7,  # 2 (result ready) 3 4 5 8 9 10
    "running": 5,  # 3 4 5 8 9 (10 waits for a supplement)
    "overdue_now": 1,  # 5 (9 was apologised for with a new date)
    "near_due": 0,
    "refused": 1,
    "refused_with_reason": 1,
    "online_full": 5,  # 0 1 8 10 12
    "online_partial": 2,  # 3 6
    "rated": 5,
    "satisfaction": 3.6,  # (5 + 3 + 2 + 4 + 4) / 5
    "satisfied_share": 0.6,
    "apologies": 1,
    "supplement_requests": 1,
    "signed_results": 6,
    "ever_late": 3,  # 5 6 9
    "apologised_late": 1,
}
HAND_OFFICES = {A: (9, 5, 1, 5, 1), B: (4, 1, 0, 2, 0), H: (1, 1, 0, 0, 0)}  # received resolved late open overdue
HAND_PROCEDURES = {"LT-KD-001": 8, "LT-XD-001": 5}
HAND_COMMUNES = {"00070": 5, "00073": 4, "00076": 3, "26506": 1}


async def seed_operations(client: httpx.AsyncClient, settings: ResolutionSettings) -> list[dict[str, Any]]:
    """Feed SEEDS through Kafka and act on them over HTTP; returns the plan with observed finishing times."""
    now = datetime.now(UTC)
    plan = []
    for office, (procedure, days), ward, channel, late, actions, rating in SEEDS:
        data = routed(
            office=office,
            procedure=procedure,
            processing_days=days,
            ward=ward,
            channel=channel,
            received_at=now - timedelta(days=3),
            due_in=timedelta(hours=-1) if late else timedelta(days=20),
        )
        plan.append({"data": data, "late": late, "actions": actions, "rating": rating})
    await feed_many(settings, [p["data"] for p in plan])
    for p in plan:
        data = p["data"]
        await eventually(
            lambda d=data: client.get(
                f"/v1/dossiers/{d.dossier_id}", headers=tok(settings, "clerk", office=d.office_code)
            ),
            until=lambda r, late=p["late"]: r.status_code == 200 and (r.json()["overdue"] or not late),
        )
        for action in p["actions"]:
            if action == "route-to-A":  # what routing does after a transfer: a new decision, another office
                again = data.model_copy(
                    update={"decision_id": str(uuid.uuid4()), "office_code": A, "previous_office_code": B}
                )
                await feed(settings, again)
                await opened(client, settings, again)
                continue
            r = await client.post(
                f"/v1/dossiers/{data.dossier_id}/{action}",
                json={"reason": "kiểm tra"},
                headers=tok(settings, ROLE_OF[action], office=data.office_code),
            )
            assert r.status_code == 200, r.text
        if p["rating"] is not None:
            r = await client.post(
                f"/v1/dossiers/{data.dossier_code}/rating",
                params={"token": "citizen-token"},
                json={"score": p["rating"]},
            )
            assert r.status_code == 200, r.text
        case = (
            await client.get(f"/v1/dossiers/{data.dossier_id}", headers=tok(settings, "clerk", office=data.office_code))
        ).json()
        p["finished_at"] = case.get("finished_at")
    return plan


async def test_stats_match_a_hand_count(client: httpx.AsyncClient, settings: ResolutionSettings) -> None:
    """Thirteen dossiers seeded through Kafka and the officials' API (three offices in two provinces, overdue,
    apology, refusal, transfer, supplement, ratings): the totals and the figures per office, province, procedure
    and commune equal a count made by hand; an office with too few resolved dossiers is not ranked."""
    plan = await seed_operations(client, settings)
    stats = (await client.get("/v1/stats", headers=tok(settings, "national", office="P01.TTPVHCC"))).json()
    assert stats["scope"] == {"kind": "national", "province_code": None, "office_code": None}
    assert {k: stats["totals"][k] for k in HAND_TOTALS} == HAND_TOTALS
    offices = {r["key"]: r for r in stats["by_office"]}
    got = {
        k: (r["received"], r["resolved"], r["resolved_late"], r["open"], r["overdue_now"]) for k, r in offices.items()
    }
    assert got == HAND_OFFICES
    assert {r["key"]: r["received"] for r in stats["by_province"]} == {"01": 12, "79": 1}
    assert {r["key"]: r["received"] for r in stats["by_procedure"]} == HAND_PROCEDURES
    assert {r["key"]: r["received"] for r in stats["by_commune"]} == HAND_COMMUNES
    # resolution time: working hours receipt → result of the seven resolved dossiers (none paused)
    clock = default_clock()
    hours = sorted(
        clock.working_hours_between(p["data"].received_at, datetime.fromisoformat(p["finished_at"]))
        for p in plan
        if p["finished_at"]
    )
    assert stats["totals"]["avg_resolution_hours"] == pytest.approx(sum(hours) / len(hours), abs=0.011)
    assert stats["totals"]["p90_resolution_hours"] == pytest.approx(hours[-1], abs=0.011)  # nearest rank of 7
    # ranking: A resolved 5 (the minimum sample) and is ranked; B and H resolved one each: not ranked
    assert [(r["key"], r["rank"]) for r in stats["ranking"]["offices"]] == [(A, 1), (B, None), (H, None)]
    assert offices[B]["service_index"]["ranked"] is False
    assert [i["dossier_code"] for i in stats["overdue"]] == [plan[5]["data"].dossier_code]
    assert sum(d["received"] for d in stats["by_day"]) == 13


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one Prometheus sample in an exposition text (None when absent)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    return None


async def test_business_metrics_on_metrics_match_the_figures(
    client: httpx.AsyncClient, settings: ResolutionSettings
) -> None:
    """/metrics carries the business figures next to the technical ones: dossiers received (a transferred
    dossier once), resolved on time / late per outcome, and the overdue gauge, per competent province."""
    await seed_operations(client, settings)

    async def metrics() -> str:
        return (await client.get("/metrics")).text

    text = await eventually(metrics, until=lambda t: sample(t, "lienthong_dossiers_overdue", province="01") == 1.0)
    assert sample(text, "lienthong_dossiers_received_total", province="01") == 12
    assert sample(text, "lienthong_dossiers_received_total", province="79") == 1
    resolved = "lienthong_dossiers_resolved_total"
    assert sample(text, resolved, province="01", timeliness="on_time", outcome="result") == 4  # 0 1 2 11
    assert sample(text, resolved, province="01", timeliness="on_time", outcome="refused") == 1  # 7
    assert sample(text, resolved, province="01", timeliness="late", outcome="result") == 1  # 6
    assert sample(text, resolved, province="79", timeliness="on_time", outcome="result") == 1  # 12
    assert "lienthong_http_requests_total" in text  # the technical ones are still there


async def test_stats_scopes_and_period_validation(client: httpx.AsyncClient, settings: ResolutionSettings) -> None:
    """Operations officials see their own province only (a Hà Nội token cannot see Hồ Chí Minh City and the
    HCM token sees its office — filtered by the competent office's province), leaders their own office, clerks
    nothing; a reversed, malformed or over-long period is a 422 naming the problem."""
    await seed_operations(client, settings)

    async def get(token: dict[str, str], **params: str) -> httpx.Response:
        return await client.get("/v1/stats", headers=token, params=params)

    hanoi = tok(settings, "operations", office="P01.TTPVHCC")
    body = (await get(hanoi)).json()
    assert body["scope"] == {"kind": "province", "province_code": "01", "office_code": None}
    assert {r["key"] for r in body["by_office"]} == {A, B} and body["totals"]["received"] == 12
    for params in ({"province_code": "79"}, {"office_code": H}):
        refused = await get(hanoi, **params)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden", params
    hcm = (await get(tok(settings, "operations", office="P79.TTPVHCC"), province_code="79")).json()
    assert {r["key"] for r in hcm["by_office"]} == {H} and hcm["totals"]["received"] == 1
    leader = (await get(tok(settings, "leader", office=B))).json()
    assert [r["key"] for r in leader["by_office"]] == [B]
    assert (await get(tok(settings, "leader", office=B), office_code=A)).status_code == 403
    assert (await get(tok(settings, "clerk"))).status_code == 403
    assert (await client.get("/v1/stats")).status_code == 401
    # a period long past: nothing received or resolved in it, but "open" and "overdue now" are snapshots
    past = (await get(hanoi, **{"from": "2025-01-01", "to": "2025-01-31"})).json()
    assert (past["totals"]["received"], past["totals"]["resolved"], past["totals"]["overdue_now"]) == (0, 0, 1)
    assert len(past["by_day"]) == 31
    for params, code in (
        ({"from": "2026-12-05", "to": "2026-12-01"}, "invalid_range"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "range_too_long"),
        ({"from": "yesterday"}, "validation_error"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "invalid_date"),
        ({"province_code": "x1"}, "invalid_province"),
        ({"office_code": "nonsense"}, "invalid_office"),
    ):
        r = await get(tok(settings, "national", office="P01.TTPVHCC"), **params)
        assert (r.status_code, r.json()["code"]) == (422, code), (params, r.text)
        assert r.json()["message"]


async def test_refusal_supplement_request_and_transfer_without_reason_are_422(
    client: httpx.AsyncClient, settings: ResolutionSettings
) -> None:
    """Over HTTP a refusal, supplement request or transfer with no reason (or only "-") answers 422
    reason_required and changes nothing; with a reason the refusal goes through and its event carries it."""
    _data, url = await open_case(client, settings)
    for action, role in (("reject", "leader"), ("request-supplement", "specialist"), ("transfer", "leader")):
        for body in (None, {}, {"reason": "-"}, {"reason": "   "}):
            r = await client.post(f"{url}/{action}", json=body, headers=tok(settings, role))
            assert (r.status_code, r.json()["code"]) == (422, "reason_required"), (action, body, r.text)
            assert "reason" in r.json()["message"]
    assert (await client.get(url, headers=tok(settings, "clerk"))).json()["version"] == 1
    r = await client.post(
        f"{url}/reject", json={"reason": "Giấy chứng sinh không hợp lệ"}, headers=tok(settings, "leader")
    )
    assert r.status_code == 200 and r.json()["status"] == "refused"
    [event] = await collect_events(settings.kafka_bootstrap_servers, settings.topic(Topics.DOSSIER_STATUS), count=1)
    assert (event.data["action"], event.data["reason"]) == ("reject", "Giấy chứng sinh không hợp lệ")


async def test_out_of_range_offset_and_dates_are_422(client: httpx.AsyncClient, settings: ResolutionSettings) -> None:
    """A worklist offset beyond the store's integers and an apology date outside the supported calendar are
    422 naming the problem (they answered 500 before)."""
    data = routed()
    await feed(settings, data)
    await opened(client, settings, data)
    r = await client.get("/v1/worklist", params={"offset": "9223372036854775808"}, headers=tok(settings, "clerk"))
    assert (r.status_code, r.json()["code"]) == (422, "validation_error") and r.json()["message"].startswith("offset")
    r = await client.post(
        f"/v1/dossiers/{data.dossier_id}/apology",
        json={"reason": "cần xác minh", "new_due_at": "0256-07-16T05:47:13Z"},
        headers=tok(settings, "leader"),
    )
    assert (r.status_code, r.json()["code"]) == (422, "date_out_of_range"), r.text
