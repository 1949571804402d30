"""Resolution's repositories on the real store: every field of a Case round-trips, the named queries answer what
the use cases ask, concurrent changes lose nothing, and a redelivered event is applied once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from services.resolution.adapters.repositories import CaseMapper, MongoCases
from services.resolution.domain.case import (
    OPEN,
    Apology,
    Case,
    HistoryEntry,
    IllegalTransition,
    Rating,
    TransferredFrom,
)
from shared.events import DossierStatus, ResultDocument
from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client
from tests.support.infra import MONGO
from tests.support.service import drop_databases
from tests.unit.resolution.fakes import OFFICE, OTHER, routed

S = DossierStatus


@pytest.fixture
async def cases(isolation: str) -> AsyncIterator[MongoCases]:
    """The cases repository on a database of its own, with its indexes."""
    name = f"{isolation}_resolution_repo"
    client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
    repo = MongoCases(client[name], source="/lienthong/resolution")
    await repo.ensure_indexes()
    yield repo
    client.close()
    await drop_databases(MONGO, name)


def ms(moment: datetime) -> datetime:
    """To the store's precision (milliseconds), in UTC as it gives datetimes back."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000).astimezone(UTC)


def case_at(
    office: str = OFFICE, *, due_in: timedelta = timedelta(days=5), status: S = S.RECEIVED, **fields: object
) -> Case:
    """An opened case (fields then set as given)."""
    now = ms(datetime.now(UTC))
    case = Case.open(routed(office=office, due_at=now + due_in, received_at=now), now=now, office_province_code="01")
    assert case is not None
    case.status = status
    for key, value in fields.items():
        setattr(case, key, value)
    return case


async def test_every_field_of_a_case_round_trips(cases: MongoCases) -> None:
    """A case with every optional part set (apology, rating, result, transfer, history) comes back equal."""
    at = ms(datetime(2026, 12, 7, 3, 15, 1, 123000, tzinfo=UTC))
    full = case_at(
        status=S.RETURNED,
        office_name="UBND Phường Hoàn Kiếm",
        procedure_name="Cấp giấy phép xây dựng",
        receiving_office_code="00070.TTHCC",
        paused_hours=3.5,
        supplement_requests=1,
        overdue_at=at,
        apology=Apology("PHIẾU XIN LỖI", "cần xác minh", at + timedelta(days=3), at, at, "lanh-dao"),
        result=ResultDocument(
            document_id="d1", sha256="ab", signature="c2ln", signed_by_office=OFFICE, verify_url="x", key_id="k1"
        ),
        rating=Rating(4, "nhanh", at),
        finished_at=at,
        refusal_reason=None,
        chain=["LT-HT-001", "LT-CT-001"],
        chain_step=1,
        transferred_from=TransferredFrom(OTHER, "sai thẩm quyền"),
        history=[HistoryEntry(S.RECEIVED, "routed", at, "routing", "r"), HistoryEntry(S.ACCEPTED, "accept", at, "c")],
        version=7,
    )
    assert await cases.add(full)
    assert await cases.get(full.id) == full
    assert not await cases.add(full)  # the same routing decision opens nothing twice
    stored = await cases.collection.find_one({"_id": full.id})
    assert CaseMapper().from_document(stored) == full


async def test_a_change_commits_state_and_event_and_a_redelivery_is_applied_once(cases: MongoCases) -> None:
    """accept through ``change`` with a consumed id: version 2, its event in the outbox; the same id again: nothing."""
    case = case_at()
    await cases.add(case, consumed="routed-1")
    now = ms(datetime.now(UTC))
    first = await cases.change(
        case.id, lambda c: c.act("accept", actor="c", roles=frozenset({"clerk"}), now=now), consumed="e1"
    )
    again = await cases.change(
        case.id, lambda c: c.act("accept", actor="c", roles=frozenset({"clerk"}), now=now), consumed="e1"
    )
    assert (first.applied, len(first.events), again.duplicate) == (True, 1, True)
    stored = await cases.get(case.id)
    assert stored is not None and (stored.status, stored.version) == (S.ACCEPTED, 2)
    assert [e.data["version"] for e in first.events] == [2]


async def test_concurrent_changes_lose_nothing_and_one_accept_wins(cases: MongoCases) -> None:
    """Twenty concurrent pauses add up; two officials accepting at once: one applies, the other is refused."""
    case = case_at()
    await cases.add(case)

    def pause(c: Case) -> None:
        c.paused_hours += 1

    await asyncio.gather(*(cases.change(case.id, pause) for _ in range(20)))
    stored = await cases.get(case.id)
    assert stored is not None and stored.paused_hours == 20
    now = ms(datetime.now(UTC))
    outcomes = await asyncio.gather(
        *(
            cases.change(case.id, lambda c, who=who: c.act("accept", actor=who, roles=frozenset({"clerk"}), now=now))
            for who in ("a", "b")
        ),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["IllegalTransition", "Outcome"]
    assert any(isinstance(o, IllegalTransition) for o in outcomes)
    stored = await cases.get(case.id)
    assert stored is not None and [h.action for h in stored.history].count("accept") == 1 and stored.version == 2


async def test_newest_of_and_the_worklist(cases: MongoCases) -> None:
    """By id or code, at an office or anywhere (the newest); the worklist: the office's statuses, overdue first."""
    first = case_at(due_in=timedelta(days=3))
    moved = case_at(OTHER, dossier_id=first.dossier_id, dossier_code=first.dossier_code, id="second")
    moved.routed_at = first.routed_at + timedelta(minutes=1)
    late = case_at(due_in=timedelta(days=9), overdue=True)
    soon = case_at(due_in=timedelta(days=1), status=S.ACCEPTED)
    gone = case_at(due_in=timedelta(hours=1), status=S.RETURNED)
    for c in (first, moved, late, soon, gone):
        await cases.add(c)
    assert (await cases.newest_of(first.dossier_id)).id == "second"  # type: ignore[union-attr]
    assert (await cases.newest_of(first.dossier_code, OFFICE)).id == first.id  # type: ignore[union-attr]
    assert await cases.newest_of("no-such-dossier") is None
    page = await cases.worklist(OFFICE, OPEN, limit=10, offset=0)
    assert [c.id for c in page] == [late.id, soon.id, first.id]
    assert [c.id for c in await cases.worklist(OFFICE, OPEN, limit=1, offset=1)] == [soon.id]
    assert [c.id for c in await cases.worklist(OFFICE, {S.RETURNED}, limit=10, offset=0)] == [gone.id]


async def test_overdue_candidates_next_due_and_overdue_now(cases: MongoCases) -> None:
    """Only running, unflagged, unpaused cases past due are candidates; next_due is the earliest unflagged running
    due date; overdue now counts running past-due cases per competent province."""
    now = ms(datetime.now(UTC))
    late = case_at(due_in=-timedelta(minutes=5))
    flagged = case_at(due_in=-timedelta(minutes=9), overdue=True)
    paused = case_at(due_in=-timedelta(minutes=7), status=S.SUPPLEMENT_REQUESTED, paused_at=now)
    ready = case_at(due_in=-timedelta(minutes=8), status=S.RESULT_READY)
    early = case_at(due_in=timedelta(hours=1))
    far = case_at("26506.UBND", due_in=-timedelta(minutes=1), office_province_code="79")
    for c in (late, flagged, paused, ready, early, far):
        await cases.add(c)
    assert {c.id for c in await cases.overdue_candidates(now, limit=10)} == {late.id, far.id}
    assert len(await cases.overdue_candidates(now, limit=1)) == 1
    assert await cases.next_due() == late.due_at
    assert await cases.overdue_by_province(now) == {"01": 2, "79": 1}  # late, flagged | far
    assert await cases.count_unflagged(now) == 2


async def test_figures_inputs_read_only_cases_touching_the_period(cases: MongoCases) -> None:
    """The report's read leaves out cases closed before the period (history does not grow the read) but keeps old
    cases still open (overdue now is a snapshot) and old ones finished in the period; a scope narrows it."""
    long_ago, now = datetime(2024, 1, 8, 9, tzinfo=UTC), ms(datetime.now(UTC))
    old = {"received_at": long_ago, "routed_at": long_ago, "due_at": long_ago, "original_due_at": long_ago}
    closed = case_at(status=S.RETURNED, finished_at=long_ago, id="closed", **old)
    still_open = case_at(status=S.IN_PROCESS, id="open", **old)
    finished_now = case_at(status=S.RETURNED, finished_at=now, id="late", **old)
    elsewhere = case_at("26506.UBND", status=S.IN_PROCESS, id="hcm", office_province_code="79", **old)
    for c in (closed, still_open, finished_now, elsewhere):
        await cases.add(c)
    since = now - timedelta(days=30)
    hanoi = await cases.figures_inputs(province_code="01", office_code=None, since=since)
    assert sorted(row["_id"] for row in hanoi) == ["late", "open"]
    assert "status" in hanoi[0] and "history" not in hanoi[0]  # only the figures' fields are read
    everywhere = await cases.figures_inputs(province_code=None, office_code=None, since=since)
    assert sorted(row["_id"] for row in everywhere) == ["hcm", "late", "open"]
    office = await cases.figures_inputs(province_code=None, office_code="26506.UBND", since=since)
    assert [row["_id"] for row in office] == ["hcm"]
