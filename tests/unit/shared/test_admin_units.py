"""Administrative units after the 2025 reform: 34 provinces, 3,321 communes/wards, official codes."""

from __future__ import annotations

from collections import Counter

import pytest

from shared.reference.admin_units import (
    get_province,
    get_ward,
    is_valid_ward,
    normalise_province_code,
    normalise_ward_code,
    provinces,
    wards_of,
)


def test_two_tier_totals() -> None:
    """Exactly 34 provinces and 3,321 communes/wards; every ward belongs to exactly one province."""
    all_provinces = provinces()
    assert len(all_provinces) == 34
    assert [p.code for p in all_provinces] == sorted(p.code for p in all_provinces)
    wards = [w for p in all_provinces for w in wards_of(p.code)]
    assert len(wards) == 3321
    assert len({w.code for w in wards}) == 3321
    assert all(len(w.code) == 5 and w.code.isdigit() for w in wards)
    assert Counter(p.division_type for p in all_provinces) == {"tỉnh": 28, "thành phố trung ương": 6}
    assert set(Counter(w.division_type for w in wards)) == {"xã", "phường", "đặc khu"}


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("01", "Thành phố Hà Nội"),
        ("79", "Thành phố Hồ Chí Minh"),
        ("46", "Thành phố Huế"),
        ("22", "Quảng Ninh"),
        ("91", "An Giang"),
    ],
)
def test_known_provinces(code: str, name: str) -> None:
    """A few provinces with their official codes."""
    province = get_province(code)
    assert province is not None
    assert (province.code, province.name) == (code, name)


@pytest.mark.parametrize(
    ("code", "name", "division_type", "province_code"),
    [
        ("00004", "Phường Ba Đình", "phường", "01"),
        ("00070", "Phường Hoàn Kiếm", "phường", "01"),
        ("31078", "Đặc khu Phú Quốc", "đặc khu", "91"),
        ("26732", "Đặc khu Côn Đảo", "đặc khu", "79"),
    ],
)
def test_known_wards(code: str, name: str, division_type: str, province_code: str) -> None:
    """Known communes/wards carry their name, division type and province."""
    ward = get_ward(code)
    assert ward is not None
    assert (ward.code, ward.name, ward.division_type, ward.province_code) == (code, name, division_type, province_code)
    assert ward in wards_of(province_code)
    assert is_valid_ward(code)


@pytest.mark.parametrize(
    ("given", "province", "ward"),
    [
        ("4", "04", "00004"),
        ("04", "04", "00004"),
        (" 00004 ", None, "00004"),
        (4, "04", "00004"),
        ("1", "01", "00001"),
        ("70", "70", "00070"),
        ("", None, None),
        ("  ", None, None),
        ("abc", None, None),
        ("-4", None, None),
        ("4.0", None, None),
        ("000004", None, None),
        ("０４", None, None),  # full-width digits are not ASCII
    ],
)
def test_code_normalisation(given: str | int, province: str | None, ward: str | None) -> None:
    """Strip whitespace, ASCII digits only, left-pad to the official width; anything else is not a code."""
    assert normalise_province_code(given) == province
    assert normalise_ward_code(given) == ward


def test_lookups_accept_codes_without_leading_zeros() -> None:
    """ "4" and 4 find Phường Ba Đình ("00004"); "1" finds Hà Nội ("01")."""
    assert get_ward("4") == get_ward(4) == get_ward("00004")
    hanoi = get_province("1")
    assert hanoi is not None and hanoi.code == "01"


@pytest.mark.parametrize("code", ["99999", "00001", "abc", "", "1234567", "00004x"])
def test_unknown_wards(code: str) -> None:
    """Unknown or malformed ward codes look up as None."""
    assert get_ward(code) is None
    assert not is_valid_ward(code)


@pytest.mark.parametrize("code", ["00", "02", "99", "P01", "001", "x"])
def test_unknown_provinces(code: str) -> None:
    """Unknown or malformed province codes look up as None and have no wards."""
    assert get_province(code) is None
    assert wards_of(code) == []


def test_results_are_copies_and_models_are_frozen() -> None:
    """Callers cannot corrupt the shared index."""
    wards = wards_of("01")
    wards.clear()
    assert len(wards_of("01")) == 126
    ward = get_ward("00004")
    assert ward is not None
    with pytest.raises(ValueError):
        ward.name = "x"  # type: ignore[misc]
