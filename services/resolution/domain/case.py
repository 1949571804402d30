"""The Case aggregate: one dossier at one office (xử lý hồ sơ) — statuses, who may do what, the legal clock.

Pure: no I/O. A case is opened by one routing decision; officials' actions, the citizen's supplement, the
overdue flag, the apology letter and the rating change it, and every change that the citizen or other
services must know of records one ``dossier.status.v1`` event carrying the case's next consecutive
``version`` (the store's revision is the unit of work's, apart from it).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.aggregate import EventRecorder, Unchanged
from shared.events import DossierRouted, DossierStatusChanged, ResultDocument, RouteOutcome
from shared.events import DossierStatus as S
from shared.reference.legal_clock import LegalClock
from shared.reference.offices import office_name as name_of_office
from shared.topics import Topics

CLERK, SPECIALIST, LEADER, OPERATIONS = "clerk", "specialist", "leader", "operations"
#: Actions the law wants a written reason for (refusal notice, supplement request, transfer: Circular 01/2018).
NEEDS_REASON = frozenset({"request_supplement", "transfer", "reject"})
NATIONAL = "national"  # national monitoring: sees every province's figures, acts on no case
TERMINAL = frozenset({S.TRANSFERRED, S.REFUSED, S.RETURNED, S.WITHDRAWN})
OPEN = frozenset(s for s in S if s not in TERMINAL and s not in {S.ROUTED, S.PARKED})
# the clock stops counting once a result is ready; overdue is judged against that moment
CLOCK_RUNNING = frozenset({S.RECEIVED, S.ACCEPTED, S.IN_PROCESS, S.SUPPLEMENT_RECEIVED})


@dataclass(frozen=True)
class Transition:
    """An action: from which statuses, to which status, and which roles may take it."""

    action: str
    sources: frozenset[S]
    target: S
    roles: frozenset[str]


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("accept", frozenset({S.RECEIVED}), S.ACCEPTED, frozenset({CLERK, LEADER})),
        Transition(
            "process", frozenset({S.ACCEPTED, S.SUPPLEMENT_RECEIVED}), S.IN_PROCESS, frozenset({SPECIALIST, LEADER})
        ),
        Transition(
            "request_supplement",
            frozenset({S.RECEIVED, S.ACCEPTED, S.IN_PROCESS}),
            S.SUPPLEMENT_REQUESTED,
            frozenset({CLERK, SPECIALIST, LEADER}),
        ),
        Transition("supplement_received", frozenset({S.SUPPLEMENT_REQUESTED}), S.SUPPLEMENT_RECEIVED, frozenset()),
        Transition(
            "transfer",
            frozenset({S.RECEIVED, S.ACCEPTED, S.IN_PROCESS, S.SUPPLEMENT_RECEIVED}),
            S.TRANSFERRED,
            frozenset({CLERK, LEADER}),
        ),
        Transition(
            "reject",
            frozenset({S.RECEIVED, S.ACCEPTED, S.IN_PROCESS, S.SUPPLEMENT_RECEIVED, S.SUPPLEMENT_REQUESTED}),
            S.REFUSED,
            frozenset({LEADER}),
        ),
        Transition("approve", frozenset({S.IN_PROCESS, S.SUPPLEMENT_RECEIVED}), S.RESULT_READY, frozenset({LEADER})),
        Transition("return", frozenset({S.RESULT_READY}), S.RETURNED, frozenset({CLERK, LEADER})),
        Transition("withdraw", frozenset(OPEN - {S.RESULT_READY}), S.WITHDRAWN, frozenset({CLERK, LEADER})),
    )
}


#: How officials call each action and status in Vietnamese (error messages).
ACTION_VI = {
    "accept": "tiếp nhận",
    "process": "xử lý",
    "request_supplement": "yêu cầu bổ sung",
    "supplement_received": "nhận bổ sung",
    "transfer": "chuyển xử lý",
    "reject": "từ chối",
    "approve": "phê duyệt",
    "return": "trả kết quả",
    "withdraw": "rút hồ sơ",
}
STATUS_VI = {
    S.RECEIVED: "mới tiếp nhận",
    S.ROUTED: "đã chuyển đến cơ quan",
    S.PARKED: "chờ cơ quan có thẩm quyền",
    S.ACCEPTED: "đã tiếp nhận",
    S.IN_PROCESS: "đang xử lý",
    S.SUPPLEMENT_REQUESTED: "chờ bổ sung",
    S.SUPPLEMENT_RECEIVED: "đã nhận bổ sung",
    S.TRANSFERRED: "đã chuyển xử lý",
    S.REFUSED: "đã từ chối",
    S.RESULT_READY: "đã có kết quả",
    S.RETURNED: "đã trả kết quả",
    S.WITHDRAWN: "đã rút",
}


class IllegalTransition(Exception):
    """The action is not allowed from the case's current status."""

    def __init__(self, action: str, current: S) -> None:
        super().__init__(f"cannot {action} a dossier that is {current.value}")
        self.action = action
        self.current = current
        self.vi = f"không thể {ACTION_VI.get(action, action)} hồ sơ đang ở trạng thái {STATUS_VI[current]}"


class Forbidden(Exception):
    """The official's roles do not allow the action."""

    def __init__(self, message: str, *, vi: str | None = None) -> None:
        super().__init__(message)
        self.vi = vi


class ReasonRequired(Exception):
    """The action needs a written reason and none (or only punctuation) was given."""

    def __init__(self, action: str) -> None:
        super().__init__(f"reason: {action} needs a written reason")
        self.action = action
        self.vi = f"reason: cần ghi rõ lý do để {ACTION_VI.get(action, action)}"


def require_reason(action: str, reason: str | None) -> None:
    """Raise ReasonRequired when ``action`` needs a reason and ``reason`` holds no letter or digit."""
    if action in NEEDS_REASON and not any(c.isalnum() for c in reason or ""):
        raise ReasonRequired(action)


def check(action: str, *, current: S, roles: frozenset[str] | set[str], system: bool = False) -> Transition:
    """The transition for ``action`` from ``current`` if ``roles`` may take it; raises otherwise."""
    transition = TRANSITIONS[action]
    if not system and not (transition.roles & set(roles)):
        roles_needed = ", ".join(sorted(transition.roles))
        raise Forbidden(
            f"{action} needs one of the roles: {roles_needed}",
            vi=f"thao tác {ACTION_VI.get(action, action)} cần một trong các vai trò: {roles_needed}",
        )
    if current not in transition.sources:
        raise IllegalTransition(action, current)
    return transition


def may_apologise(roles: frozenset[str]) -> None:
    """Only a leader signs an apology letter (PermissionError otherwise)."""
    if LEADER not in roles:
        raise PermissionError("only a leader may issue an apology letter")


def resume_after_supplement(
    clock: LegalClock, *, due_at: datetime, paused_at: datetime, now: datetime
) -> tuple[datetime, float]:
    """New due date and paused working hours when the supplement arrives (the clock paused meanwhile)."""
    paused = clock.working_hours_between(paused_at, now)
    return clock.shift_due(due_at, paused), paused


class CaseNotFound(Exception):
    """No case of that dossier at the official's office."""


class InvalidInput(Exception):
    """The request names something that does not exist or cannot be used (answered 422)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Conflict(Exception):
    """The action cannot be taken in the case's current situation."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def stored_precision(moment: datetime) -> datetime:
    """``moment`` to the millisecond, as the store keeps it: the event then tells the citizen the very date the
    case document holds (a microsecond more on the event made the two disagree)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass
class HistoryEntry:
    """One line of the case's append-only history (sổ theo dõi hồ sơ)."""

    status: S
    action: str
    at: datetime
    by: str
    reason: str | None = None


@dataclass
class Apology:
    """A leader's apology letter with the new appointment date (Circular 01/2018, Mẫu 04)."""

    letter: str
    reason: str
    new_due_at: datetime
    previous_due_at: datetime
    issued_at: datetime
    by: str


@dataclass
class Rating:
    """The citizen's satisfaction rating after the result was returned."""

    score: int
    comment: str | None
    at: datetime


@dataclass
class TransferredFrom:
    """The office that transferred the dossier here, with its reason."""

    office_code: str | None
    reason: str | None


@dataclass(frozen=True)
class Transfer:
    """Where an official hands a dossier: a named office, the chain's next step, offices routing must avoid."""

    office: str | None = None
    next_step: bool = False
    exclude: list[str] = field(default_factory=list)


#: writes an apology letter's text: (case, new due date, reason, signer, issued at) → text
LetterWriter = Callable[["Case", datetime, str, str, datetime], str]


#: the names a case shares with its routing decision and its status events: the dossier, its office, its procedure
AT_OFFICE = ("dossier_id", "dossier_code", "office_code", "office_name", "procedure_code")
# what a case keeps from its routing decision under the same name, as routing told it
_KEPT_FROM_ROUTING = (
    *AT_OFFICE,
    "procedure_name",
    "processing_days",
    "province_code",
    "applicant_ward_code",
    "receiving_office_code",
    "received_at",
    "routed_at",
    "due_at",
    "tracking_token_sha256",
    "chain_step",
)
# what every ``dossier.status.v1`` event tells of the case under the same name
_TOLD_OF_CASE = (
    *AT_OFFICE,
    "status",
    "version",
    "due_at",
    "overdue",
    "chain_step",
)


@dataclass
class Case(EventRecorder):
    """One dossier at one office: its status, legal clock, history and result."""

    id: str
    dossier_id: str
    dossier_code: str
    office_code: str
    procedure_code: str
    province_code: str
    received_at: datetime
    routed_at: datetime
    due_at: datetime
    original_due_at: datetime
    office_name: str | None = None
    procedure_name: str | None = None
    processing_days: int = 0
    # the competent office's province: what operations figures are filtered by (not the receiving one)
    office_province_code: str | None = None
    first_case: bool = True
    # the last step of an inter-agency chain (or no chain): its result is the dossier's result
    last_step: bool = True
    applicant_ward_code: str | None = None
    receiving_office_code: str | None = None
    channel: str = "online"
    status: S = S.RECEIVED
    version: int = 1
    paused_at: datetime | None = None  # the clock stopped for a supplement request at (None: running)
    paused_hours: float = 0.0  # working hours paused so far
    supplement_requests: int = 0
    overdue: bool = False
    overdue_at: datetime | None = None  # first flagged overdue at
    apology: Apology | None = None
    result: ResultDocument | None = None
    rating: Rating | None = None
    finished_at: datetime | None = None
    refusal_reason: str | None = None
    tracking_token_sha256: str | None = None
    chain: list[str] = field(default_factory=list)
    chain_step: int = 0
    transferred_from: TransferredFrom | None = None
    history: list[HistoryEntry] = field(default_factory=list)

    # -- opening ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, routed: DossierRouted, *, now: datetime, office_province_code: str | None) -> Case | None:
        """The case a routing decision opens at its office (received; no event: routing told everyone).

        None for a decision that chose no office (parked).
        """
        if routed.outcome is not RouteOutcome.ROUTED or routed.office_code is None:
            return None
        return cls(
            **{name: getattr(routed, name) for name in _KEPT_FROM_ROUTING},
            id=routed.decision_id,
            office_province_code=office_province_code,
            first_case=routed.chain_step == 0 and routed.previous_office_code is None,
            last_step=routed.chain_step >= len(routed.chain) - 1,
            channel=routed.channel.value,
            original_due_at=routed.due_at,
            chain=list(routed.chain),
            transferred_from=(
                TransferredFrom(routed.previous_office_code, routed.transfer_reason) if routed.transfer_reason else None
            ),
            history=[HistoryEntry(S.RECEIVED, "routed", now, "routing", routed.reason)],
        )

    # -- questions -------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        """Not transferred away, refused, returned or withdrawn."""
        return self.status in OPEN

    @property
    def clock_running(self) -> bool:
        """The legal clock counts now (not paused for a supplement, no result yet)."""
        return self.status in CLOCK_RUNNING and self.paused_at is None

    @property
    def chain_continues(self) -> bool:
        """This case is a step of an inter-agency chain with steps after it."""
        return self.chain_step + 1 < len(self.chain)

    @property
    def ends_dossier(self) -> bool:
        """Finished in a way that finishes the dossier: a refusal, or the result of its last step."""
        if self.finished_at is None:
            return False
        return self.status is S.REFUSED or (self.status is S.RESULT_READY and self.last_step)

    @property
    def late(self) -> bool:
        """Ever flagged overdue or finished after the due date (an apology does not make it on time)."""
        finished_late = self.finished_at is not None and self.finished_at > self.due_at
        return self.overdue or self.overdue_at is not None or finished_late

    def may(self, action: str, roles: frozenset[str]) -> Transition:
        """The transition for ``action`` if ``roles`` may take it now; Forbidden / IllegalTransition otherwise."""
        return check(action, current=self.status, roles=roles)

    # -- officials' actions ----------------------------------------------------------------------
    def act(self, action: str, *, actor: str, roles: frozenset[str], now: datetime, reason: str | None = None) -> None:
        """An action that needs nothing but the official's roles and reason (accept, process, reject, ...)."""
        self.may(action, roles)
        if action == "return" and self.chain_continues:
            raise Conflict(
                "chain_continues",
                f"step {self.chain_step + 1} of {len(self.chain)}: its result goes on to the next office of "
                "the inter-agency chain; the citizen gets the result once, after the last step",
            )
        self._move(action, actor=actor, roles=roles, now=now, reason=reason)

    def accept_automatically(self, *, now: datetime) -> None:
        """Accepted on opening at an office that accepts every dossier (same write as the opening)."""
        self._move("accept", actor="system", roles=frozenset(), now=now, system=True)

    def request_supplement(
        self, *, actor: str, roles: frozenset[str], now: datetime, reason: str | None, allowed: int | None
    ) -> None:
        """Ask the citizen for more documents: the clock pauses until they arrive."""
        self.may("request_supplement", roles)
        if allowed is not None and self.supplement_requests >= allowed:
            raise Conflict("supplement_limit", f"{self.procedure_code} allows {allowed} supplement request(s)")
        require_reason("request_supplement", reason)
        self.paused_at = now
        self.supplement_requests += 1
        self._move("request_supplement", actor=actor, roles=roles, now=now, reason=reason)

    def supplement_received(self, clock: LegalClock, *, received_at: datetime, now: datetime) -> None:
        """The citizen's supplement arrived: the due date moves later by exactly the paused working hours."""
        if self.status is not S.SUPPLEMENT_REQUESTED or self.paused_at is None:
            raise Unchanged("no supplement awaited")
        previous_due = self.due_at
        self.due_at, paused = resume_after_supplement(
            clock, due_at=self.due_at, paused_at=self.paused_at, now=received_at
        )
        self.paused_at = None
        self.paused_hours += paused
        self._move(
            "supplement_received",
            actor="citizen",
            roles=frozenset(),
            now=now,
            system=True,
            previous_due_at=previous_due,
            paused_working_hours=round(paused, 4),
        )

    def transfer(self, to: Transfer, *, actor: str, roles: frozenset[str], now: datetime, reason: str | None) -> None:
        """Hand the dossier over (wrong office, a named office, or the chain's next step); routing decides."""
        self.may("transfer", roles)
        if to.office is not None and (name_of_office(to.office) is None or to.office == self.office_code):
            raise InvalidInput(
                "unknown_office", f"to_office: {to.office!r} is not another office (office code such as 00073.UBND)"
            )
        told: dict[str, Any] = {
            "transfer_to_office": to.office,
            "transfer_to_next_step": to.next_step,
            "exclude_offices": to.exclude,
        }
        self._move("transfer", actor=actor, roles=roles, now=now, reason=reason, **told)

    def approve(
        self, result: ResultDocument, *, actor: str, roles: frozenset[str], now: datetime, reason: str | None = None
    ) -> None:
        """The leader approves: the signed result is attached and told with the event."""
        self.may("approve", roles)
        self.result = result
        self._move("approve", actor=actor, roles=roles, now=now, reason=reason, result=result)

    # -- the clock -------------------------------------------------------------------------------
    def flag_overdue(self, *, now: datetime) -> None:
        """Flag the case overdue once its due date has passed with the clock running (once)."""
        if self.overdue or not self.clock_running or self.due_at > now:
            raise Unchanged("not overdue, or flagged already")
        self.overdue = True
        self.overdue_at = now
        self._note("overdue", by="system", now=now)
        self._tell(action="overdue", actor_role="system", now=now)

    def apologise(
        self, *, by: str, roles: frozenset[str], reason: str, new_due_at: datetime, now: datetime, letter: LetterWriter
    ) -> None:
        """A leader's apology letter with a new appointment date: the case is no longer overdue (but stays late)."""
        may_apologise(roles)
        if not self.overdue or not self.is_open:
            raise Conflict("not_overdue", f"dossier {self.dossier_code} is not overdue")
        if new_due_at <= now:
            raise Conflict("invalid_due_date", "the new appointment date must be in the future")
        previous_due = self.due_at
        self.apology = Apology(letter(self, new_due_at, reason, by, now), reason, new_due_at, previous_due, now, by)
        self.due_at = new_due_at
        self.overdue = False
        self._note("apology", by=by, now=now, reason=reason)
        self._tell(action="apology", actor_role="leader", now=now, reason=reason, previous_due_at=previous_due)

    # -- the citizen -----------------------------------------------------------------------------
    def rate(self, *, token: str, score: int, comment: str | None, now: datetime) -> Rating:
        """The citizen's rating once the result was returned; the tracking token proves who they are."""
        given = hashlib.sha256(token.encode()).hexdigest()
        if not hmac.compare_digest(given, self.tracking_token_sha256 or ""):
            raise CaseNotFound(self.dossier_code)  # a wrong token looks like an unknown dossier
        if self.status is not S.RETURNED:
            raise Conflict("not_returned", "a dossier can be rated once its result has been returned")
        if self.rating is not None:
            raise Conflict("already_rated", "this dossier has already been rated")
        self.rating = Rating(score, comment, now)
        return self.rating

    # -- recording -------------------------------------------------------------------------------
    def _move(
        self,
        action: str,
        *,
        actor: str,
        roles: frozenset[str],
        now: datetime,
        system: bool = False,
        reason: str | None = None,
        **told: Any,
    ) -> None:
        """Take the transition of ``action``: new status, history line, the status event with the next version."""
        previous = self.status
        transition = check(action, current=previous, roles=roles, system=system)
        if not system:
            require_reason(action, reason)
        self.status = transition.target
        if transition.target in {S.RESULT_READY, S.REFUSED}:
            self.finished_at = now
        if transition.target is S.REFUSED:
            # the figures count refusals with a written reason
            self.refusal_reason = reason
        self._note(action, by=actor, now=now, reason=reason)
        self._tell(
            action=action,
            actor_role=",".join(sorted(roles)) or "system",
            now=now,
            reason=reason,
            previous_status=previous,
            **told,
        )

    def _note(self, action: str, *, by: str, now: datetime, reason: str | None = None) -> None:
        self.history.append(HistoryEntry(self.status, action, now, by, reason))

    def _tell(self, *, action: str, actor_role: str, now: datetime, **told: Any) -> None:
        """Record the ``dossier.status.v1`` event of this change, with the case's next version."""
        self.version += 1
        event = DossierStatusChanged(
            **{name: getattr(self, name) for name in _TOLD_OF_CASE},
            action=action,
            actor_role=actor_role,
            occurred_at=now,
            chain=list(self.chain),
            **told,
        )
        self.record(Topics.DOSSIER_STATUS, event, key=self.dossier_id, subject=self.dossier_code)
