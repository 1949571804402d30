"""The case state machine at one office (xử lý hồ sơ) — statuses, who may do what, and the legal clock.

Pure: no I/O. A case is one dossier at one office (one routing decision).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.events import DossierStatus as S
from shared.reference.legal_clock import LegalClock

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


def resume_after_supplement(
    clock: LegalClock, *, due_at: datetime, paused_at: datetime, now: datetime
) -> tuple[datetime, float]:
    """New due date and paused working hours when the supplement arrives (the clock paused meanwhile)."""
    paused = clock.working_hours_between(paused_at, now)
    return clock.shift_due(due_at, paused), paused
