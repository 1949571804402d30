"""The office registry, generated from the official administrative units (no I/O beyond the package data).

For every commune/ward: its People's Committee (UBND), public administration service centre (TTHCC),
police (CA) and business-registration office (DKKD). For every province: its service centre and the
departments that own procedures. Codes follow shared/offices.py and are stable because the unit codes are.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from shared.admin_units import provinces, wards_of
from shared.offices import OfficeKind, office_code

_COMMUNE_NAMES = {
    OfficeKind.COMMUNE_PEOPLE_COMMITTEE: "Ủy ban nhân dân {unit}",
    OfficeKind.COMMUNE_SERVICE_CENTRE: "Trung tâm phục vụ hành chính công {unit}",
    OfficeKind.COMMUNE_POLICE: "Công an {unit}",
    OfficeKind.COMMUNE_BUSINESS_REGISTRATION: "Bộ phận đăng ký kinh doanh {unit}",
}
_PROVINCE_NAMES = {
    OfficeKind.PROVINCE_SERVICE_CENTRE: "Trung tâm phục vụ hành chính công {unit}",
    OfficeKind.PROVINCE_DEPARTMENT_JUSTICE: "Sở Tư pháp {unit}",
    OfficeKind.PROVINCE_DEPARTMENT_CONSTRUCTION: "Sở Xây dựng {unit}",
    OfficeKind.PROVINCE_DEPARTMENT_AGRICULTURE_ENVIRONMENT: "Sở Nông nghiệp và Môi trường {unit}",
    OfficeKind.PROVINCE_DEPARTMENT_FINANCE: "Sở Tài chính {unit}",
    OfficeKind.PROVINCE_POLICE: "Công an {unit}",
    OfficeKind.PROVINCE_SOCIAL_INSURANCE: "Bảo hiểm xã hội {unit}",
}


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
        short = province.name.removeprefix("Thành phố ").removeprefix("Tỉnh ")
        for kind, template in _PROVINCE_NAMES.items():
            office = Office(
                office_code(province.code, kind),
                template.format(unit=f"tỉnh/thành phố {short}"),
                kind,
                "province",
                province.code,
                None,
            )
            offices[office.code] = office
            by_province_kind.setdefault((province.code, kind), []).append(office)
        for ward in wards_of(province.code):
            for kind, template in _COMMUNE_NAMES.items():
                office = Office(
                    office_code(ward.code, kind),
                    template.format(unit=ward.name),
                    kind,
                    "commune",
                    province.code,
                    ward.code,
                )
                offices[office.code] = office
                by_ward_kind[(ward.code, kind)] = office
                by_province_kind.setdefault((province.code, kind), []).append(office)
    return Registry(offices, by_ward_kind, by_province_kind)
