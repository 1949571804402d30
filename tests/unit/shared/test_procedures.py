"""The procedure catalogue: content, the docs/domain.md legal times, the same-day cut-off and loud validation."""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, time
from importlib import resources
from typing import Any

import pytest
from pydantic import ValidationError

from shared.reference.legal_clock import VIETNAM_TZ
from shared.reference.offices import OfficeKind
from shared.reference.procedures import (
    OFFICE_TYPE_DESCRIPTIONS,
    Catalogue,
    CompetentOfficeType,
    Procedure,
    load_catalogue,
)

CATALOGUE = load_catalogue()


def raw_catalogue() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(
        (resources.files("shared") / "reference" / "procedures.json").read_text(encoding="utf-8")
    )
    return raw


def vn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VIETNAM_TZ)


def procedure(code: str) -> Procedure:
    found = CATALOGUE.get(code)
    assert found is not None, code
    return found


def test_catalogue_is_large_versioned_and_consistent() -> None:
    """At least 40 procedures, unique codes (ours and national), chains that point at known procedures."""
    procedures = CATALOGUE.all()
    assert len(procedures) >= 40
    assert CATALOGUE.version and CATALOGUE.effective_from.isoformat() == "2025-07-01"
    codes = [p.code for p in procedures]
    assert len(set(codes)) == len(codes)
    national = [p.national_code for p in procedures if p.national_code is not None]
    assert len(set(national)) == len(national) >= 20
    assert all(re.fullmatch(r"\d\.\d{6}", n) for n in national)
    for p in procedures:
        assert all(CATALOGUE.get(c) is not None for c in p.chain), p.code
        assert p.mandatory_documents, p.code
        assert p.competent_office_type.level == p.level, p.code
    assert load_catalogue() is CATALOGUE


def test_domain_table_legal_times() -> None:
    """docs/domain.md: birth same day; copy same day, 15:00 cut-off; household business 3; residence 7; permit 15."""
    birth, copy_, business = procedure("LT-HT-001"), procedure("LT-CT-101"), procedure("LT-KD-001")
    residence, permit = procedure("LT-CT-001"), procedure("LT-XD-001")
    assert (birth.processing_days, birth.same_day_cutoff) == (0, None)
    assert birth.competent_office_type is OfficeKind.COMMUNE_PEOPLE_COMMITTEE
    assert (copy_.processing_days, copy_.same_day_cutoff) == (0, time(15, 0))
    assert copy_.competent_office_type is OfficeKind.COMMUNE_PEOPLE_COMMITTEE
    assert business.processing_days == 3
    assert business.competent_office_type is OfficeKind.COMMUNE_BUSINESS_REGISTRATION
    assert residence.processing_days == 7 and residence.competent_office_type is OfficeKind.COMMUNE_POLICE
    assert (permit.processing_days, permit.max_supplement_requests, permit.supplement_request_within_days) == (15, 1, 7)
    assert permit.competent_office_type is OfficeKind.COMMUNE_PEOPLE_COMMITTEE


def test_first_land_registration_is_17_plus_3_days_at_the_parcel_commune() -> None:
    """First land registration: 20 working days modelled as 17 (registration) + 3 (certificate); transfers 8."""
    land = procedure("LT-DD-001")
    assert [s.days for s in land.stages] == [17, 3]
    assert land.processing_days == 20
    assert land.subject_basis == "subject_location"
    assert land.competent_office_type is OfficeKind.COMMUNE_PEOPLE_COMMITTEE
    assert procedure("LT-DD-002").processing_days == 8
    # 20 working days from Mon 2 Nov 2026 09:00, skipping Tue 24 Nov (Vietnamese Culture Day)
    assert land.due_at(vn(2026, 11, 2, 9)) == vn(2026, 12, 1, 9)


def test_birth_registration_chain() -> None:
    """Liên thông: birth registration → permanent residence registration → health insurance card under 6."""
    birth = procedure("1.001193")
    assert birth.code == "LT-HT-001"
    assert birth.chain == ("LT-CT-001", "LT-BH-001")
    assert procedure(birth.chain[0]).national_code == "1.004222"
    assert procedure(birth.chain[1]).competent_office_type is OfficeKind.PROVINCE_SOCIAL_INSURANCE


@pytest.mark.parametrize(
    ("code", "national_code", "level", "office"),
    [
        ("LT-HT-001", "1.001193", "commune", OfficeKind.COMMUNE_PEOPLE_COMMITTEE),  # birth
        ("LT-HT-002", "1.000656", "commune", OfficeKind.COMMUNE_PEOPLE_COMMITTEE),  # death
        ("LT-HT-003", "1.000894", "commune", OfficeKind.COMMUNE_PEOPLE_COMMITTEE),  # marriage
        ("LT-CT-101", "2.000815", "commune", OfficeKind.COMMUNE_PEOPLE_COMMITTEE),  # certified copy
        ("LT-CT-102", "2.000884", "commune", OfficeKind.COMMUNE_PEOPLE_COMMITTEE),  # signature certification
        ("LT-KD-001", "1.001612", "commune", OfficeKind.COMMUNE_BUSINESS_REGISTRATION),  # household business
        ("LT-CT-001", "1.004222", "commune", OfficeKind.COMMUNE_POLICE),  # permanent residence
        ("LT-CT-002", "1.004194", "commune", OfficeKind.COMMUNE_POLICE),  # temporary residence
        ("LT-XD-001", "1.013225", "commune", OfficeKind.COMMUNE_PEOPLE_COMMITTEE),  # individual-house permit
        ("LT-DD-001", None, "commune", OfficeKind.COMMUNE_PEOPLE_COMMITTEE),  # first land registration
        ("LT-DD-002", None, "province", OfficeKind.PROVINCE_DEPARTMENT_AGRICULTURE_ENVIRONMENT),  # land transfer
        ("LT-TP-001", None, "province", OfficeKind.PROVINCE_DEPARTMENT_JUSTICE),  # judicial record card
        ("LT-BH-001", None, "province", OfficeKind.PROVINCE_SOCIAL_INSURANCE),  # health insurance under 6
        ("LT-KD-005", "2.001610", "province", OfficeKind.PROVINCE_DEPARTMENT_FINANCE),  # enterprise registration
        ("LT-CT-006", None, "province", OfficeKind.PROVINCE_POLICE),  # driving licence
    ],
)
def test_required_procedures_are_present(code: str, national_code: str | None, level: str, office: OfficeKind) -> None:
    """The procedures the services rely on exist with their level, office and (where checked) national code."""
    p = procedure(code)
    assert (p.national_code, p.level, p.competent_office_type) == (national_code, level, office)
    if national_code is not None:
        assert CATALOGUE.get(national_code) is p


@pytest.mark.parametrize("code", ["LT-XX-999", "9.999999", "", "lt-ht-001", "1.001193 "])
def test_unknown_codes(code: str) -> None:
    """Unknown codes look up as None (no normalisation of procedure codes)."""
    assert CATALOGUE.get(code) is None


@pytest.mark.parametrize(
    ("code", "received", "due"),
    [
        ("LT-CT-101", vn(2026, 11, 25, 9), vn(2026, 11, 25, 17)),
        ("LT-CT-101", vn(2026, 11, 25, 14, 59), vn(2026, 11, 25, 17)),
        ("LT-CT-101", vn(2026, 11, 25, 15, 0), vn(2026, 11, 25, 17)),  # at 15:00 is not "after 15:00"
        ("LT-CT-101", vn(2026, 11, 25, 15, 1), vn(2026, 11, 26, 17)),
        ("LT-CT-101", vn(2026, 11, 27, 15, 30), vn(2026, 11, 30, 17)),  # Friday → Monday
        ("LT-CT-101", vn(2026, 11, 23, 16), vn(2026, 11, 25, 17)),  # Monday → Wednesday over 24/11
        ("LT-CT-101", vn(2026, 11, 25, 18), vn(2026, 11, 26, 17)),  # after hours: next day anyway
        ("LT-CT-101", vn(2026, 11, 28, 10), vn(2026, 11, 30, 17)),  # Saturday → Monday
        ("LT-CT-102", vn(2026, 11, 25, 16), vn(2026, 11, 26, 17)),  # signature certification: same rule
        ("LT-HT-001", vn(2026, 11, 25, 16), vn(2026, 11, 25, 17)),  # birth: no cut-off
        ("LT-KD-001", vn(2026, 11, 25, 9), vn(2026, 11, 30, 9)),
        ("LT-CT-001", vn(2027, 2, 3, 10), vn(2027, 2, 19, 10)),  # 7 days across Tết 2027
    ],
)
def test_procedure_due_dates(code: str, received: datetime, due: datetime) -> None:
    """Appointment dates per procedure, including the 15:00 same-day cut-off."""
    assert procedure(code).due_at(received) == due


def test_office_types_are_documented_and_written_by_name() -> None:
    """Every office type has a description; the file names office types in snake_case."""
    assert CompetentOfficeType is OfficeKind
    assert set(OFFICE_TYPE_DESCRIPTIONS) == set(OfficeKind)
    assert all(OFFICE_TYPE_DESCRIPTIONS.values())
    names = {k.name.lower() for k in OfficeKind}
    assert {p["competent_office_type"] for p in raw_catalogue()["procedures"]} <= names


def test_office_type_accepts_suffix_too() -> None:
    """An office type may also be written as its office-code suffix."""
    raw = raw_catalogue()["procedures"][0] | {"competent_office_type": "UBND"}
    assert Procedure.model_validate(raw).competent_office_type is OfficeKind.COMMUNE_PEOPLE_COMMITTEE


def _break(change: str, raw: dict[str, Any]) -> None:
    procs = raw["procedures"]
    first = next(p for p in procs if p["code"] == "LT-HT-001")
    land = next(p for p in procs if p["code"] == "LT-DD-001")
    match change:
        case "duplicate_code":
            procs.append(copy.deepcopy(first))
        case "duplicate_national_code":
            procs[1]["national_code"] = first["national_code"]
        case "chain_to_unknown":
            first["chain"] = ["LT-ZZ-999"]
        case "chain_to_itself":
            first["chain"] = ["LT-HT-001"]
        case "level_mismatch":
            first["level"] = "province"
        case "stages_do_not_add_up":
            land["stages"][0]["days"] = 16
        case "unknown_office_type":
            first["competent_office_type"] = "commune_tax_office"
        case "negative_days":
            first["processing_days"] = -1
        case "cutoff_on_multi_day":
            land["same_day_cutoff"] = "15:00"
        case "unknown_field":
            first["legal_days"] = 3
        case "bad_national_code":
            first["national_code"] = "1001193"
        case "bad_local_code":
            first["code"] = "HT-001"
        case "missing_name":
            del first["name"]
        case "no_documents":
            first["required_documents"] = []
        case "negative_fee":
            first["fees"] = [{"title": "x", "amount_vnd": -1}]
        case "bad_online":
            first["online"] = "sometimes"
        case "no_version":
            del raw["version"]
        case _:
            raise AssertionError(change)


@pytest.mark.parametrize(
    "change",
    [
        "duplicate_code",
        "duplicate_national_code",
        "chain_to_unknown",
        "chain_to_itself",
        "level_mismatch",
        "stages_do_not_add_up",
        "unknown_office_type",
        "negative_days",
        "cutoff_on_multi_day",
        "unknown_field",
        "bad_national_code",
        "bad_local_code",
        "missing_name",
        "no_documents",
        "negative_fee",
        "bad_online",
        "no_version",
    ],
)
def test_a_bad_catalogue_fails_loudly(change: str) -> None:
    """Each kind of mistake in the file is refused when the catalogue is loaded."""
    raw = raw_catalogue()
    Catalogue.model_validate(raw)  # the packaged file itself is valid
    _break(change, raw)
    with pytest.raises(ValidationError):
        Catalogue.model_validate(raw)


def test_models_are_frozen() -> None:
    """Procedures cannot be changed by a consumer."""
    with pytest.raises(ValidationError):
        procedure("LT-HT-001").processing_days = 5  # type: ignore[misc]
