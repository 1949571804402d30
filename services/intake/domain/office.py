"""The reception office a front-office key is bound to (commune centre or provincial centre)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.reference.admin_units import get_province, get_ward
from shared.reference.offices import parse_office_code


@dataclass(frozen=True)
class Office:
    """A reception office: its code, province and (for commune offices) ward."""

    code: str
    province_code: str
    ward_code: str | None


def office_of(code: str) -> Office:
    """Resolve an office code to its province and (for commune offices) ward; ValueError if unknown."""
    ref = parse_office_code(code)
    if ref.level == "commune":
        ward = get_ward(ref.unit_code)
        if ward is None or ward.code != ref.unit_code:
            raise ValueError(f"office {code!r}: no commune/ward {ref.unit_code!r}")
        return Office(code, ward.province_code, ward.code)
    province = get_province(ref.unit_code.removeprefix("P"))
    if province is None or f"P{province.code}" != ref.unit_code:
        raise ValueError(f"office {code!r}: no province {ref.unit_code!r}")
    return Office(code, province.code, None)
