"""Intake's pure rules: citizen ID structure, phone numbers, completeness checks, dossier codes."""

from __future__ import annotations

from datetime import date

import pytest

from services.intake.domain.dossier import (
    citizen_id_problem,
    dossier_code,
    dossier_problems,
    new_tracking_token,
    normalise_phone,
    sha256_hex,
)
from shared.reference.procedures import load_catalogue

TODAY = date(2026, 11, 23)
CATALOGUE = load_catalogue()


@pytest.mark.parametrize(
    ("citizen_id", "valid"),
    [
        ("001203012345", True),  # Hà Nội, female born 2003 (digit 3 = 21st century, female)
        ("079090012345", True),  # Hồ Chí Minh City, male born 1990
        ("096100012345", True),  # Cà Mau, female born 1900 (digit 1 = 20th century, female)
        ("001226012345", True),  # born 2026: this year is fine
        ("001227012345", False),  # born 2027: in the future
        ("001999012345", False),  # digit 9 = 23rd century
        ("000203012345", False),  # 000 is no province
        ("003203012345", False),  # 003 was never a province code
        ("097203012345", False),  # beyond the 096 codes
        ("00120301234", False),  # 11 digits
        ("0012030123456", False),  # 13 digits
        ("00120301234a", False),  # not digits
        ("００１２０３０１２３４５", False),  # full-width digits (Python's \d matches them)
        ("001203012٣45", False),  # an Arabic-Indic digit
        ("", False),
    ],
)
def test_citizen_id_structure(citizen_id: str, valid: bool) -> None:
    """A CCCD number is 12 digits: a real province-of-birth code, gender/century and year not in the future."""
    assert (citizen_id_problem(citizen_id, today=TODAY) is None) is valid


@pytest.mark.parametrize(
    ("phone", "normalised"),
    [
        ("0912345678", "0912345678"),
        ("+84912345678", "0912345678"),
        ("84 912 345 678", "0912345678"),
        ("0912.345.678", "0912345678"),
        ("0351234567", "0351234567"),
        ("0561234567", "0561234567"),
        ("0781234567", "0781234567"),
        ("0861234567", "0861234567"),
        ("0212345678", None),  # landline prefix
        ("0123456789", None),  # old 11-digit era prefix
        ("091234567", None),  # 9 digits
        ("09123456789", None),  # 11 digits
        ("+85512345678", None),  # not Vietnam
        ("phone", None),
        ("09１２３４５６７８", None),  # full-width digits reached the SMS outbox once
        ("+84９12345678", None),
        ("091234567٨", None),  # Arabic-Indic eight
    ],
)
def test_vietnamese_mobile_numbers(phone: str, normalised: str | None) -> None:
    """Mobiles are 0 or +84 then 9 digits with a carrier prefix 3/5/7/8/9; they are normalised to 0xxxxxxxxx."""
    assert normalise_phone(phone) == normalised


def _problems(procedure_code: str = "LT-HT-001", **overrides: object) -> list[str]:
    procedure = CATALOGUE.get(procedure_code)
    assert procedure is not None
    args: dict[str, object] = {
        "procedure": procedure,
        "channel": "counter",
        "citizen_id": "001203012345",
        "phone": "0912345678",
        "applicant_ward": "00070",
        "subject_ward": None,
        "document_codes": sorted(procedure.mandatory_documents),
        "today": TODAY,
    }
    args.update(overrides)
    return [p.code for p in dossier_problems(**args)]  # type: ignore[arg-type]


def test_a_complete_dossier_has_no_problems() -> None:
    """A birth registration with both mandatory documents and valid identity passes every check."""
    assert _problems() == []


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"citizen_id": "12345"}, "invalid_citizen_id"),
        ({"phone": "0123"}, "invalid_phone"),
        ({"applicant_ward": "99999"}, "unknown_ward"),
        ({"subject_ward": "98765"}, "unknown_ward"),
        ({"document_codes": ["to_khai"]}, "missing_documents"),
        ({"document_codes": []}, "missing_documents"),
    ],
)
def test_each_rule_reports_its_code(overrides: dict[str, object], code: str) -> None:
    """Each broken rule yields exactly its own problem code."""
    assert _problems(**overrides) == [code]


def test_subject_procedures_need_a_subject_ward() -> None:
    """A construction permit is decided by the site, so the subject's commune is required."""
    assert _problems("LT-XD-001") == ["missing_subject"]
    assert _problems("LT-XD-001", subject_ward="00070") == []


def test_procedure_without_online_filing_refuses_the_online_channel() -> None:
    """A procedure whose catalogue entry says online=none cannot be filed online, but can at the counter."""
    procedure = CATALOGUE.get("LT-HT-001")
    assert procedure is not None
    offline = procedure.model_copy(update={"online": "none"})
    assert _problems(procedure=offline, channel="online") == ["procedure_not_online"]
    assert _problems(procedure=offline, channel="counter") == []
    assert _problems(channel="online") == []  # online=full


def test_all_problems_are_reported_together() -> None:
    """A clerk sees every problem at once, not one per attempt."""
    codes = _problems(citizen_id="1", phone="2", applicant_ward="3", document_codes=[])
    assert codes == ["invalid_citizen_id", "invalid_phone", "unknown_ward", "missing_documents"]


def test_dossier_code_and_tracking_token() -> None:
    """Codes follow <office>-<yyMMdd>-<seq:04d>; tracking tokens are random and only hashed."""
    assert dossier_code("00070.TTHCC", date(2027, 2, 3), 7) == "00070.TTHCC-270203-0007"
    assert dossier_code("P01.STP", date(2026, 11, 23), 12345) == "P01.STP-261123-12345"
    tokens = {new_tracking_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) >= 20 for t in tokens)
    assert sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
