"""Resolution use cases against in-memory fakes: opening cases, the clock pause, overdue, apology, results, rating."""

from __future__ import annotations

import asyncio
import base64
import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.resolution.adapters.signing import OfficeKeys, canonical
from services.resolution.domain.case import Forbidden, IllegalTransition, ReasonRequired
from services.resolution.entrypoints.scheduler import MIN_WAIT, overdue_loop, seconds_until
from services.resolution.handlers import CaseNotFound, Conflict, InvalidInput
from shared.events import DossierSupplemented, RouteOutcome
from shared.reference.legal_clock import VIETNAM_TZ
from tests.support.waiting import eventually
from tests.unit.resolution.fakes import OFFICE, OTHER, make_resolution, routed

CLERK, SPECIALIST, LEADER = frozenset({"clerk"}), frozenset({"specialist"}), frozenset({"leader"})


def local(*args: int) -> datetime:
    """A wall-clock time in Vietnam."""
    return datetime(*args, tzinfo=VIETNAM_TZ)  # type: ignore[misc]


def supplied(case_routed: object, at: datetime) -> DossierSupplemented:
    """The citizen's supplement for a routed dossier, received at ``at``."""
    return DossierSupplemented(
        dossier_id=case_routed.dossier_id,  # type: ignore[attr-defined]
        dossier_code=case_routed.dossier_code,  # type: ignore[attr-defined]
        supplement_id="s1",
        documents=1,
        received_at=at,
    )


async def test_redelivered_decision_opens_one_case_and_parked_opens_none() -> None:
    """The same decision three times gives one case with no event; a parked decision gives no case."""
    resolution, store = make_resolution()
    data = routed()
    for _ in range(3):
        await resolution.on_routed("ev-1", data)
    await resolution.on_routed("ev-2", data.model_copy(update={"decision_id": "p", "outcome": RouteOutcome.PARKED}))
    assert list(store.cases) == [data.decision_id]
    case = store.cases[data.decision_id]
    assert (case["status"], case["version"], case["outbox_pending"]) == ("received", 1, 0)
    assert case["history"][0]["action"] == "routed"


async def test_auto_accept_office_opens_accepted_with_its_event() -> None:
    """At an auto-accept office the case is inserted accepted, with the accept event in the same document."""
    resolution, store = make_resolution(auto_accept_offices=f"{OTHER}, {OFFICE}")
    data = routed()
    await resolution.on_routed("ev", data)
    case = store.cases[data.decision_id]
    assert (case["status"], case["version"], case["outbox_pending"]) == ("accepted", 2, 1)
    [event] = store.events(data.decision_id)
    assert (event["action"], event["status"], event["previous_status"], event["version"]) == (
        "accept",
        "accepted",
        "received",
        2,
    )
    assert [h["action"] for h in case["history"]] == ["routed", "accept"]


async def test_actions_check_office_role_and_state() -> None:
    """Another office's official gets CaseNotFound, a wrong role Forbidden, a wrong state IllegalTransition."""
    resolution, store = make_resolution()
    data = routed()
    await resolution.on_routed("ev", data)
    with pytest.raises(CaseNotFound):
        await resolution.act(data.dossier_id, "accept", office=OTHER, actor="x", roles=LEADER, body={})
    with pytest.raises(Forbidden):
        await resolution.act(data.dossier_id, "accept", office=OFFICE, actor="x", roles=SPECIALIST, body={})
    with pytest.raises(IllegalTransition) as info:
        await resolution.act(data.dossier_id, "return", office=OFFICE, actor="x", roles=CLERK, body={})
    assert info.value.current.value == "received"
    assert store.cases[data.decision_id]["version"] == 1 and not store.events(data.decision_id)


async def test_history_is_appended_and_each_change_emits_one_event() -> None:
    """Every transition appends one history entry and one outbox event with the next version."""
    resolution, store = make_resolution()
    data = routed()
    await resolution.on_routed("ev", data)
    for action, roles in (("accept", CLERK), ("process", SPECIALIST)):
        await resolution.act(data.dossier_code, action, office=OFFICE, actor="u1", roles=roles, body={})
    case = store.cases[data.decision_id]
    assert [h["action"] for h in case["history"]] == ["routed", "accept", "process"]
    assert [(e["action"], e["version"]) for e in store.events(data.decision_id)] == [("accept", 2), ("process", 3)]
    assert case["history"][1]["by"] == "u1"


@pytest.mark.parametrize(
    ("requested", "supplied_at", "hours", "old_due", "new_due"),
    [
        # Mon 10:00 → Tue 10:00: 1.5 + 4 + 2.5 = 8 working hours; Fri 10:00 moves to Mon 10:00
        (local(2026, 12, 7, 10), local(2026, 12, 8, 10), 8.0, local(2026, 12, 11, 10), local(2026, 12, 14, 10)),
        # Fri 16:00 → Mon 09:30 over a weekend: 1 + 2 = 3 hours; Wed 16:30 moves to Thu 10:00
        (
            local(2026, 12, 11, 16),
            local(2026, 12, 14, 9, 30),
            3.0,
            local(2026, 12, 16, 16, 30),
            local(2026, 12, 17, 10),
        ),
        # over Vietnamese Culture Day (Tue 24/11/2026, a day off): Mon 10:00 → Wed 10:00 is still 8 hours
        (local(2026, 11, 23, 10), local(2026, 11, 25, 10), 8.0, local(2026, 11, 27, 10), local(2026, 11, 30, 10)),
    ],
)
async def test_supplement_pause_moves_due_date_by_exactly_the_paused_working_hours(
    requested: datetime, supplied_at: datetime, hours: float, old_due: datetime, new_due: datetime
) -> None:
    """Hand-computed pauses: the due date moves later by the working hours between request and supplement."""
    resolution, store = make_resolution()
    data = routed(received_at=requested - timedelta(hours=1), due_at=old_due)
    await resolution.on_routed("ev", data)
    await resolution.act(
        data.dossier_id,
        "request_supplement",
        office=OFFICE,
        actor="c",
        roles=CLERK,
        body={"reason": "thiếu bản vẽ"},
        now=requested,
    )
    await resolution.on_supplemented("sup-1", supplied(data, supplied_at))
    await resolution.on_supplemented("sup-1", supplied(data, supplied_at + timedelta(days=1)))  # redelivery
    case = store.cases[data.decision_id]
    assert case["status"] == "supplement_received" and case["paused_at"] is None
    assert case["paused_hours"] == pytest.approx(hours)
    assert case["due_at"] == new_due
    event = store.events(data.decision_id)[-1]
    assert event["action"] == "supplement_received" and event["paused_working_hours"] == pytest.approx(hours)
    assert datetime.fromisoformat(event["previous_due_at"]) == old_due
    assert len(store.events(data.decision_id)) == 2


@pytest.mark.parametrize(
    ("action", "roles"),
    [("reject", LEADER), ("transfer", LEADER), ("request_supplement", CLERK)],
)
@pytest.mark.parametrize("reason", [None, "", "   ", "-", " . "])
async def test_refusal_supplement_request_and_transfer_need_a_written_reason(
    action: str, roles: frozenset[str], reason: str | None
) -> None:
    """Without a reason holding a letter or digit the action is refused and the case stays as it was (no event)."""
    resolution, store = make_resolution()
    data = routed()
    await resolution.on_routed("ev", data)
    body = {} if reason is None else {"reason": reason}
    with pytest.raises(ReasonRequired):
        await resolution.act(data.dossier_id, action, office=OFFICE, actor="x", roles=roles, body=body)
    case = store.cases[data.decision_id]
    assert (case["status"], case["version"], store.events(data.decision_id)) == ("received", 1, [])
    done = await resolution.act(
        data.dossier_id, action, office=OFFICE, actor="x", roles=roles, body={"reason": "  Thiếu tờ khai "}
    )
    assert done["history"][-1]["reason"] == "Thiếu tờ khai" and store.events(data.decision_id)[-1]["reason"]


async def test_supplement_limit_of_the_procedure() -> None:
    """A construction permit allows one supplement request; the second one is refused with supplement_limit."""
    resolution, _ = make_resolution()
    data = routed(procedure="LT-XD-001")
    await resolution.on_routed("ev", data)
    args = {"office": OFFICE, "actor": "s", "roles": frozenset({"specialist", "leader"}), "body": {"reason": "thiếu"}}
    await resolution.act(data.dossier_id, "request_supplement", **args)  # type: ignore[arg-type]
    await resolution.on_supplemented("s1", supplied(data, datetime.now(UTC)))
    await resolution.act(data.dossier_id, "process", **args)  # type: ignore[arg-type]
    with pytest.raises(Conflict) as info:
        await resolution.act(data.dossier_id, "request_supplement", **args)  # type: ignore[arg-type]
    assert info.value.code == "supplement_limit"


async def test_overdue_is_flagged_once_and_never_while_paused_or_finished() -> None:
    """Only running cases past due are flagged, each exactly once, with one overdue event."""
    resolution, store = make_resolution()
    now = datetime.now(UTC)
    late, paused, finished = (routed(due_at=now - timedelta(minutes=5)) for _ in range(3))
    early = routed(due_at=now + timedelta(hours=1))
    for d in (late, paused, finished, early):
        await resolution.on_routed(f"ev-{d.decision_id}", d)
    why = {"reason": "thiếu giấy tờ"}
    await resolution.act(paused.dossier_id, "request_supplement", office=OFFICE, actor="c", roles=CLERK, body=why)
    await resolution.act(finished.dossier_id, "reject", office=OFFICE, actor="l", roles=LEADER, body=why)
    assert await resolution.flag_overdue(now=now) == 1
    assert await resolution.flag_overdue(now=now + timedelta(seconds=1)) == 0
    case = store.cases[late.decision_id]
    assert case["overdue"] and "m" not in case
    assert [(e["action"], e["overdue"], e["version"]) for e in store.events(late.decision_id)] == [("overdue", True, 2)]
    assert not any(store.cases[d.decision_id]["overdue"] for d in (paused, finished, early))
    assert await resolution.next_due() == early.due_at


async def test_overdue_update_is_dropped_when_the_case_changed_meanwhile() -> None:
    """The overdue flag is written only on the version it was computed from (no stale figures or versions)."""
    resolution, store = make_resolution()
    data = routed(due_at=datetime.now(UTC) - timedelta(minutes=1))
    await resolution.on_routed("ev", data)
    stale = copy.deepcopy(store.cases[data.decision_id])
    await resolution.act(data.dossier_id, "accept", office=OFFICE, actor="c", roles=CLERK, body={})
    assert await resolution._flag_batch([stale], now=datetime.now(UTC)) == 0
    assert store.cases[data.decision_id]["version"] == 2 and not store.cases[data.decision_id]["overdue"]


async def test_apology_letter_sets_a_new_appointment() -> None:
    """Only a leader apologises, only for an overdue case; the letter names the dossier and both dates."""
    resolution, store = make_resolution()
    now = datetime.now(UTC)
    data = routed(due_at=now - timedelta(hours=1))
    await resolution.on_routed("ev", data)
    with pytest.raises(Conflict):
        await resolution.apologise(data.dossier_id, office=OFFICE, actor="l", roles=LEADER, reason="x", new_due_at=None)
    await resolution.flag_overdue(now=now)
    with pytest.raises(PermissionError):
        await resolution.apologise(data.dossier_id, office=OFFICE, actor="c", roles=CLERK, reason="x", new_due_at=None)
    with pytest.raises(Conflict) as past:
        await resolution.apologise(
            data.dossier_id, office=OFFICE, actor="l", roles=LEADER, reason="x", new_due_at=now - timedelta(days=1)
        )
    assert past.value.code == "invalid_due_date"
    new_due = local(2030, 1, 15, 10)
    case = await resolution.apologise(
        data.dossier_id, office=OFFICE, actor="Nguyễn Văn A", roles=LEADER, reason="cần xác minh", new_due_at=new_due
    )
    letter = case["apology"]["letter"]
    assert data.dossier_code in letter and "10:00 ngày 15/01/2030" in letter and "Nguyễn Văn A" in letter
    assert "cần xác minh" in letter and "PHIẾU XIN LỖI" in letter
    assert (case["due_at"], case["overdue"]) == (new_due, False)
    event = store.events(data.decision_id)[-1]
    assert event["action"] == "apology" and datetime.fromisoformat(event["due_at"]) == new_due
    assert datetime.fromisoformat(event["previous_due_at"]) == data.due_at
    assert await resolution.flag_overdue(now=now) == 0  # the new date has not passed


async def test_apology_date_on_the_event_is_the_date_the_case_keeps() -> None:
    """The store keeps milliseconds: the new appointment is cut to them, so the citizen's event and the case agree."""
    resolution, store = make_resolution()
    now = datetime.now(UTC)
    data = routed(due_at=now - timedelta(hours=1))
    await resolution.on_routed("ev", data)
    await resolution.flag_overdue(now=now)
    asked = local(2030, 1, 15, 10).replace(microsecond=123456)
    case = await resolution.apologise(
        data.dossier_id, office=OFFICE, actor="l", roles=LEADER, reason="cần xác minh", new_due_at=asked
    )
    event = store.events(data.decision_id)[-1]
    assert case["due_at"] == asked.replace(microsecond=123000)
    assert datetime.fromisoformat(event["due_at"]) == case["due_at"] == case["apology"]["new_due_at"]


async def _approved(resolution: object, data: object) -> dict[str, object]:
    for action, roles in (("accept", CLERK), ("process", SPECIALIST), ("approve", LEADER)):
        case = await resolution.act(  # type: ignore[attr-defined]
            data.dossier_id,  # type: ignore[attr-defined]
            action,
            office=OFFICE,
            actor="u",
            roles=roles,
            body={"result_title": "Giấy phép", "result_content": "Nhà 3 tầng"},
        )
    return case  # type: ignore[no-any-return]


async def test_signed_result_verifies_and_any_change_does_not() -> None:
    """The stored result verifies with its office key; changed content, another office or a bad signature fail."""
    resolution, store = make_resolution()
    data = routed()
    await resolution.on_routed("ev", data)
    case = await _approved(resolution, data)
    result = case["result"]
    stored = store.results[result["document_id"]]  # type: ignore[index]
    document, signature = stored["document"], stored["signature"]
    assert resolution.verify(document, signature)
    assert not resolution.verify({**document, "content": "Nhà 9 tầng"}, signature)
    assert not resolution.verify({**document, "office_code": OTHER}, signature)
    assert not resolution.verify(document, "AAAA" + signature[4:])
    assert not resolution.verify(document, "not base64!")
    assert store.events(data.decision_id)[-1]["result"]["document_id"] == result["document_id"]  # type: ignore[index]


async def test_rating_needs_the_token_and_a_returned_result_once() -> None:
    """Wrong token → not found; before return → conflict; once returned → stored once."""
    resolution, store = make_resolution()
    data = routed(token="secret-token-1")
    await resolution.on_routed("ev", data)
    await _approved(resolution, data)
    with pytest.raises(Conflict) as early:
        await resolution.rate(data.dossier_code, "secret-token-1", 5, None)
    assert early.value.code == "not_returned"
    await resolution.act(data.dossier_id, "return", office=OFFICE, actor="c", roles=CLERK, body={})
    with pytest.raises(CaseNotFound):
        await resolution.rate(data.dossier_code, "wrong-token-1", 5, None)
    assert (await resolution.rate(data.dossier_code, "secret-token-1", 4, "nhanh"))["score"] == 4
    with pytest.raises(Conflict):
        await resolution.rate(data.dossier_code, "secret-token-1", 1, None)
    assert store.cases[data.decision_id]["rating"]["score"] == 4


async def test_operations_figures_through_the_use_cases() -> None:
    """Through on_routed and the officials' actions: a transfer counts once, a refusal's reason is the action's
    (and its event's) reason, the province is the competent office's, and the business counters move."""
    from prometheus_client import CollectorRegistry

    from services.resolution.adapters.business_metrics import BusinessMetrics
    from services.resolution.domain.figures import Period, local_day
    from services.resolution.domain.scope import Scope

    registry = CollectorRegistry()
    resolution, store = make_resolution()
    resolution.business = BusinessMetrics(registry)
    hcm = "26506.UBND"
    first, moved, refused, other, far = routed(), routed(), routed(), routed(), routed(office=hcm)
    for data in (first, moved, refused, other, far):
        await resolution.on_routed(f"ev-{data.decision_id}", data)
    # the moved dossier goes to OTHER (routing's next decision for the same dossier)
    await resolution.act(
        moved.dossier_id, "transfer", office=OFFICE, actor="c", roles=CLERK, body={"reason": "sai thẩm quyền"}
    )
    again = moved.model_copy(update={"decision_id": "second", "office_code": OTHER, "previous_office_code": OFFICE})
    await resolution.on_routed("ev-second", again)
    await resolution.act(refused.dossier_id, "reject", office=OFFICE, actor="l", roles=LEADER, body={"reason": "Sai"})
    await resolution.act(other.dossier_id, "reject", office=OFFICE, actor="l", roles=LEADER, body={"reason": "Sai"})
    assert store.cases[refused.decision_id]["refusal_reason"] == store.events(refused.decision_id)[-1]["reason"]
    today = local_day(datetime.now(UTC))
    report = await resolution.operations(scope=Scope("national"), period=Period(today, today))
    totals = report["totals"]
    assert (totals["received"], totals["refused"], totals["refused_with_reason"]) == (5, 2, 2)
    assert totals["refusal_reasons"] == [{"reason": "Sai", "count": 2}]
    assert [(r["key"], r["received"]) for r in report["by_province"]] == [("01", 4), ("79", 1)]
    hanoi = await resolution.operations(scope=Scope("province", "01"), period=Period(today, today))
    assert {r["key"] for r in hanoi["by_office"]} == {OFFICE, OTHER}
    assert registry.get_sample_value("lienthong_dossiers_received_total", {"province": "01"}) == 4
    assert registry.get_sample_value("lienthong_dossiers_received_total", {"province": "79"}) == 1
    labels = {"province": "01", "timeliness": "on_time", "outcome": "refused"}
    assert registry.get_sample_value("lienthong_dossiers_resolved_total", labels) == 2

    # an inter-agency chain: a result at each step, but the dossier is resolved once, at its last step
    chain = ["LT-HT-001", "LT-CT-001"]
    step = routed().model_copy(update={"chain": chain, "chain_step": 0})
    await resolution.on_routed("ev-chain-0", step)
    result = {"province": "01", "timeliness": "on_time", "outcome": "result"}
    steps = [(step, OFFICE)]
    second = step.model_copy(update={"decision_id": "chain-1", "chain_step": 1, "office_code": OTHER})
    steps.append((second, OTHER))
    for number, (data, office) in enumerate(steps):
        if number:
            await resolution.on_routed("ev-chain-1", data)
        for action, roles in (("accept", CLERK), ("process", SPECIALIST), ("approve", LEADER)):
            await resolution.act(data.dossier_id, action, office=office, actor="x", roles=roles, body={})
        assert registry.get_sample_value("lienthong_dossiers_resolved_total", result) == (1 if number else None)
    report = await resolution.operations(scope=Scope("national"), period=Period(today, today))
    assert report["totals"]["received"] == 6 and report["totals"]["resolved"] == 3  # 2 refusals + the chain
    offices = {r["key"]: r["resolved"] for r in report["by_office"]}
    assert offices[OFFICE] == 3 and offices[OTHER] == 1  # each step is a result at its office


def test_scheduler_wakes_at_the_next_due_date_within_bounds() -> None:
    """Sleep until the next due date, never longer than the maximum nor shorter than the floor."""
    now = datetime.now(UTC)
    assert seconds_until(None, now=now, max_wait=1.0) == 1.0
    assert seconds_until(now + timedelta(seconds=0.3), now=now, max_wait=1.0) == pytest.approx(0.3)
    assert seconds_until(now + timedelta(hours=1), now=now, max_wait=1.0) == 1.0
    assert seconds_until(now - timedelta(hours=1), now=now, max_wait=1.0) == MIN_WAIT


async def test_configured_key_directory_signs_and_a_missing_key_is_a_clear_conflict(tmp_path: Path) -> None:
    """With RESOLUTION_SIGNING_KEYS_DIR an office signs with its own PEM key; an office without one gets
    no_signing_key (no development fallback)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / f"{OFFICE}.pem").write_bytes(pem)
    resolution, store = make_resolution()
    resolution.keys = OfficeKeys(keys_dir=str(tmp_path), dev_seed=None)
    data, elsewhere = routed(), routed(office=OTHER)
    for d in (data, elsewhere):
        await resolution.on_routed(f"ev-{d.decision_id}", d)
    stored = store.results[(await _approved(resolution, data))["result"]["document_id"]]  # type: ignore[index]
    key.public_key().verify(base64.b64decode(stored["signature"]), canonical(stored["document"]))
    for action, roles in (("accept", CLERK), ("process", SPECIALIST)):
        await resolution.act(elsewhere.dossier_id, action, office=OTHER, actor="u", roles=roles, body={})
    with pytest.raises(Conflict) as info:
        await resolution.act(elsewhere.dossier_id, "approve", office=OTHER, actor="u", roles=LEADER, body={})
    assert info.value.code == "no_signing_key"
    assert store.cases[elsewhere.decision_id]["status"] == "in_process"


async def test_scheduler_wakes_for_a_new_early_due_date_long_before_its_maximum_sleep() -> None:
    """With a 60 s maximum sleep, a case opened due in 0.3 s is flagged within seconds: the loop re-plans."""
    resolution, store = make_resolution()
    task = asyncio.create_task(overdue_loop(resolution, max_wait=60.0))
    try:
        await asyncio.sleep(0.1)  # let the loop plan its (empty) 60 s sleep first
        data = routed(due_at=datetime.now(UTC) + timedelta(seconds=0.3))
        await resolution.on_routed("ev", data)
        await eventually(lambda: _flagged(store, data.decision_id), timeout=5)
    finally:
        task.cancel()
    assert [e["action"] for e in store.events(data.decision_id)] == ["overdue"]


async def _flagged(store: object, case_id: str) -> bool:
    return bool(store.cases[case_id]["overdue"])  # type: ignore[attr-defined]


async def test_a_chain_step_is_not_returned_to_the_citizen_only_the_last_one_is() -> None:
    """Birth registration → residence → insurance: an intermediate step's result goes on to the next office, so
    returning it is 409 chain_continues; the last step's case is returned and can then be rated."""
    resolution, store = make_resolution()
    chain = ["LT-HT-001", "LT-CT-001", "LT-BH-001"]
    first = routed(procedure="LT-HT-001").model_copy(update={"chain": chain, "chain_step": 0})
    await resolution.on_routed("ev1", first)
    everyone = frozenset({"clerk", "specialist", "leader"})
    args = {"office": OFFICE, "actor": "x", "roles": everyone, "body": {}}
    for action in ("accept", "process", "approve"):
        await resolution.act(first.dossier_id, action, **args)  # type: ignore[arg-type]
    ready = store.events(first.decision_id)[-1]
    assert (ready["status"], ready["chain_step"], ready["chain"]) == ("result_ready", 0, chain)
    with pytest.raises(Conflict) as info:
        await resolution.act(first.dossier_id, "return", **args)  # type: ignore[arg-type]
    assert info.value.code == "chain_continues"
    with pytest.raises(Conflict) as rated:
        await resolution.rate(first.dossier_code, "citizen-token", 5, None)
    assert rated.value.code == "not_returned"
    last = first.model_copy(update={"decision_id": "last", "office_code": OTHER, "chain_step": 2})
    last = last.model_copy(update={"routed_at": first.routed_at + timedelta(minutes=1)})
    await resolution.on_routed("ev3", last)
    other = {**args, "office": OTHER}
    for action in ("accept", "process", "approve", "return"):
        await resolution.act(last.dossier_id, action, **other)  # type: ignore[arg-type]
    assert store.cases["last"]["status"] == "returned"
    assert (await resolution.rate(first.dossier_code, "citizen-token", 5, None))["score"] == 5


async def test_transfer_names_an_existing_other_office_and_the_new_office_sees_why() -> None:
    """to_office must be another real office (422 unknown_office otherwise) and travels on the transfer event; a
    case opened from a transfer shows the transferring office and its reason."""
    resolution, store = make_resolution()
    data = routed()
    await resolution.on_routed("ev", data)
    args = {"office": OFFICE, "actor": "l", "roles": LEADER}
    for bad in ("99999.UBND", "nonsense", OFFICE):
        with pytest.raises(InvalidInput) as info:
            await resolution.act(data.dossier_id, "transfer", body={"reason": "sai", "to_office": bad}, **args)  # type: ignore[arg-type]
        assert info.value.code == "unknown_office"
    assert store.events(data.decision_id) == []
    await resolution.act(data.dossier_id, "transfer", body={"reason": "sai thẩm quyền", "to_office": OTHER}, **args)  # type: ignore[arg-type]
    assert store.events(data.decision_id)[-1]["transfer_to_office"] == OTHER
    arrived = data.model_copy(
        update={
            "decision_id": "second",
            "office_code": OTHER,
            "previous_office_code": OFFICE,
            "transfer_reason": "sai thẩm quyền",
        }
    )
    await resolution.on_routed("ev2", arrived)
    assert store.cases["second"]["transferred_from"] == {"office_code": OFFICE, "reason": "sai thẩm quyền"}
