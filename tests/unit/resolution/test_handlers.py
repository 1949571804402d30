"""Resolution use cases against in-memory repositories of Case objects: opening cases, the clock pause, overdue,
apology, results, rating, the operations figures."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import CollectorRegistry

from services.resolution.adapters.business_metrics import BusinessMetrics
from services.resolution.adapters.signing import OfficeKeys, canonical
from services.resolution.domain import case as errors
from services.resolution.domain.case import Case
from services.resolution.domain.figures import Period, local_day
from services.resolution.domain.scope import Scope
from services.resolution.entrypoints.scheduler import MIN_WAIT, overdue_loop, seconds_until
from services.resolution.handlers import Cases, Watch
from shared.events import DossierRouted, DossierStatus, DossierSupplemented, RouteOutcome
from shared.reference.legal_clock import VIETNAM_TZ
from tests.support.waiting import eventually
from tests.unit.resolution.fakes import OFFICE, OTHER, InMemoryCases, make_cases, make_operations, routed, who

CLERK, SPECIALIST, LEADER = frozenset({"clerk"}), frozenset({"specialist"}), frozenset({"leader"})


def local(*args: int) -> datetime:
    """A wall-clock time in Vietnam."""
    return datetime(*args, tzinfo=VIETNAM_TZ)  # type: ignore[misc]


def supplied(case_routed: DossierRouted, at: datetime) -> DossierSupplemented:
    """The citizen's supplement for a routed dossier, received at ``at``."""
    return DossierSupplemented(
        dossier_id=case_routed.dossier_id,
        dossier_code=case_routed.dossier_code,
        supplement_id="s1",
        documents=1,
        received_at=at,
    )


async def act(
    cases: Cases,
    dossier: str,
    action: str,
    roles: frozenset[str],
    *,
    office: str = OFFICE,
    actor: str = "u1",
    body: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Case:
    """An official's action (of ``office``, with ``roles``)."""
    return await cases.act(dossier, action, by=who(roles, office=office, sub=actor), body=body or {}, now=now)


async def test_redelivered_decision_opens_one_case_and_parked_opens_none() -> None:
    """The same decision three times gives one case with no event; a parked decision gives no case."""
    cases, repo, _ = make_cases()
    data = routed()
    for _ in range(3):
        await cases.open_case("ev-1", data)
    await cases.open_case("ev-2", data.model_copy(update={"decision_id": "p", "outcome": RouteOutcome.PARKED}))
    assert list(repo.items) == [data.decision_id]
    case = repo.case(data.decision_id)
    assert (case.status, case.version, repo.events[case.id]) == (DossierStatus.RECEIVED, 1, [])
    assert case.history[0].action == "routed"


async def test_auto_accept_office_opens_accepted_with_its_event() -> None:
    """At an auto-accept office the case is inserted accepted, with the accept event in the same write."""
    cases, repo, _ = make_cases(auto_accept_offices=f"{OTHER}, {OFFICE}")
    data = routed()
    await cases.open_case("ev", data)
    case = repo.case(data.decision_id)
    assert (case.status, case.version) == (DossierStatus.ACCEPTED, 2)
    [event] = repo.events[data.decision_id]
    assert (event["action"], event["status"], event["previous_status"], event["version"]) == (
        "accept",
        "accepted",
        "received",
        2,
    )
    assert [h.action for h in case.history] == ["routed", "accept"]


async def test_actions_check_office_role_and_state() -> None:
    """Another office's official gets CaseNotFound, a wrong role Forbidden, a wrong state IllegalTransition."""
    cases, repo, _ = make_cases()
    data = routed()
    await cases.open_case("ev", data)
    with pytest.raises(errors.CaseNotFound):
        await act(cases, data.dossier_id, "accept", LEADER, office=OTHER)
    with pytest.raises(errors.Forbidden):
        await act(cases, data.dossier_id, "accept", SPECIALIST)
    with pytest.raises(errors.IllegalTransition) as info:
        await act(cases, data.dossier_id, "return", CLERK)
    assert info.value.current.value == "received"
    assert repo.case(data.decision_id).version == 1 and not repo.events[data.decision_id]


async def test_history_is_appended_and_each_change_emits_one_event() -> None:
    """Every transition appends one history entry and one status event with the next version."""
    cases, repo, _ = make_cases()
    data = routed()
    await cases.open_case("ev", data)
    for action, roles in (("accept", CLERK), ("process", SPECIALIST)):
        await act(cases, data.dossier_code, action, roles)
    case = repo.case(data.decision_id)
    assert [h.action for h in case.history] == ["routed", "accept", "process"]
    assert [(e["action"], e["version"]) for e in repo.events[data.decision_id]] == [("accept", 2), ("process", 3)]
    assert case.history[1].by == "u1"


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
    cases, repo, _ = make_cases()
    data = routed(received_at=requested - timedelta(hours=1), due_at=old_due)
    await cases.open_case("ev", data)
    await act(cases, data.dossier_id, "request_supplement", CLERK, body={"reason": "thiếu bản vẽ"}, now=requested)
    await cases.supplement_received("sup-1", supplied(data, supplied_at))
    await cases.supplement_received("sup-1", supplied(data, supplied_at + timedelta(days=1)))  # redelivery
    case = repo.case(data.decision_id)
    assert case.status is DossierStatus.SUPPLEMENT_RECEIVED and case.paused_at is None
    assert case.paused_hours == pytest.approx(hours)
    assert case.due_at == new_due
    event = repo.events[data.decision_id][-1]
    assert event["action"] == "supplement_received" and event["paused_working_hours"] == pytest.approx(hours)
    assert datetime.fromisoformat(event["previous_due_at"]) == old_due
    assert len(repo.events[data.decision_id]) == 2


@pytest.mark.parametrize(
    ("action", "roles"),
    [("reject", LEADER), ("transfer", LEADER), ("request_supplement", CLERK)],
)
@pytest.mark.parametrize("reason", [None, "", "   ", "-", " . "])
async def test_refusal_supplement_request_and_transfer_need_a_written_reason(
    action: str, roles: frozenset[str], reason: str | None
) -> None:
    """Without a reason holding a letter or digit the action is refused and the case stays as it was (no event)."""
    cases, repo, _ = make_cases()
    data = routed()
    await cases.open_case("ev", data)
    body = {} if reason is None else {"reason": reason}
    with pytest.raises(errors.ReasonRequired):
        await act(cases, data.dossier_id, action, roles, body=body)
    case = repo.case(data.decision_id)
    assert (case.status, case.version, repo.events[case.id]) == (DossierStatus.RECEIVED, 1, [])
    done = await act(cases, data.dossier_id, action, roles, body={"reason": "  Thiếu tờ khai "})
    assert done.history[-1].reason == "Thiếu tờ khai" and repo.events[case.id][-1]["reason"]


async def test_supplement_limit_of_the_procedure() -> None:
    """A construction permit allows one supplement request; the second one is refused with supplement_limit."""
    cases, _, _ = make_cases()
    data = routed(procedure="LT-XD-001")
    await cases.open_case("ev", data)
    both, why = frozenset({"specialist", "leader"}), {"reason": "thiếu"}
    await act(cases, data.dossier_id, "request_supplement", both, body=why)
    await cases.supplement_received("s1", supplied(data, datetime.now(UTC)))
    await act(cases, data.dossier_id, "process", both, body=why)
    with pytest.raises(errors.Conflict) as info:
        await act(cases, data.dossier_id, "request_supplement", both, body=why)
    assert info.value.code == "supplement_limit"


async def test_overdue_is_flagged_once_and_never_while_paused_or_finished() -> None:
    """Only running cases past due are flagged, each exactly once, with one overdue event."""
    cases, repo, _ = make_cases()
    now = datetime.now(UTC)
    late, paused, finished = (routed(due_at=now - timedelta(minutes=5)) for _ in range(3))
    early = routed(due_at=now + timedelta(hours=1))
    for d in (late, paused, finished, early):
        await cases.open_case(f"ev-{d.decision_id}", d)
    why = {"reason": "thiếu giấy tờ"}
    await act(cases, paused.dossier_id, "request_supplement", CLERK, body=why)
    await act(cases, finished.dossier_id, "reject", LEADER, body=why)
    assert await cases.flag_overdue(now=now) == 1
    assert await cases.flag_overdue(now=now + timedelta(seconds=1)) == 0
    assert repo.case(late.decision_id).overdue
    events = [(e["action"], e["overdue"], e["version"]) for e in repo.events[late.decision_id]]
    assert events == [("overdue", True, 2)]
    assert not any(repo.case(d.decision_id).overdue for d in (paused, finished, early))
    assert await cases.next_due() == early.due_at


async def test_overdue_flag_is_judged_on_the_case_as_it_is_when_written() -> None:
    """A candidate read before an official's action is judged again at the write (one path, no stale version):
    accepted meanwhile it is flagged on top of the accept, with the version after it; returned meanwhile, not."""
    cases, repo, _ = make_cases()
    running, done = (routed(due_at=datetime.now(UTC) - timedelta(minutes=1)) for _ in range(2))
    for d in (running, done):
        await cases.open_case(f"ev-{d.decision_id}", d)
    stale = await repo.overdue_candidates(datetime.now(UTC), limit=10)
    assert {c.id for c in stale} == {running.decision_id, done.decision_id}
    await act(cases, running.dossier_id, "accept", CLERK)
    await act(cases, done.dossier_id, "reject", LEADER, body={"reason": "sai"})
    flagged = [await repo.change(c.id, lambda c: c.flag_overdue(now=datetime.now(UTC))) for c in stale]
    assert [o.applied for o in flagged] == [True, False]
    assert [(e["action"], e["version"]) for e in repo.events[running.decision_id]] == [("accept", 2), ("overdue", 3)]
    assert not repo.case(done.decision_id).overdue


async def test_apology_letter_sets_a_new_appointment() -> None:
    """Only a leader apologises, only for an overdue case; the letter names the dossier and both dates."""
    cases, repo, _ = make_cases()
    now = datetime.now(UTC)
    data = routed(due_at=now - timedelta(hours=1))
    await cases.open_case("ev", data)
    leader = who(LEADER, sub="Nguyễn Văn A")
    with pytest.raises(errors.Conflict):
        await cases.apologise(data.dossier_id, by=leader, reason="x", new_due_at=None)
    await cases.flag_overdue(now=now)
    with pytest.raises(PermissionError):
        await cases.apologise(data.dossier_id, by=who(CLERK), reason="x", new_due_at=None)
    with pytest.raises(errors.Conflict) as past:
        await cases.apologise(data.dossier_id, by=leader, reason="x", new_due_at=now - timedelta(days=1))
    assert past.value.code == "invalid_due_date"
    new_due = local(2030, 1, 15, 10)
    case = await cases.apologise(data.dossier_id, by=leader, reason="cần xác minh", new_due_at=new_due)
    assert case.apology is not None
    letter = case.apology.letter
    assert data.dossier_code in letter and "10:00 ngày 15/01/2030" in letter and "Nguyễn Văn A" in letter
    assert "cần xác minh" in letter and "PHIẾU XIN LỖI" in letter
    assert (case.due_at, case.overdue, case.overdue_at is not None) == (new_due, False, True)
    event = repo.events[data.decision_id][-1]
    assert event["action"] == "apology" and datetime.fromisoformat(event["due_at"]) == new_due
    assert datetime.fromisoformat(event["previous_due_at"]) == data.due_at
    assert await cases.flag_overdue(now=now) == 0  # the new date has not passed


async def test_apology_date_on_the_event_is_the_date_the_case_keeps() -> None:
    """The store keeps milliseconds: the new appointment is cut to them, so the citizen's event and the case agree."""
    cases, repo, _ = make_cases()
    now = datetime.now(UTC)
    data = routed(due_at=now - timedelta(hours=1))
    await cases.open_case("ev", data)
    await cases.flag_overdue(now=now)
    asked = local(2030, 1, 15, 10).replace(microsecond=123456)
    case = await cases.apologise(data.dossier_id, by=who(LEADER), reason="cần xác minh", new_due_at=asked)
    event = repo.events[data.decision_id][-1]
    assert case.due_at == asked.replace(microsecond=123000)
    assert case.apology is not None
    assert datetime.fromisoformat(event["due_at"]) == case.due_at == case.apology.new_due_at


async def _approved(cases: Cases, data: DossierRouted) -> Case:
    body = {"result_title": "Giấy phép", "result_content": "Nhà 3 tầng"}
    for action, roles in (("accept", CLERK), ("process", SPECIALIST), ("approve", LEADER)):
        case = await act(cases, data.dossier_id, action, roles, body=body)
    return case


async def test_signed_result_verifies_and_any_change_does_not() -> None:
    """The stored result verifies with its office key; changed content, another office or a bad signature fail."""
    cases, repo, results = make_cases()
    data = routed()
    await cases.open_case("ev", data)
    case = await _approved(cases, data)
    assert case.result is not None
    stored = results.kept[case.result.document_id]
    document, signature = stored["document"], stored["signature"]
    assert results.verify(document, signature)
    assert not results.verify({**document, "content": "Nhà 9 tầng"}, signature)
    assert not results.verify({**document, "office_code": OTHER}, signature)
    assert not results.verify(document, "AAAA" + signature[4:])
    assert not results.verify(document, "not base64!")
    assert repo.events[data.decision_id][-1]["result"]["document_id"] == case.result.document_id


async def test_rating_needs_the_token_and_a_returned_result_once() -> None:
    """Wrong token → not found; before return → conflict; once returned → stored once (no version, no event)."""
    cases, repo, _ = make_cases()
    data = routed(token="secret-token-1")
    await cases.open_case("ev", data)
    await _approved(cases, data)
    with pytest.raises(errors.Conflict) as early:
        await cases.rate(data.dossier_code, "secret-token-1", 5, None)
    assert early.value.code == "not_returned"
    await act(cases, data.dossier_id, "return", CLERK)
    with pytest.raises(errors.CaseNotFound):
        await cases.rate(data.dossier_code, "wrong-token-1", 5, None)
    events = len(repo.events[data.decision_id])
    assert (await cases.rate(data.dossier_code, "secret-token-1", 4, "nhanh")).score == 4
    with pytest.raises(errors.Conflict) as again:
        await cases.rate(data.dossier_code, "secret-token-1", 1, None)
    assert again.value.code == "already_rated"
    case = repo.case(data.decision_id)
    assert case.rating is not None and case.rating.score == 4 and len(repo.events[case.id]) == events


async def test_operations_figures_through_the_use_cases() -> None:
    """Through open_case and the officials' actions: a transfer counts once, a refusal's reason is the action's
    (and its event's) reason, the province is the competent office's, and the business counters move."""
    registry = CollectorRegistry()
    cases, repo, _ = make_cases(watch=Watch(figures=BusinessMetrics(registry)))
    operations = make_operations(cases, repo)
    hcm = "26506.UBND"
    first, moved, refused, other, far = routed(), routed(), routed(), routed(), routed(office=hcm)
    for data in (first, moved, refused, other, far):
        await cases.open_case(f"ev-{data.decision_id}", data)
    # the moved dossier goes to OTHER (routing's next decision for the same dossier)
    await act(cases, moved.dossier_id, "transfer", CLERK, body={"reason": "sai thẩm quyền"})
    again = moved.model_copy(update={"decision_id": "second", "office_code": OTHER, "previous_office_code": OFFICE})
    await cases.open_case("ev-second", again)
    await act(cases, refused.dossier_id, "reject", LEADER, body={"reason": "Sai"})
    await act(cases, other.dossier_id, "reject", LEADER, body={"reason": "Sai"})
    assert repo.case(refused.decision_id).refusal_reason == repo.events[refused.decision_id][-1]["reason"]
    today = local_day(datetime.now(UTC))
    report = await operations.report(scope=Scope("national"), period=Period(today, today))
    totals = report["totals"]
    assert (totals["received"], totals["refused"], totals["refused_with_reason"]) == (5, 2, 2)
    assert totals["refusal_reasons"] == [{"reason": "Sai", "count": 2}]
    assert [(r["key"], r["received"]) for r in report["by_province"]] == [("01", 4), ("79", 1)]
    hanoi = await operations.report(scope=Scope("province", "01"), period=Period(today, today))
    assert {r["key"] for r in hanoi["by_office"]} == {OFFICE, OTHER}
    assert registry.get_sample_value("lienthong_dossiers_received_total", {"province": "01"}) == 4
    assert registry.get_sample_value("lienthong_dossiers_received_total", {"province": "79"}) == 1
    labels = {"province": "01", "timeliness": "on_time", "outcome": "refused"}
    assert registry.get_sample_value("lienthong_dossiers_resolved_total", labels) == 2

    # an inter-agency chain: a result at each step, but the dossier is resolved once, at its last step
    chain = ["LT-HT-001", "LT-CT-001"]
    step = routed().model_copy(update={"chain": chain, "chain_step": 0})
    await cases.open_case("ev-chain-0", step)
    result = {"province": "01", "timeliness": "on_time", "outcome": "result"}
    steps = [(step, OFFICE)]
    second = step.model_copy(update={"decision_id": "chain-1", "chain_step": 1, "office_code": OTHER})
    steps.append((second, OTHER))
    for number, (data, office) in enumerate(steps):
        if number:
            await cases.open_case("ev-chain-1", data)
        for action, roles in (("accept", CLERK), ("process", SPECIALIST), ("approve", LEADER)):
            await act(cases, data.dossier_id, action, roles, office=office)
        assert registry.get_sample_value("lienthong_dossiers_resolved_total", result) == (1 if number else None)
    report = await operations.report(scope=Scope("national"), period=Period(today, today))
    assert report["totals"]["received"] == 6 and report["totals"]["resolved"] == 3  # 2 refusals + the chain
    offices = {r["key"]: r["resolved"] for r in report["by_office"]}
    assert offices[OFFICE] == 3 and offices[OTHER] == 1  # each step is a result at its office
    await operations.refresh_overdue_gauge()
    assert registry.get_sample_value("lienthong_dossiers_overdue", {"province": "01"}) == 0


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
    cases, repo, results = make_cases(keys=OfficeKeys(keys_dir=str(tmp_path), dev_seed=None))
    data, elsewhere = routed(), routed(office=OTHER)
    for d in (data, elsewhere):
        await cases.open_case(f"ev-{d.decision_id}", d)
    approved = await _approved(cases, data)
    assert approved.result is not None
    stored = results.kept[approved.result.document_id]
    key.public_key().verify(base64.b64decode(stored["signature"]), canonical(stored["document"]))
    for action, roles in (("accept", CLERK), ("process", SPECIALIST)):
        await act(cases, elsewhere.dossier_id, action, roles, office=OTHER)
    with pytest.raises(errors.Conflict) as info:
        await act(cases, elsewhere.dossier_id, "approve", LEADER, office=OTHER)
    assert info.value.code == "no_signing_key"
    assert repo.case(elsewhere.decision_id).status is DossierStatus.IN_PROCESS


async def test_scheduler_wakes_for_a_new_early_due_date_long_before_its_maximum_sleep() -> None:
    """With a 60 s maximum sleep, a case opened due in 0.3 s is flagged within seconds: the loop re-plans."""
    cases, repo, _ = make_cases()
    task = asyncio.create_task(overdue_loop(cases, max_wait=60.0))
    try:
        await asyncio.sleep(0.1)  # let the loop plan its (empty) 60 s sleep first
        data = routed(due_at=datetime.now(UTC) + timedelta(seconds=0.3))
        await cases.open_case("ev", data)
        await eventually(lambda: _flagged(repo, data.decision_id), timeout=5)
    finally:
        task.cancel()
    assert [e["action"] for e in repo.events[data.decision_id]] == ["overdue"]


async def _flagged(repo: InMemoryCases, case_id: str) -> bool:
    return repo.case(case_id).overdue


async def test_a_chain_step_is_not_returned_to_the_citizen_only_the_last_one_is() -> None:
    """Birth registration → residence → insurance: an intermediate step's result goes on to the next office, so
    returning it is 409 chain_continues; the last step's case is returned and can then be rated."""
    cases, repo, _ = make_cases()
    chain = ["LT-HT-001", "LT-CT-001", "LT-BH-001"]
    first = routed(procedure="LT-HT-001").model_copy(update={"chain": chain, "chain_step": 0})
    await cases.open_case("ev1", first)
    everyone = frozenset({"clerk", "specialist", "leader"})
    for action in ("accept", "process", "approve"):
        await act(cases, first.dossier_id, action, everyone)
    ready = repo.events[first.decision_id][-1]
    assert (ready["status"], ready["chain_step"], ready["chain"]) == ("result_ready", 0, chain)
    with pytest.raises(errors.Conflict) as info:
        await act(cases, first.dossier_id, "return", everyone)
    assert info.value.code == "chain_continues"
    with pytest.raises(errors.Conflict) as rated:
        await cases.rate(first.dossier_code, "citizen-token", 5, None)
    assert rated.value.code == "not_returned"
    last = first.model_copy(update={"decision_id": "last", "office_code": OTHER, "chain_step": 2})
    last = last.model_copy(update={"routed_at": first.routed_at + timedelta(minutes=1)})
    await cases.open_case("ev3", last)
    for action in ("accept", "process", "approve", "return"):
        await act(cases, last.dossier_id, action, everyone, office=OTHER)
    assert repo.case("last").status is DossierStatus.RETURNED
    assert (await cases.rate(first.dossier_code, "citizen-token", 5, None)).score == 5


async def test_transfer_names_an_existing_other_office_and_the_new_office_sees_why() -> None:
    """to_office must be another real office (422 unknown_office otherwise) and travels on the transfer event; a
    case opened from a transfer shows the transferring office and its reason."""
    cases, repo, _ = make_cases()
    data = routed()
    await cases.open_case("ev", data)
    for bad in ("99999.UBND", "nonsense", OFFICE):
        with pytest.raises(errors.InvalidInput) as info:
            await act(cases, data.dossier_id, "transfer", LEADER, body={"reason": "sai", "to_office": bad})
        assert info.value.code == "unknown_office"
    assert repo.events[data.decision_id] == []
    await act(cases, data.dossier_id, "transfer", LEADER, body={"reason": "sai thẩm quyền", "to_office": OTHER})
    assert repo.events[data.decision_id][-1]["transfer_to_office"] == OTHER
    arrived = data.model_copy(
        update={
            "decision_id": "second",
            "office_code": OTHER,
            "previous_office_code": OFFICE,
            "transfer_reason": "sai thẩm quyền",
        }
    )
    await cases.open_case("ev2", arrived)
    moved = repo.case("second").transferred_from
    assert moved is not None and (moved.office_code, moved.reason) == (OFFICE, "sai thẩm quyền")
