"""Administrative units after the 2025 reform (34 provinces, 3,321 communes/wards) from ``vietnam-provinces``.

Codes are strings as on the official lists: provinces have two digits (``"01"`` Thành phố Hà Nội), communes
and wards five (``"00004"`` Phường Ba Đình). Normalisation, applied to every code given to this module:
surrounding whitespace is stripped, the rest must be ASCII digits only, and it is left-padded with zeros to
the official width (``"4"`` → ``"00004"``, ``"1"`` → ``"01"``), because spreadsheets and JSON numbers
routinely drop leading zeros. Anything else (letters, signs, more digits than the width, empty) is unknown
and looks up as None. Returned models always carry the padded official code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import vietnam_provinces as vp
from pydantic import BaseModel, ConfigDict

PROVINCE_CODE_WIDTH = 2
WARD_CODE_WIDTH = 5


class Province(BaseModel):
    """A province or centrally-run city (tỉnh / thành phố trực thuộc trung ương)."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    codename: str
    division_type: str  # "tỉnh" or "thành phố trung ương"


class Ward(BaseModel):
    """A commune-level unit (xã / phường / đặc khu)."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    codename: str
    division_type: str  # "xã", "phường" or "đặc khu"
    province_code: str


def _normalise(code: str | int, width: int) -> str | None:
    text = str(code).strip()
    if not text or len(text) > width or not (text.isascii() and text.isdigit()):
        return None
    return text.zfill(width)


def normalise_province_code(code: str | int) -> str | None:
    """``"1"``, ``" 01 "`` or ``1`` → ``"01"``; None when it cannot be a province code."""
    return _normalise(code, PROVINCE_CODE_WIDTH)


def normalise_ward_code(code: str | int) -> str | None:
    """``"4"``, ``"00004"`` or ``4`` → ``"00004"``; None when it cannot be a commune/ward code."""
    return _normalise(code, WARD_CODE_WIDTH)


@dataclass(frozen=True)
class _Index:
    provinces: dict[str, Province]
    ordered_provinces: tuple[Province, ...]
    wards: dict[str, Ward]
    wards_by_province: dict[str, tuple[Ward, ...]]


@cache
def _index() -> _Index:
    """Read the package data once; every lookup afterwards is a dict access."""
    provinces = {
        p.code: p
        for p in (
            Province(
                code=f"{int(source.code):0{PROVINCE_CODE_WIDTH}d}",
                name=source.name,
                codename=source.codename,
                division_type=str(source.division_type.value),
            )
            for source in vp.Province.iter_all()
        )
    }
    wards: dict[str, Ward] = {}
    by_province: dict[str, list[Ward]] = {code: [] for code in provinces}
    for source in vp.Ward.iter_all():
        ward = Ward(
            code=f"{int(source.code):0{WARD_CODE_WIDTH}d}",
            name=source.name,
            codename=source.codename,
            division_type=str(source.division_type.value),
            province_code=f"{int(source.province_code):0{PROVINCE_CODE_WIDTH}d}",
        )
        wards[ward.code] = ward
        by_province[ward.province_code].append(ward)  # KeyError here means the package data is inconsistent
    return _Index(
        provinces=provinces,
        ordered_provinces=tuple(sorted(provinces.values(), key=lambda p: p.code)),
        wards=wards,
        wards_by_province={code: tuple(ws) for code, ws in by_province.items()},
    )


def provinces() -> list[Province]:
    """All 34 provinces, ordered by code."""
    return list(_index().ordered_provinces)


def get_province(code: str | int) -> Province | None:
    """The province with ``code`` (normalised, see the module docstring), or None."""
    key = normalise_province_code(code)
    return _index().provinces.get(key) if key else None


def get_ward(code: str | int) -> Ward | None:
    """The commune/ward/special zone with ``code`` (normalised, see the module docstring), or None."""
    key = normalise_ward_code(code)
    return _index().wards.get(key) if key else None


def is_valid_ward(code: str | int) -> bool:
    """True when ``code`` is one of the 3,321 communes/wards."""
    return get_ward(code) is not None


def wards_of(province_code: str | int) -> list[Ward]:
    """Communes/wards of a province in the official list's order (empty for an unknown province)."""
    key = normalise_province_code(province_code)
    return list(_index().wards_by_province.get(key, ())) if key else []
