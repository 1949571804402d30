"""Resolution's use cases on cases: open from a routing decision, officials' actions, the clock, the rating.

Each reads as: load through the repository port, call the Case aggregate, commit with ``change``/``add``
(state, history, the status event and the consumed event id in one conditional write), then tell this
process (``Watch``). The rules are the aggregate's (services/resolution/domain/case.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from services.resolution.domain.case import (
    OPEN,
    Case,
    CaseNotFound,
    LetterWriter,
    Rating,
    Transfer,
    may_apologise,
    stored_precision,
)
from services.resolution.domain.figures import office_province
from services.resolution.domain.ports import CaseRepository, Results
from services.resolution.handlers.signals import Watch
from shared.aggregate import Outcome
from shared.events import DossierRouted, DossierStatus, DossierSupplemented
from shared.logging import get_logger
from shared.reference.legal_clock import LegalClock
from shared.reference.procedures import Catalogue

log = get_logger(__name__)

OVERDUE_BATCH = 200


class Official(Protocol):
    """Who acts: the token's subject, office and roles (``shared.identity.Principal`` is one)."""

    @property
    def sub(self) -> str: ...
    @property
    def office(self) -> str: ...
    @property
    def roles(self) -> frozenset[str]: ...


def _now(now: datetime | None) -> datetime:
    # the store keeps milliseconds: every moment a change writes is taken at that precision
    return stored_precision(now or datetime.now(UTC))


@dataclass
class Cases:
    """Cases at offices: opening, actions, the legal clock, the apology letter and the rating."""

    cases: CaseRepository
    results: Results
    catalogue: Catalogue
    clock: LegalClock
    letters: LetterWriter
    auto_accepts: Callable[[str], bool]
    watch: Watch

    # -- from other services --------------------------------------------------------------------
    async def open_case(self, event_id: str, routed: DossierRouted, *, now: datetime | None = None) -> None:
        """Open a case at the chosen office (accepted at once where the office says so); redelivery opens nothing."""
        now = _now(now)
        case = Case.open(routed, now=now, office_province_code=office_province(routed.office_code or ""))
        if case is None:
            return
        if self.auto_accepts(case.office_code):
            case.accept_automatically(now=now)  # in the same insert: no crash window leaves it waiting
        if await self.cases.add(case, consumed=event_id):
            self.watch.due.moved(case.due_at)
            self.watch.changed(case, opened=True)
            log.info("case_opened", dossier_id=case.dossier_id, office=case.office_code, case_id=case.id)

    async def supplement_received(
        self, event_id: str, supplement: DossierSupplemented, *, now: datetime | None = None
    ) -> None:
        """Resume the clock: the due date moves later by exactly the paused working hours."""
        now = _now(now)
        case = await self.cases.newest_of(supplement.dossier_id)
        if case is None:
            return
        outcome = await self.cases.change(
            case.id,
            lambda c: c.supplement_received(self.clock, received_at=supplement.received_at, now=now),
            consumed=event_id,
        )
        self._committed(outcome, "supplement_received", due_moved=True)

    # -- officials ------------------------------------------------------------------------------
    async def case_for(self, dossier: str, office: str) -> Case:
        """The official's office's case of ``dossier`` (id or code); CaseNotFound otherwise."""
        case = await self.cases.newest_of(dossier, office)
        if case is None:
            raise CaseNotFound(dossier)
        return case

    async def worklist(
        self, office: str, statuses: Collection[DossierStatus] | None, *, limit: int, offset: int
    ) -> list[Case]:
        """Cases of the office in ``statuses`` (default: every open status), overdue first."""
        return await self.cases.worklist(office, statuses or OPEN, limit=limit, offset=offset)

    async def act(
        self, dossier: str, action: str, *, by: Official, body: dict[str, Any], now: datetime | None = None
    ) -> Case:
        """An official's action on a case of their office."""
        now = _now(now)
        case = await self.case_for(dossier, by.office)
        change = await self._action(case, action, by=by, body=body, now=now)
        return await self._reread(self._committed(await self.cases.change(case.id, change), action))

    async def _action(
        self, case: Case, action: str, *, by: Official, body: dict[str, Any], now: datetime
    ) -> Callable[[Case], None]:
        """The change ``action`` makes (a pure function of the case, re-run on a lost race)."""
        actor, roles = by.sub, by.roles
        reason = (body.get("reason") or "").strip() or None
        if action == "request_supplement":
            procedure = self.catalogue.get(case.procedure_code)
            allowed = procedure.max_supplement_requests if procedure else None
            return lambda c: c.request_supplement(actor=actor, roles=roles, now=now, reason=reason, allowed=allowed)
        if action == "transfer":
            to = Transfer(
                body.get("to_office"), bool(body.get("to_next_step")), list(body.get("exclude_offices") or [])
            )
            return lambda c: c.transfer(to, actor=actor, roles=roles, now=now, reason=reason)
        if action == "approve":
            case.may(action, roles)  # before signing: a refused approval signs nothing
            result = await self.results.sign(
                case, title=body.get("result_title"), content=body.get("result_content"), now=now
            )
            return lambda c: c.approve(result, actor=actor, roles=roles, now=now, reason=reason)
        return lambda c: c.act(action, actor=actor, roles=roles, now=now, reason=reason)

    async def apologise(
        self,
        dossier: str,
        *,
        by: Official,
        reason: str,
        new_due_at: datetime | None,
        now: datetime | None = None,
    ) -> Case:
        """A leader's apology letter with a new appointment date (default: the procedure's legal time from now)."""
        now = _now(now)
        may_apologise(by.roles)
        case = await self.case_for(dossier, by.office)
        procedure = self.catalogue.get(case.procedure_code)
        days = max(1, procedure.processing_days if procedure else 1)
        new_due = stored_precision(new_due_at or self.clock.due_at(now, working_days=days))
        outcome = await self.cases.change(
            case.id,
            lambda c: c.apologise(
                by=by.sub, roles=by.roles, reason=reason, new_due_at=new_due, now=now, letter=self.letters
            ),
        )
        return await self._reread(self._committed(outcome, "apology", log_as="apology_issued", due_moved=True))

    # -- the clock ------------------------------------------------------------------------------
    async def next_due(self) -> datetime | None:
        """The earliest due date among running cases not yet flagged overdue (when to check next)."""
        return await self.cases.next_due()

    async def flag_overdue(self, *, now: datetime | None = None) -> int:
        """Flag every running case whose due date has passed (once each); returns how many."""
        now = _now(now)
        flagged = 0
        while True:
            batch = await self.cases.overdue_candidates(now, limit=OVERDUE_BATCH)
            done = 0
            for candidate in batch:
                outcome = await self.cases.change(candidate.id, lambda c: c.flag_overdue(now=now))
                done += outcome.applied
                if outcome.applied:
                    self._committed(outcome, "overdue", log_as="case_overdue")
            flagged += done
            # a full batch of which nothing could be flagged would loop for ever; the next tick retries
            if len(batch) < OVERDUE_BATCH or done == 0:
                return flagged

    # -- the citizen ----------------------------------------------------------------------------
    async def rate(
        self, code: str, token: str, score: int, comment: str | None, *, now: datetime | None = None
    ) -> Rating:
        """The citizen's satisfaction rating after the result was returned (token-authenticated)."""
        now = _now(now)
        case = await self.cases.newest_of(code)
        if case is None:
            raise CaseNotFound(code)
        outcome = await self.cases.change(case.id, lambda c: c.rate(token=token, score=score, comment=comment, now=now))
        self.watch.changed(outcome.aggregate)
        if outcome.result is None:
            raise CaseNotFound(code)
        return outcome.result

    # -- after a commit -------------------------------------------------------------------------
    def _committed(
        self, outcome: Outcome[Case, Any], action: str, *, log_as: str = "case_transition", due_moved: bool = False
    ) -> Case:
        """Tell this process about a committed change and log it; the case after it."""
        case = outcome.aggregate
        if case is None:
            raise CaseNotFound("the case disappeared")
        if outcome.applied:
            if due_moved:
                self.watch.due.moved(case.due_at)
            self.watch.changed(case)
            status = case.status.value
            log.info(log_as, dossier_id=case.dossier_id, office=case.office_code, action=action, status=status)
        return case

    async def _reread(self, case: Case) -> Case:
        """The case as stored (what officials are shown: the store's own time zone and precision)."""
        return await self.cases.get(case.id) or case
