"""The procedure catalogue (danh mục thủ tục hành chính): versioned reference data read by every service.

The catalogue lives in ``shared/reference/procedures.json`` (top-level ``version``, ``effective_from``,
``source``, ``note`` and ``procedures``) and is validated in full when loaded: a bad file fails loudly at
start-up, never at the first dossier. ``code`` is our stable key (``LT-<field>-<nnn>``); ``national_code``
is the code of the national procedure database (CSDL quốc gia về TTHC, e.g. ``1.001193``) when it was
checked, else null. ``Catalogue.get`` accepts either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from shared.reference.legal_clock import LegalClock, default_clock
from shared.reference.offices import OfficeKind

CompetentOfficeType = OfficeKind
"""Kinds of competent office (cơ quan có thẩm quyền giải quyết); the enum is shared with office codes.

In the catalogue file a type is written as its snake_case name (``"commune_people_committee"``); the
office-code suffix (``"UBND"``) is accepted too. Each member is described in ``OFFICE_TYPE_DESCRIPTIONS``.
"""

OFFICE_TYPE_DESCRIPTIONS: Mapping[OfficeKind, str] = {
    OfficeKind.COMMUNE_PEOPLE_COMMITTEE: (
        "Ủy ban nhân dân xã/phường/đặc khu: civil status (hộ tịch), certification (chứng thực), "
        "individual-house construction permits, first land registration, social protection."
    ),
    OfficeKind.COMMUNE_SERVICE_CENTRE: (
        "Trung tâm phục vụ hành chính công cấp xã: receives and returns dossiers for every office "
        "(one-stop shop); competent for nothing itself."
    ),
    OfficeKind.COMMUNE_POLICE: "Công an xã/phường/đặc khu: residence registration (thường trú, tạm trú, tạm vắng).",
    OfficeKind.COMMUNE_BUSINESS_REGISTRATION: (
        "Business-registration unit of the commune (cơ quan đăng ký kinh doanh cấp xã): household businesses."
    ),
    OfficeKind.PROVINCE_SERVICE_CENTRE: (
        "Trung tâm phục vụ hành chính công tỉnh: receives and returns province-level dossiers; "
        "competent only where the province assigns it."
    ),
    OfficeKind.PROVINCE_DEPARTMENT_JUSTICE: "Sở Tư pháp: judicial record cards (phiếu lý lịch tư pháp).",
    OfficeKind.PROVINCE_DEPARTMENT_CONSTRUCTION: (
        "Sở Xây dựng: construction permits for special-grade, grade I and II works."
    ),
    OfficeKind.PROVINCE_DEPARTMENT_AGRICULTURE_ENVIRONMENT: (
        "Sở Nông nghiệp và Môi trường with its land registration office: land changes (biến động), "
        "certificate exchange, mortgages; food safety of agricultural products."
    ),
    OfficeKind.PROVINCE_DEPARTMENT_FINANCE: "Sở Tài chính (business registration office): enterprise registration.",
    OfficeKind.PROVINCE_POLICE: "Công an tỉnh: identity cards and driving licences.",
    OfficeKind.PROVINCE_SOCIAL_INSURANCE: "Bảo hiểm xã hội tỉnh/khu vực: health insurance cards.",
}

ProcedureLevel = Literal["commune", "province"]
SubjectBasis = Literal["applicant_residence", "subject_location", "any_in_province"]
"""Which place decides jurisdiction: where the applicant lives, where the subject (parcel, house) is, or anywhere."""

_LOCAL_CODE = re.compile(r"^LT-[A-Z]{2}-\d{3}$")
_NATIONAL_CODE = re.compile(r"^\d\.\d{6}$")


class RequiredDocument(BaseModel):
    """A document the citizen must (or may) supply (thành phần hồ sơ)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str = Field(min_length=1)
    mandatory: bool = True


class Fee(BaseModel):
    """A fee or charge (phí, lệ phí) in đồng."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1)
    amount_vnd: int = Field(ge=0)


class Stage(BaseModel):
    """A named part of the legal time (e.g. land registration 17 days, then the certificate 3 days)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    name_en: str
    days: int = Field(ge=0)


class Procedure(BaseModel):
    """One administrative procedure (thủ tục hành chính) and the rules that govern it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(description="Our stable code, LT-<field>-<nnn>.")
    national_code: str | None = Field(default=None, description="Code in the national database, when checked.")
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    level: ProcedureLevel
    processing_days: int = Field(ge=0, description="Legal time in working days; 0 = the same working day.")
    same_day_cutoff: time | None = Field(
        default=None, description="Same-day procedures received after it are due at the end of the next working day."
    )
    boundary_free: bool = Field(description="May be filed at any receiving unit of the province.")
    online: Literal["full", "partial", "none"]
    competent_office_type: CompetentOfficeType
    subject_basis: SubjectBasis
    required_documents: tuple[RequiredDocument, ...] = Field(min_length=1)
    fees: tuple[Fee, ...] = ()
    max_supplement_requests: int | None = Field(default=None, ge=0)
    supplement_request_within_days: int | None = Field(
        default=None, ge=0, description="Working days after receipt in which a supplement may still be requested."
    )
    chain: tuple[str, ...] = Field(default=(), description="Next procedures of an inter-agency chain (liên thông).")
    stages: tuple[Stage, ...] = ()
    note: str | None = None

    @field_validator("competent_office_type", mode="before")
    @classmethod
    def _office_type_by_name(cls, value: Any) -> Any:
        if isinstance(value, str) and value.upper() in OfficeKind.__members__:
            return OfficeKind[value.upper()]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Procedure:
        if not _LOCAL_CODE.match(self.code):
            raise ValueError(f"{self.code!r} is not a local code LT-XX-nnn")
        if self.national_code is not None and not _NATIONAL_CODE.match(self.national_code):
            raise ValueError(f"{self.code}: national code {self.national_code!r} is not of the form 1.001193")
        if self.competent_office_type.level != self.level:
            raise ValueError(
                f"{self.code}: a {self.level} procedure cannot belong to {self.competent_office_type.name}"
            )
        if self.same_day_cutoff is not None and self.processing_days != 0:
            raise ValueError(f"{self.code}: a same-day cut-off only makes sense for same-day procedures")
        if self.stages and sum(s.days for s in self.stages) != self.processing_days:
            raise ValueError(f"{self.code}: stages do not add up to processing_days")
        if self.code in self.chain or len(set(self.chain)) != len(self.chain):
            raise ValueError(f"{self.code}: a chain cannot repeat a procedure or contain itself")
        doc_codes = [d.code for d in self.required_documents]
        if len(doc_codes) != len(set(doc_codes)):
            raise ValueError(f"{self.code}: duplicate document codes")
        if not any(d.mandatory for d in self.required_documents):
            raise ValueError(f"{self.code}: at least one document must be mandatory")
        return self

    @property
    def mandatory_documents(self) -> frozenset[str]:
        """Codes of the documents without which the dossier is incomplete."""
        return frozenset(d.code for d in self.required_documents if d.mandatory)

    def due_at(self, received_at: datetime, clock: LegalClock | None = None) -> datetime:
        """Appointment date for a dossier of this procedure received at ``received_at``."""
        clock = clock or default_clock()
        if self.processing_days == 0 and self.same_day_cutoff is not None:
            start = clock.next_opening(received_at)
            if start.time() > self.same_day_cutoff:
                # "sau 15 giờ": received after the cut-off, the next working day counts as the same day
                next_day = clock.next_working_day(start.date())
                return clock.end_of_working_day(datetime.combine(next_day, time(0), tzinfo=start.tzinfo))
        return clock.due_at(received_at, working_days=self.processing_days)


class Catalogue(BaseModel):
    """The whole catalogue, validated when loaded; lookups by code are dictionary accesses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    effective_from: date
    source: str = ""
    note: str = ""
    procedures: tuple[Procedure, ...] = Field(min_length=1)

    _by_code: dict[str, Procedure] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _references(self) -> Catalogue:
        codes = [p.code for p in self.procedures]
        if len(codes) != len(set(codes)):
            raise ValueError("duplicate procedure codes in the catalogue")
        national = [p.national_code for p in self.procedures if p.national_code]
        if len(national) != len(set(national)):
            raise ValueError("two procedures claim the same national code")
        known = set(codes)
        for p in self.procedures:
            missing = [c for c in p.chain if c not in known]
            if missing:
                raise ValueError(f"{p.code}: chain refers to unknown procedures {missing}")
        return self

    def model_post_init(self, context: Any, /) -> None:
        """Index procedures by our code and by national code."""
        for p in self.procedures:
            self._by_code[p.code] = p
            if p.national_code:
                self._by_code[p.national_code] = p

    def get(self, code: str) -> Procedure | None:
        """The procedure with our ``code`` (``LT-HT-001``) or its national code (``1.001193``), or None."""
        return self._by_code.get(code)

    def all(self) -> tuple[Procedure, ...]:
        """Every procedure, in catalogue order."""
        return self.procedures


@cache
def load_catalogue() -> Catalogue:
    """The packaged catalogue (``shared/reference/procedures.json``); a bad file fails loudly here."""
    raw = json.loads((resources.files("shared.reference") / "procedures.json").read_text(encoding="utf-8"))
    return Catalogue.model_validate(raw)
