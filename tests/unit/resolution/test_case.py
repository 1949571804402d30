"""The Case aggregate on its own: transitions, invariants and the dossier.status.v1 events it records."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from services.resolution.domain.case import (
    Case,
    CaseNotFound,
    Conflict,
    Forbidden,
    IllegalTransition,
    ReasonRequired,
)
from shared.aggregate import Unchanged
from shared.events import DossierStatus, ResultDocument, RouteOutcome
from shared.reference.legal_clock import VIETNAM_TZ, default_clock
from shared.topics import Topics
from tests.unit.resolution.fakes import routed

NOW = datetime(2026, 12, 7, 10, tzinfo=VIETNAM_TZ)  # a Monday, working hours
CLERK, SPECIALIST, LEADER = frozenset({"clerk"}), frozenset({"specialist"}), frozenset({"leader"})


def opened(**kwargs: object) -> Case:
    """A freshly opened case (no event recorded by the opening)."""
    case = Case.open(routed(**kwargs), now=NOW, office_province_code="01")  # type: ignore[arg-type]
    assert case is not None
    return case


def letter(case: Case, new_due: datetime, reason: str, signer: str, at: datetime) -> str:
    return f"{case.dossier_code}|{new_due.isoformat()}|{reason}|{signer}"


def test_opening_records_nothing_and_a_parked_decision_opens_no_case() -> None:
    """Routing already told everyone: the opening records no event; a parked decision opens nothing."""
    case = opened()
    assert (case.status, case.version, case.recorded) == (DossierStatus.RECEIVED, 1, [])
    assert [(h.action, h.by) for h in case.history] == [("routed", "routing")]
    parked = routed().model_copy(update={"outcome": RouteOutcome.PARKED})
    assert Case.open(parked, now=NOW, office_province_code=None) is None


def test_each_transition_records_one_status_event_with_the_next_version() -> None:
    """accept then process: two events on dossier.status.v1, keyed by dossier id, versions 2 and 3."""
    case = opened()
    case.act("accept", actor="c", roles=CLERK, now=NOW)
    case.act("process", actor="s", roles=SPECIALIST, now=NOW)
    events = case.pull_events()
    assert [(e.topic, e.key, e.subject) for e in events] == [
        (Topics.DOSSIER_STATUS, case.dossier_id, case.dossier_code)
    ] * 2
    assert [(e.data["action"], e.data["previous_status"], e.data["status"], e.data["version"]) for e in events] == [
        ("accept", "received", "accepted", 2),
        ("process", "accepted", "in_process", 3),
    ]
    assert events[0].data["actor_role"] == "clerk" and case.version == 3 and case.pull_events() == []


def test_refused_actions_change_nothing() -> None:
    """A wrong role, a wrong status or a missing reason leave state, version and events as they were."""
    case = opened()
    before = copy.deepcopy(case)
    with pytest.raises(Forbidden):
        case.act("accept", actor="s", roles=SPECIALIST, now=NOW)
    with pytest.raises(IllegalTransition):
        case.act("approve", actor="l", roles=LEADER, now=NOW)
    with pytest.raises(ReasonRequired):
        case.act("reject", actor="l", roles=LEADER, now=NOW, reason=" - ")
    assert case == before and case.recorded == []


def test_the_clock_pauses_during_a_supplement_and_resumes_by_the_paused_working_hours() -> None:
    """Requested Monday 10:00, supplied Tuesday 10:00: 8 working hours later due; a second arrival is Unchanged."""
    clock = default_clock()
    case = opened(due_at=datetime(2026, 12, 11, 10, tzinfo=VIETNAM_TZ))
    case.request_supplement(actor="c", roles=CLERK, now=NOW, reason="thiếu bản vẽ", allowed=1)
    assert (case.paused_at, case.supplement_requests, case.clock_running) == (NOW, 1, False)
    case.supplement_received(clock, received_at=NOW + timedelta(days=1), now=NOW + timedelta(days=1))
    assert case.due_at == datetime(2026, 12, 14, 10, tzinfo=VIETNAM_TZ) and case.paused_hours == pytest.approx(8.0)
    assert case.pull_events()[-1].data["paused_working_hours"] == pytest.approx(8.0)
    with pytest.raises(Unchanged):
        case.supplement_received(clock, received_at=NOW, now=NOW)
    case.act("process", actor="s", roles=SPECIALIST, now=NOW)
    with pytest.raises(Conflict) as limit:
        case.request_supplement(actor="c", roles=CLERK, now=NOW, reason="lại thiếu", allowed=1)
    assert limit.value.code == "supplement_limit"


def test_overdue_is_flagged_once_while_running_and_an_apology_clears_it_but_the_case_stays_late() -> None:
    """Not before the due date, not while paused, once; the apology moves the date and keeps the case late."""
    case = opened(due_at=NOW - timedelta(minutes=1))
    with pytest.raises(Unchanged):
        case.flag_overdue(now=NOW - timedelta(hours=1))
    case.flag_overdue(now=NOW)
    with pytest.raises(Unchanged):
        case.flag_overdue(now=NOW)
    [flag] = case.pull_events()
    assert (flag.data["action"], flag.data["overdue"], flag.data["version"], flag.data["actor_role"]) == (
        "overdue",
        True,
        2,
        "system",
    )
    with pytest.raises(PermissionError):
        case.apologise(by="c", roles=CLERK, reason="x", new_due_at=NOW + timedelta(days=2), now=NOW, letter=letter)
    new_due = NOW + timedelta(days=2)
    case.apologise(by="l", roles=LEADER, reason="cần xác minh", new_due_at=new_due, now=NOW, letter=letter)
    [apology] = case.pull_events()
    assert (apology.data["action"], apology.data["version"], apology.data["overdue"]) == ("apology", 3, False)
    assert case.apology is not None and case.apology.letter.startswith(case.dossier_code)
    assert (case.overdue, case.due_at, case.late) == (False, new_due, True)
    with pytest.raises(Conflict) as again:
        case.apologise(by="l", roles=LEADER, reason="x", new_due_at=new_due, now=NOW, letter=letter)
    assert again.value.code == "not_overdue"

    paused = opened(due_at=NOW - timedelta(minutes=1))
    paused.request_supplement(actor="c", roles=CLERK, now=NOW, reason="thiếu", allowed=None)
    with pytest.raises(Unchanged):
        paused.flag_overdue(now=NOW)


def test_approval_finishes_the_case_and_only_the_last_chain_step_ends_the_dossier() -> None:
    """The result is attached and told; finished_at is set; a chain's middle step does not end the dossier."""
    result = ResultDocument(document_id="d1", sha256="00", signature="c2ln", signed_by_office="00070.UBND")
    middle = opened()
    middle.chain, middle.chain_step, middle.last_step = ["LT-HT-001", "LT-CT-001"], 0, False
    for case in (middle, opened()):
        case.act("accept", actor="c", roles=CLERK, now=NOW)
        case.act("process", actor="s", roles=SPECIALIST, now=NOW)
        case.approve(result, actor="l", roles=LEADER, now=NOW)
        assert (case.status, case.finished_at, case.result) == (DossierStatus.RESULT_READY, NOW, result)
        assert case.pull_events()[-1].data["result"]["document_id"] == "d1"
    assert (middle.ends_dossier, middle.chain_continues) == (False, True)
    with pytest.raises(Conflict) as info:
        middle.act("return", actor="c", roles=CLERK, now=NOW)
    assert info.value.code == "chain_continues"


def test_rating_needs_the_tracking_token_and_a_returned_result_once() -> None:
    """The wrong token looks like an unknown dossier; before return a conflict; once only; no event, no version."""
    case = opened(token="secret-token-1")
    with pytest.raises(CaseNotFound):
        case.rate(token="wrong", score=5, comment=None, now=NOW)
    with pytest.raises(Conflict):
        case.rate(token="secret-token-1", score=5, comment=None, now=NOW)
    case.status = DossierStatus.RETURNED
    assert case.rate(token="secret-token-1", score=4, comment="nhanh", now=NOW).score == 4
    with pytest.raises(Conflict) as again:
        case.rate(token="secret-token-1", score=1, comment=None, now=NOW)
    assert (again.value.code, case.version, case.recorded) == ("already_rated", 1, [])


def test_refusal_keeps_its_reason_for_the_figures() -> None:
    """A refusal finishes the case with its written reason (counted by the figures)."""
    case = opened()
    case.act("reject", actor="l", roles=LEADER, now=datetime.now(UTC), reason="Sai thẩm quyền")
    assert (case.status, case.refusal_reason, case.ends_dossier) == (DossierStatus.REFUSED, "Sai thẩm quyền", True)
