"""Administrative units after the 2025 reform (34 provinces, 3,321 communes/wards) from ``vietnam-provinces``.

Codes are strings as on official lists: provinces two digits (``"01"`` Hà Nội), wards five digits
(``"00070"`` Phường Hoàn Kiếm). Numeric-looking input without the leading zeros is normalised.
"""

from __future__ import annotations

from functools import cache

import vietnam_provinces as vp
from pydantic import BaseModel, ConfigDict


class Province(BaseModel):
    """A province or centrally-run city (tỉnh / thành phố trực thuộc trung ương)."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    codename: str
    division_type: str


class Ward(BaseModel):
    """A commune-level unit (xã / phường / đặc khu)."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    codename: str
    division_type: str
    province_code: str


def normalise_province_code(code: str | int) -> str | None:
    """``"1"``, ``1`` or ``"01"`` → ``"01"``; None when not a number."""
    text = str(code).strip()
    return text.zfill(2) if text.isdigit() and len(text) <= 2 else None


def normalise_ward_code(code: str | int) -> str | None:
    """``"70"``, ``70`` or ``"00070"`` → ``"00070"``; None when not a number."""
    text = str(code).strip()
    return text.zfill(5) if text.isdigit() and len(text) <= 5 else None


@cache
def _index() -> tuple[dict[str, Province], dict[str, Ward], dict[str, list[Ward]]]:
    provinces = {
        f"{int(p.code):02d}": Province(
            code=f"{int(p.code):02d}", name=p.name, codename=p.codename, division_type=str(p.division_type.value)
        )
        for p in vp.Province.iter_all()
    }
    wards: dict[str, Ward] = {}
    by_province: dict[str, list[Ward]] = {code: [] for code in provinces}
    for w in vp.Ward.iter_all():
        ward = Ward(
            code=f"{int(w.code):05d}",
            name=w.name,
            codename=w.codename,
            division_type=str(w.division_type.value),
            province_code=f"{int(w.province_code):02d}",
        )
        wards[ward.code] = ward
        by_province[ward.province_code].append(ward)
    return provinces, wards, by_province


def provinces() -> list[Province]:
    """All 34 provinces, by code."""
    return sorted(_index()[0].values(), key=lambda p: p.code)


def get_province(code: str | int) -> Province | None:
    """The province with ``code``, or None."""
    key = normalise_province_code(code)
    return _index()[0].get(key) if key else None


def get_ward(code: str | int) -> Ward | None:
    """The commune/ward with ``code``, or None."""
    key = normalise_ward_code(code)
    return _index()[1].get(key) if key else None


def is_valid_ward(code: str | int) -> bool:
    """True when ``code`` is one of the 3,321 communes/wards."""
    return get_ward(code) is not None


def wards_of(province_code: str | int) -> list[Ward]:
    """Communes/wards of a province, by code (empty for an unknown province)."""
    key = normalise_province_code(province_code)
    return list(_index()[2].get(key, [])) if key else []
