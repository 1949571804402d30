"""Office codes: one stable naming scheme that intake, routing, resolution and officials' tokens share.

An office code is ``<unit code>.<kind suffix>``: the official code of the commune/ward or province
(from ``vietnam-provinces``) and a suffix for the kind of office, e.g. ``00004.UBND`` (People's
Committee of ward 00004), ``00004.TTHCC`` (its service centre), ``P01.STP`` (Hà Nội Department of
Justice). Province units carry a ``P`` before their code so commune and province codes never collide.
Dossier codes are ``<office code>-<yyMMdd>-<seq>`` (docs/domain.md).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from typing import Literal, NamedTuple

from shared.reference.admin_units import Province, get_province, get_ward, provinces, wards_of

Locale = Literal["vi", "en"]


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


_UNIT = re.compile(r"P[0-9]{2}|[0-9]{5}")


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
    if not _UNIT.fullmatch(unit):
        # only digits (and the province P): codes name key files and come from unauthenticated callers
        raise ValueError(f"office code {code[:60]!r}: the unit must be a 5-digit ward or P + 2-digit province code")
    return OfficeRef(unit, kind)


#: Name of each kind of office in Vietnamese and English; ``{unit}`` is the commune/ward or province.
OFFICE_NAMES: dict[OfficeKind, tuple[str, str]] = {
    OfficeKind.COMMUNE_PEOPLE_COMMITTEE: ("Ủy ban nhân dân {unit}", "People's Committee of {unit}"),
    OfficeKind.COMMUNE_SERVICE_CENTRE: (
        "Trung tâm phục vụ hành chính công {unit}",
        "Public Administration Service Centre of {unit}",
    ),
    OfficeKind.COMMUNE_POLICE: ("Công an {unit}", "Police of {unit}"),
    OfficeKind.COMMUNE_BUSINESS_REGISTRATION: (
        "Bộ phận đăng ký kinh doanh {unit}",
        "Business Registration Office of {unit}",
    ),
    OfficeKind.PROVINCE_SERVICE_CENTRE: (
        "Trung tâm phục vụ hành chính công {unit}",
        "Public Administration Service Centre of {unit}",
    ),
    OfficeKind.PROVINCE_DEPARTMENT_JUSTICE: ("Sở Tư pháp {unit}", "Department of Justice of {unit}"),
    OfficeKind.PROVINCE_DEPARTMENT_CONSTRUCTION: ("Sở Xây dựng {unit}", "Department of Construction of {unit}"),
    OfficeKind.PROVINCE_DEPARTMENT_AGRICULTURE_ENVIRONMENT: (
        "Sở Nông nghiệp và Môi trường {unit}",
        "Department of Agriculture and Environment of {unit}",
    ),
    OfficeKind.PROVINCE_DEPARTMENT_FINANCE: ("Sở Tài chính {unit}", "Department of Finance of {unit}"),
    OfficeKind.PROVINCE_POLICE: ("Công an {unit}", "Police of {unit}"),
    OfficeKind.PROVINCE_SOCIAL_INSURANCE: ("Bảo hiểm xã hội {unit}", "Social Insurance of {unit}"),
}


def province_unit_name(province: Province, locale: Locale = "vi") -> str:
    """``thành phố Hà Nội`` / ``tỉnh Quảng Ninh`` as an office name writes it (``Hà Nội`` in English)."""
    short = province.name.removeprefix("Thành phố ").removeprefix("Tỉnh ")
    if locale == "en":
        return short
    return f"{'thành phố' if province.division_type.startswith('thành phố') else 'tỉnh'} {short}"


def name_of(kind: OfficeKind, unit: str, locale: Locale = "vi") -> str:
    """The name of a ``kind`` office of the unit named ``unit``."""
    vi, en = OFFICE_NAMES[kind]
    return (en if locale == "en" else vi).format(unit=unit)


def office_name(code: str, locale: Locale = "vi") -> str | None:
    """The name of the office with ``code`` (``00070.UBND`` → ``Ủy ban nhân dân Phường Hoàn Kiếm``), or None."""
    try:
        ref = parse_office_code(code)
    except ValueError:
        return None
    if ref.level == "commune":
        ward = get_ward(ref.unit_code)
        return name_of(ref.kind, ward.name, locale) if ward and ward.code == ref.unit_code else None
    province = get_province(ref.unit_code.removeprefix("P"))
    if province is None or f"P{province.code}" != ref.unit_code:
        return None
    return name_of(ref.kind, province_unit_name(province, locale), locale)


@cache
def longest_office_name(locale: Locale = "vi") -> str:
    """The longest name of any office of the 34 provinces and 3,321 communes (message-length budgets)."""
    names = [
        name_of(kind, province_unit_name(p, locale), locale)
        for p in provinces()
        for kind in OfficeKind
        if kind.level == "province"
    ]
    names += [
        name_of(kind, w.name, locale)
        for p in provinces()
        for w in wards_of(p.code)
        for kind in OfficeKind
        if kind.level == "commune"
    ]
    return max(names, key=len)


def known_office(code: str) -> bool:
    """True when ``code`` follows the scheme and names a real commune/ward or province (the registry's units)."""
    return len(code) <= 40 and office_name(code) is not None


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
