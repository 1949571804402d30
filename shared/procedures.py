"""The procedure catalogue (danh mục thủ tục hành chính): versioned reference data read by every service."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.legal_clock import LegalClock, default_clock
from shared.offices import OfficeKind


class RequiredDocument(BaseModel):
    """A document the citizen must (or may) supply."""

    model_config = ConfigDict(frozen=True)

    code: str
    title: str
    mandatory: bool = True


class Fee(BaseModel):
    """A fee or charge (phí, lệ phí) in đồng."""

    model_config = ConfigDict(frozen=True)

    title: str
    amount_vnd: int = Field(ge=0)


class Stage(BaseModel):
    """A named part of the legal time (e.g. land registration 17 days + certificate 3 days)."""

    model_config = ConfigDict(frozen=True)

    name: str
    name_en: str
    days: int = Field(ge=0)


class Procedure(BaseModel):
    """One administrative procedure and the rules that govern it."""

    model_config = ConfigDict(frozen=True)

    code: str
    national_code: str | None = None
    name: str
    name_en: str
    level: Literal["commune", "province"]
    processing_days: int = Field(ge=0, description="Legal time in working days; 0 = the same working day.")
    same_day_cutoff: time | None = Field(
        default=None, description="Same-day procedures received after it are due next day."
    )
    boundary_free: bool
    online: Literal["full", "partial", "none"]
    competent_office_type: OfficeKind
    subject_basis: Literal["applicant_residence", "subject_location", "any_in_province"]
    required_documents: tuple[RequiredDocument, ...]
    fees: tuple[Fee, ...] = ()
    max_supplement_requests: int | None = None
    chain: tuple[str, ...] = ()
    stages: tuple[Stage, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Procedure:
        if self.competent_office_type.level != self.level:
            raise ValueError(
                f"{self.code}: a {self.level} procedure cannot belong to {self.competent_office_type.name}"
            )
        if self.stages and sum(s.days for s in self.stages) != self.processing_days:
            raise ValueError(f"{self.code}: stages do not add up to processing_days")
        return self

    @property
    def mandatory_documents(self) -> frozenset[str]:
        """Codes of the documents without which the dossier is incomplete."""
        return frozenset(d.code for d in self.required_documents if d.mandatory)

    def due_at(self, received_at: datetime, clock: LegalClock | None = None) -> datetime:
        """Appointment date for a dossier of this procedure received at ``received_at``."""
        clock = clock or default_clock()
        start = clock.next_opening(received_at)
        if self.processing_days == 0 and self.same_day_cutoff is not None and start.time() >= self.same_day_cutoff:
            # received after the cut-off: the next working day counts as "the same day"
            next_day = datetime.combine(start.date() + timedelta(days=1), time(0, 0), tzinfo=start.tzinfo)
            return clock.due_at(next_day, working_days=0)
        return clock.due_at(received_at, working_days=self.processing_days)


class Catalogue(BaseModel):
    """The whole catalogue, validated when loaded."""

    model_config = ConfigDict(frozen=True)

    version: str
    effective_from: date
    note: str = ""
    procedures: tuple[Procedure, ...]

    @model_validator(mode="after")
    def _references(self) -> Catalogue:
        codes = [p.code for p in self.procedures]
        if len(codes) != len(set(codes)):
            raise ValueError("duplicate procedure codes in the catalogue")
        known = set(codes)
        for p in self.procedures:
            missing = [c for c in p.chain if c not in known]
            if missing:
                raise ValueError(f"{p.code}: chain refers to unknown procedures {missing}")
        return self

    def get(self, code: str) -> Procedure | None:
        """The procedure with ``code``, or None."""
        return _by_code(self).get(code)

    def all(self) -> tuple[Procedure, ...]:
        """Every procedure, in catalogue order."""
        return self.procedures


@cache
def _by_code(catalogue: Catalogue) -> dict[str, Procedure]:
    return {p.code: p for p in catalogue.procedures}


@cache
def load_catalogue() -> Catalogue:
    """The packaged catalogue (``shared/reference/procedures.json``); a bad file fails loudly here."""
    raw = json.loads((resources.files("shared") / "reference" / "procedures.json").read_text(encoding="utf-8"))
    return Catalogue.model_validate(raw)
