"""Which figures an official may see (phạm vi xem số liệu) — pure, no I/O.

- ``national``: every province; may narrow to a province or an office.
- ``operations``: the province of their own office (a provincial operations centre); may narrow to an office
  of that province; asking for another province or its office is refused.
- ``leader``: their own office only.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.resolution.domain.case import LEADER, NATIONAL, OPERATIONS
from services.resolution.domain.figures import office_province


class ScopeRefused(Exception):
    """The official may not see the figures asked for."""


@dataclass(frozen=True)
class Scope:
    """The cases whose figures an official sees: all, one province, or one office."""

    kind: str  # "national" | "province" | "office"
    province_code: str | None = None
    office_code: str | None = None


def scope_for(
    *, office: str, roles: frozenset[str], province_code: str | None = None, office_code: str | None = None
) -> Scope:
    """The scope of an official with ``roles`` at ``office`` asking for ``province_code`` / ``office_code``."""
    if office_code is not None and province_code is not None and office_province(office_code) != province_code:
        raise ScopeRefused(f"office {office_code} is not in province {province_code}")
    if NATIONAL in roles:
        if office_code is not None:
            return Scope("office", office_province(office_code), office_code)
        return Scope("province", province_code) if province_code else Scope("national")
    if OPERATIONS in roles:
        own = office_province(office)
        asked = province_code or (office_province(office_code) if office_code else None) or own
        if asked != own:
            raise ScopeRefused(f"an operations official of province {own} sees only that province")
        return Scope("office", own, office_code) if office_code else Scope("province", own)
    if LEADER in roles:
        if office_code not in (None, office) or province_code not in (None, office_province(office)):
            raise ScopeRefused("a leader sees only their own office")
        return Scope("office", office_province(office), office)
    raise ScopeRefused("figures need the leader, operations or national role")
