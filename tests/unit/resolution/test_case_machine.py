"""The case state machine: every allowed transition per role, and forbidden ones."""

from __future__ import annotations

import pytest

from services.resolution.domain.case import TRANSITIONS, Forbidden, IllegalTransition, check
from shared.events import DossierStatus as S

ALL_ROLES = {"clerk", "specialist", "leader"}


@pytest.mark.parametrize(
    ("action", "source"), [(t.action, s) for t in TRANSITIONS.values() for s in sorted(t.sources, key=str)]
)
def test_every_allowed_transition(action: str, source: S) -> None:
    """Each action succeeds from each of its source statuses for a role that holds it."""
    transition = TRANSITIONS[action]
    roles = set(transition.roles) or ALL_ROLES
    assert check(action, current=source, roles=roles, system=not transition.roles).target is transition.target


@pytest.mark.parametrize(
    ("action", "source"),
    [
        ("approve", S.RECEIVED),
        ("return", S.IN_PROCESS),
        ("accept", S.RETURNED),
        ("transfer", S.REFUSED),
        ("request_supplement", S.SUPPLEMENT_REQUESTED),
        ("process", S.RESULT_READY),
        ("withdraw", S.RETURNED),
    ],
)
def test_illegal_transitions(action: str, source: S) -> None:
    """Actions from a status outside their sources raise IllegalTransition naming the current status."""
    with pytest.raises(IllegalTransition) as info:
        check(action, current=source, roles=ALL_ROLES)
    assert info.value.current is source


@pytest.mark.parametrize(
    ("action", "roles"),
    [("approve", {"clerk"}), ("approve", {"specialist"}), ("reject", {"clerk"}), ("accept", {"specialist"})],
)
def test_roles_are_enforced(action: str, roles: set[str]) -> None:
    """A role that does not hold the action is refused before the status is looked at."""
    with pytest.raises(Forbidden):
        check(action, current=S.IN_PROCESS, roles=roles)
