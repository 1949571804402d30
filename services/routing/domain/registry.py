"""The office registry, generated from the official administrative units (no I/O beyond the package data).

For every commune/ward: its People's Committee (UBND), public administration service centre (TTHCC),
police (CA) and business-registration office (DKKD). For every province: its service centre and the
departments that own procedures. Codes follow shared/reference/offices.py and are stable because the unit codes are.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from shared.reference.admin_units import provinces, wards_of
from shared.reference.offices import OfficeKind, name_of, office_code, province_unit_name


@dataclass(frozen=True)
class Office:
    """An office that can be competent for procedures."""

    code: str
    name: str
    kind: OfficeKind
    level: str
    province_code: str
    ward_code: str | None


@dataclass(frozen=True)
class Registry:
    """All offices, indexed for routing decisions."""

    offices: dict[str, Office]
    by_ward_kind: dict[tuple[str, OfficeKind], Office]
    by_province_kind: dict[tuple[str, OfficeKind], list[Office]]

    def get(self, code: str) -> Office | None:
        """An office by code."""
        return self.offices.get(code)


@cache
def build_registry() -> Registry:
    """Generate every office of the 34 provinces and 3,321 communes."""
    offices: dict[str, Office] = {}
    by_ward_kind: dict[tuple[str, OfficeKind], Office] = {}
    by_province_kind: dict[tuple[str, OfficeKind], list[Office]] = {}
    for province in provinces():
        for kind in (k for k in OfficeKind if k.level == "province"):
            office = Office(
                office_code(province.code, kind),
                name_of(kind, province_unit_name(province)),
                kind,
                "province",
                province.code,
                None,
            )
            offices[office.code] = office
            by_province_kind.setdefault((province.code, kind), []).append(office)
        for ward in wards_of(province.code):
            for kind in (k for k in OfficeKind if k.level == "commune"):
                office = Office(
                    office_code(ward.code, kind),
                    name_of(kind, ward.name),
                    kind,
                    "commune",
                    province.code,
                    ward.code,
                )
                offices[office.code] = office
                by_ward_kind[(ward.code, kind)] = office
                by_province_kind.setdefault((province.code, kind), []).append(office)
    return Registry(offices, by_ward_kind, by_province_kind)
