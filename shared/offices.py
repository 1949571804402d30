"""Office codes: one stable naming scheme that intake, routing, resolution and officials' tokens share.

An office code is ``<unit code>.<kind suffix>``: the official code of the commune/ward or province
(from ``vietnam-provinces``) and a suffix for the kind of office, e.g. ``00004.UBND`` (People's
Committee of ward 00004), ``00004.TTHCC`` (its service centre), ``P01.STP`` (Hà Nội Department of
Justice). Province units carry a ``P`` before their code so commune and province codes never collide.
Dossier codes are ``<office code>-<yyMMdd>-<seq>`` (DOMAIN.md).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from shared.admin_units import get_province, get_ward


class OfficeKind(StrEnum):
    """Kinds of office; the value is the code suffix."""

    COMMUNE_PEOPLE_COMMITTEE = "UBND"  # Ủy ban nhân dân xã/phường
    COMMUNE_SERVICE_CENTRE = "TTHCC"  # Trung tâm phục vụ hành chính công xã
    COMMUNE_POLICE = "CA"  # Công an xã/phường
    COMMUNE_BUSINESS_REGISTRATION = "DKKD"  # bộ phận đăng ký kinh doanh cấp xã
    PROVINCE_SERVICE_CENTRE = "TTPVHCC"  # Trung tâm phục vụ hành chính công tỉnh
    PROVINCE_DEPARTMENT_JUSTICE = "STP"  # Sở Tư pháp
    PROVINCE_DEPARTMENT_CONSTRUCTION = "SXD"  # Sở Xây dựng
    PROVINCE_DEPARTMENT_AGRICULTURE_ENVIRONMENT = "SNNMT"  # Sở Nông nghiệp và Môi trường
    PROVINCE_DEPARTMENT_FINANCE = "STC"  # Sở Tài chính
    PROVINCE_POLICE = "CAT"  # Công an tỉnh
    PROVINCE_SOCIAL_INSURANCE = "BHXH"  # Bảo hiểm xã hội tỉnh

    @property
    def level(self) -> str:
        """``commune`` or ``province``."""
        return "commune" if self.name.startswith("COMMUNE_") else "province"


class OfficeRef(NamedTuple):
    """A parsed office code."""

    unit_code: str
    kind: OfficeKind

    @property
    def level(self) -> str:
        """``commune`` or ``province``."""
        return self.kind.level

    @property
    def code(self) -> str:
        """The office code again."""
        return office_code(self.unit_code, self.kind)


def office_code(unit_code: str, kind: OfficeKind) -> str:
    """Office code for ``kind`` at a commune (ward code) or province (``P`` + province code)."""
    if kind.level == "province" and not unit_code.startswith("P"):
        unit_code = f"P{unit_code}"
    return f"{unit_code}.{kind.value}"


def parse_office_code(code: str) -> OfficeRef:
    """Split an office code; ``ValueError`` when it does not follow the scheme."""
    unit, sep, suffix = code.rpartition(".")
    if not sep or not unit:
        raise ValueError(f"office code {code!r} is not <unit>.<kind>")
    try:
        kind = OfficeKind(suffix)
    except ValueError as exc:
        raise ValueError(f"office code {code!r} has an unknown kind {suffix!r}") from exc
    if (kind.level == "province") != unit.startswith("P"):
        raise ValueError(f"office code {code!r}: {kind.level} office on the wrong kind of unit")
    return OfficeRef(unit, kind)


#: How an office of each kind is named after its commune/ward or province (``{unit}``).
COMMUNE_OFFICE_NAMES = {
    OfficeKind.COMMUNE_PEOPLE_COMMITTEE: "Ủy ban nhân dân {unit}",
    OfficeKind.COMMUNE_SERVICE_CENTRE: "Trung tâm phục vụ hành chính công {unit}",
    OfficeKind.COMMUNE_POLICE: "Công an {unit}",
    OfficeKind.COMMUNE_BUSINESS_REGISTRATION: "Bộ phận đăng ký kinh doanh {unit}",
}
PROVINCE_OFFICE_NAMES = {
    OfficeKind.PROVINCE_SERVICE_CENTRE: "Trung tâm phục vụ hành chính công {unit}",
    OfficeKind.PROVINCE_DEPARTMENT_JUSTICE: "Sở Tư pháp {unit}",
    OfficeKind.PROVINCE_DEPARTMENT_CONSTRUCTION: "Sở Xây dựng {unit}",
    OfficeKind.PROVINCE_DEPARTMENT_AGRICULTURE_ENVIRONMENT: "Sở Nông nghiệp và Môi trường {unit}",
    OfficeKind.PROVINCE_DEPARTMENT_FINANCE: "Sở Tài chính {unit}",
    OfficeKind.PROVINCE_POLICE: "Công an {unit}",
    OfficeKind.PROVINCE_SOCIAL_INSURANCE: "Bảo hiểm xã hội {unit}",
}


def province_unit_name(province_name: str) -> str:
    """``Thành phố Hà Nội`` → ``tỉnh/thành phố Hà Nội`` (the unit part of a province office's name)."""
    short = province_name.removeprefix("Thành phố ").removeprefix("Tỉnh ")
    return f"tỉnh/thành phố {short}"


def office_name(code: str) -> str | None:
    """The Vietnamese name of an office (``00070.UBND`` → ``Ủy ban nhân dân Phường Hoàn Kiếm``); None if unknown."""
    try:
        ref = parse_office_code(code)
    except ValueError:
        return None
    if ref.level == "commune":
        ward = get_ward(ref.unit_code)
        if ward is None or ward.code != ref.unit_code:
            return None
        return COMMUNE_OFFICE_NAMES[ref.kind].format(unit=ward.name)
    province = get_province(ref.unit_code.removeprefix("P"))
    if province is None or f"P{province.code}" != ref.unit_code:
        return None
    return PROVINCE_OFFICE_NAMES[ref.kind].format(unit=province_unit_name(province.name))


class Letterhead(NamedTuple):
    """What the top-left block and the place line of an office's paper say."""

    parent: str  # the unit above (the province), printed above the office's name
    name: str  # the office's name
    place: str  # the place in "<place>, ngày … tháng … năm …"


_UNIT_PREFIXES = ("Thành phố ", "Tỉnh ", "Phường ", "Xã ", "Đặc khu ")


def _short(name: str) -> str:
    for prefix in _UNIT_PREFIXES:
        if name.startswith(prefix):
            return name.removeprefix(prefix)
    return name


def letterhead(code: str) -> Letterhead:
    """The letterhead of an office (unknown codes print as themselves, never fail a print)."""
    name = office_name(code) or code
    try:
        ref = parse_office_code(code)
    except ValueError:
        return Letterhead("", name, "")
    ward = get_ward(ref.unit_code) if ref.level == "commune" else None
    province = get_province(ward.province_code if ward else ref.unit_code.removeprefix("P"))
    parent = province.name if province else ""
    place = _short(ward.name) if ward else (_short(province.name) if province else "")
    return Letterhead(parent, name, place)
