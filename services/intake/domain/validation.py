"""Completeness and identity checks at reception (kiểm tra tính đầy đủ của hồ sơ); pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from services.intake.domain.errors import Refused
from shared.reference.admin_units import get_ward
from shared.reference.procedures import Procedure

# Province-of-birth-registration codes printed on citizen ID cards (the 63 pre-2025 provinces).
CCCD_PROVINCE_CODES = frozenset(
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 035 036 037 038 "
    "040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 070 072 074 075 077 079 080 082 "
    "083 084 086 087 089 091 092 093 094 095 096".split()
)
# [0-9], not \d: \d also matches other scripts' digits (０１２, ٠١٢), which must not reach an SMS gateway
_MOBILE = re.compile(r"^0(3|5|7|8|9)[0-9]{8}$")


@dataclass(frozen=True)
class Problem:
    """One reason a dossier cannot be received: machine code, field and human message (English, Vietnamese)."""

    code: str
    field: str
    message: str
    message_vi: str


def citizen_id_problem(citizen_id: str, *, today: date) -> str | None:
    """Why ``citizen_id`` is not a well-formed 12-digit CCCD number, or None when it is."""
    why = _citizen_id_problem(citizen_id, today=today)
    return why[0] if why else None


def _citizen_id_problem(citizen_id: str, *, today: date) -> tuple[str, str] | None:
    """(English, Vietnamese) reason ``citizen_id`` is not a well-formed CCCD number, or None."""
    if not re.fullmatch(r"[0-9]{12}", citizen_id):
        return "must be exactly 12 digits", "phải gồm đúng 12 chữ số"  # [0-9], not \d (other scripts)
    if citizen_id[:3] not in CCCD_PROVINCE_CODES:
        return (
            f"province-of-birth code {citizen_id[:3]} does not exist",
            f"mã tỉnh nơi đăng ký khai sinh {citizen_id[:3]} không tồn tại",
        )
    century = 1900 + (int(citizen_id[3]) // 2) * 100
    birth_year = century + int(citizen_id[4:6])
    if birth_year > today.year:
        return (
            f"gender/century digit and year give a birth year in the future ({birth_year})",
            f"chữ số giới tính/thế kỷ và năm sinh cho năm sinh ở tương lai ({birth_year})",
        )
    return None


def normalise_phone(phone: str) -> str | None:
    """Vietnamese mobile number as ``0xxxxxxxxx``, or None when it is not one."""
    digits = re.sub(r"[\s.\-()]", "", phone)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if _MOBILE.match(digits) else None


def dossier_problems(
    *,
    procedure: Procedure,
    channel: str,
    citizen_id: str,
    phone: str,
    applicant_ward: str,
    subject_ward: str | None,
    document_codes: list[str],
    today: date,
) -> list[Problem]:
    """Every reason the dossier is incomplete or malformed, in the order a clerk would check them."""
    problems: list[Problem] = []
    if channel == "online" and procedure.online == "none":
        problems.append(
            Problem(
                "procedure_not_online",
                "channel",
                f"{procedure.code} cannot be filed online",
                f"thủ tục {procedure.code} không được nộp trực tuyến",
            )
        )
    if (why := _citizen_id_problem(citizen_id, today=today)) is not None:
        problems.append(Problem("invalid_citizen_id", "applicant.citizen_id", *why))
    if normalise_phone(phone) is None:
        problems.append(
            Problem(
                "invalid_phone",
                "applicant.phone",
                "must be a Vietnamese mobile number (0 or +84, then 9 digits)",
                "phải là số di động Việt Nam (0 hoặc +84, sau đó 9 chữ số)",
            )
        )
    if get_ward(applicant_ward) is None:
        problems.append(
            Problem(
                "unknown_ward",
                "applicant.address.ward_code",
                f"no commune/ward {applicant_ward!r}",
                f"không có xã/phường {applicant_ward!r}",
            )
        )
    if subject_ward is not None and get_ward(subject_ward) is None:
        problems.append(
            Problem(
                "unknown_ward",
                "subject.ward_code",
                f"no commune/ward {subject_ward!r}",
                f"không có xã/phường {subject_ward!r}",
            )
        )
    if procedure.subject_basis == "subject_location" and subject_ward is None:
        problems.append(
            Problem(
                "missing_subject",
                "subject.ward_code",
                f"{procedure.code} needs the commune of its subject",
                f"thủ tục {procedure.code} cần xã/phường nơi có đối tượng (thửa đất, công trình)",
            )
        )
    missing = sorted(procedure.mandatory_documents - set(document_codes))
    if missing:
        problems.append(
            Problem(
                "missing_documents",
                "documents",
                f"mandatory documents missing: {', '.join(missing)}",
                f"còn thiếu giấy tờ bắt buộc: {', '.join(missing)}",
            )
        )
    return problems


def refuse_incomplete(problems: list[Problem]) -> None:
    """Refuse (422) a dossier with problems: the first rule broken names the answer, ``details`` lists all."""
    if problems:
        first = problems[0]
        raise Refused(
            first.code,
            f"{first.field}: {first.message}",
            details=[{"code": p.code, "field": p.field, "message": p.message} for p in problems],
            vi=f"{first.field}: {first.message_vi}",
        )
