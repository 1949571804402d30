"""Administrative units (2025 reform) and the procedure catalogue."""

from __future__ import annotations

from datetime import datetime

import pytest

from shared.reference.admin_units import get_province, get_ward, is_valid_ward, provinces, wards_of
from shared.reference.legal_clock import VIETNAM_TZ
from shared.reference.offices import OfficeKind
from shared.reference.procedures import load_catalogue


def test_two_tier_units() -> None:
    """34 provinces and 3,321 communes/wards, each ward in a known province."""
    assert len(provinces()) == 34
    assert sum(len(wards_of(p.code)) for p in provinces()) == 3321


def test_known_units_and_code_normalisation() -> None:
    """Hà Nội is 01 and Phường Hoàn Kiếm 00070; codes without leading zeros are accepted."""
    hanoi = get_province("01")
    assert hanoi is not None and hanoi.name == "Thành phố Hà Nội"
    ward = get_ward("70")
    assert ward is not None and ward.code == "00070" and ward.province_code == "01"
    assert get_ward("00070") == ward and is_valid_ward(70)


@pytest.mark.parametrize("code", ["99999", "abc", "", "1234567"])
def test_unknown_units(code: str) -> None:
    """Unknown or malformed codes return None."""
    assert get_ward(code) is None and not is_valid_ward(code)


def test_catalogue_is_large_and_consistent() -> None:
    """At least 40 procedures, unique codes, chains that point at known procedures."""
    catalogue = load_catalogue()
    codes = [p.code for p in catalogue.all()]
    assert len(codes) >= 40 and len(set(codes)) == len(codes)
    for p in catalogue.all():
        assert all(catalogue.get(c) is not None for c in p.chain)
        assert p.required_documents, p.code


def test_legal_times_of_the_domain_table() -> None:
    """Legal times from docs/domain.md: birth same day, copies same day with 15:00 cut-off, and the others."""
    c = load_catalogue()
    birth, copy = c.get("LT-HT-001"), c.get("LT-CT-101")
    assert (
        birth is not None
        and birth.processing_days == 0
        and birth.competent_office_type is OfficeKind.COMMUNE_PEOPLE_COMMITTEE
    )
    assert copy is not None and copy.processing_days == 0 and str(copy.same_day_cutoff) == "15:00:00"
    assert c.get("LT-KD-001").processing_days == 3  # type: ignore[union-attr]
    assert c.get("LT-CT-001").processing_days == 7  # type: ignore[union-attr]
    permit = c.get("LT-XD-001")
    assert permit is not None and permit.processing_days == 15 and permit.max_supplement_requests == 1
    land = c.get("LT-DD-001")
    assert land is not None and [s.days for s in land.stages] == [17, 3] and land.subject_basis == "subject_location"
    assert birth.chain == ("LT-CT-001", "LT-BH-001")


def test_same_day_cutoff() -> None:
    """A certified copy received after 15:00 is due at the end of the next working day."""
    copy = load_catalogue().get("LT-CT-101")
    assert copy is not None
    assert copy.due_at(datetime(2026, 11, 25, 14, 59, tzinfo=VIETNAM_TZ)).day == 25
    assert copy.due_at(datetime(2026, 11, 25, 15, 1, tzinfo=VIETNAM_TZ)) == datetime(
        2026, 11, 26, 17, 0, tzinfo=VIETNAM_TZ
    )
