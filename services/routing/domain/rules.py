"""Jurisdiction rules as ordered data, and the pure decision that applies them (thẩm quyền giải quyết)."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from services.routing.domain.offices import OfficeBoard
from services.routing.domain.registry import Office, Registry
from shared.errors import PermanentError
from shared.events import DossierReceived
from shared.reference.admin_units import get_province, get_ward
from shared.reference.procedures import Catalogue, Procedure

#: Rule id of a transfer to the office the transferring official named (open, and not the office it leaves).
NAMED_BY_OFFICIAL = "T10-transfer-to-named-office"


@dataclass(frozen=True)
class Rule:
    """One ordered rule: when it applies and which strategy chooses the office."""

    id: str
    when: dict[str, Any]
    strategy: str
    explain_vi: str
    explain_en: str

    def matches(self, procedure: Procedure) -> bool:
        """True when every condition of ``when`` holds for ``procedure``."""
        return all(getattr(procedure, key) == value for key, value in self.when.items())


@dataclass(frozen=True)
class Facts:
    """What routing knows about a dossier."""

    province_code: str
    receiving_ward_code: str | None
    applicant_ward_code: str
    subject_ward_code: str | None

    @property
    def subject_province_code(self) -> str:
        """Province of the subject's commune; the receiving province when the subject is not given."""
        ward = get_ward(self.subject_ward_code) if self.subject_ward_code else None
        return ward.province_code if ward else self.province_code


@dataclass(frozen=True)
class Decision:
    """Where the dossier goes (or why it is parked), with the rule that decided and why."""

    office: Office | None
    rule_id: str
    reason: str

    @property
    def parked(self) -> bool:
        """No competent office is available now."""
        return self.office is None


@cache
def load_rules() -> tuple[Rule, ...]:
    """The packaged ordered rules (services/routing/data/jurisdiction_rules.json)."""
    raw = json.loads((resources.files("services.routing") / "data" / "jurisdiction_rules.json").read_text("utf-8"))
    rules = tuple(Rule(**r) for r in raw["rules"])
    unknown = {r.strategy for r in rules} - set(_STRATEGIES)
    if unknown:
        raise ValueError(f"jurisdiction rules name unknown strategies: {sorted(unknown)}")
    return rules


Available = Callable[[Office], bool]
Load = Callable[[Office], int]


def _open(candidates: list[Office], available: Available, exclude: Collection[str]) -> list[Office]:
    return [o for o in candidates if o.code not in exclude and available(o)]


def _one(office: Office | None, available: Available, exclude: Collection[str]) -> list[Office]:
    return _open([office], available, exclude) if office else []


def _subject_commune(
    p: Procedure, f: Facts, r: Registry, available: Available, load: Load, ex: Collection[str]
) -> list[Office]:
    ward = f.subject_ward_code or f.applicant_ward_code
    return _one(r.by_ward_kind.get((ward, p.competent_office_type)), available, ex)


def _applicant_commune(
    p: Procedure, f: Facts, r: Registry, available: Available, load: Load, ex: Collection[str]
) -> list[Office]:
    return _one(r.by_ward_kind.get((f.applicant_ward_code, p.competent_office_type)), available, ex)


def _receiving_then_least_loaded(
    p: Procedure, f: Facts, r: Registry, available: Available, load: Load, ex: Collection[str]
) -> list[Office]:
    if f.receiving_ward_code:
        own = _one(r.by_ward_kind.get((f.receiving_ward_code, p.competent_office_type)), available, ex)
        if own:
            return own
    candidates = _open(r.by_province_kind.get((f.province_code, p.competent_office_type), []), available, ex)
    # deterministic on ties: lowest load, then lowest code
    return sorted(candidates, key=lambda o: (load(o), o.code))[:1]


def _province_office(
    p: Procedure, f: Facts, r: Registry, available: Available, load: Load, ex: Collection[str]
) -> list[Office]:
    return _open(r.by_province_kind.get((f.province_code, p.competent_office_type), []), available, ex)[:1]


def _subject_province_office(
    p: Procedure, f: Facts, r: Registry, available: Available, load: Load, ex: Collection[str]
) -> list[Office]:
    # the subject's commune gives its province (admin units), whatever province received the dossier
    return _open(r.by_province_kind.get((f.subject_province_code, p.competent_office_type), []), available, ex)[:1]


_STRATEGIES = {
    "subject_commune": _subject_commune,
    "applicant_commune": _applicant_commune,
    "receiving_commune_then_least_loaded": _receiving_then_least_loaded,
    "province_office": _province_office,
    "subject_province_office": _subject_province_office,
}


def decide(
    procedure: Procedure,
    facts: Facts,
    *,
    registry: Registry,
    available: Available,
    load: Load,
    exclude: Collection[str] = (),
    rules: tuple[Rule, ...] | None = None,
) -> Decision:
    """Apply the first matching rule; park with a reason when it finds no open competent office."""
    for rule in rules or load_rules():
        if not rule.matches(procedure):
            continue
        chosen = _STRATEGIES[rule.strategy](procedure, facts, registry, available, load, exclude)
        subject_province = get_province(facts.subject_province_code)
        context = {
            "subject_ward": facts.subject_ward_code or "-",
            "applicant_ward": facts.applicant_ward_code,
            "province": facts.province_code,
            "subject_province": subject_province.name if subject_province else facts.subject_province_code,
        }
        reason = f"{rule.explain_vi.format(**context)} / {rule.explain_en.format(**context)}"
        if chosen:
            return Decision(chosen[0], rule.id, reason)
        return Decision(
            None,
            rule.id,
            f"Chưa có cơ quan có thẩm quyền đang tiếp nhận; hồ sơ được giữ và sẽ chuyển khi cơ quan mở lại. / "
            f"No competent office is open (rule {rule.id}); the dossier is parked and will be routed when one reopens.",
        )
    return Decision(None, "none", f"No jurisdiction rule matches procedure {procedure.code}")


class UnknownProcedure(PermanentError):
    """The dossier names a procedure the catalogue does not have (dead-lettered, never retried)."""


@dataclass(frozen=True)
class Jurisdiction:
    """The ordered rules applied with the offices' live status and load (thẩm quyền giải quyết)."""

    catalogue: Catalogue
    board: OfficeBoard

    def procedure(self, code: str) -> Procedure:
        """The catalogue's procedure; :class:`UnknownProcedure` when it has none."""
        procedure = self.catalogue.get(code)
        if procedure is None:
            raise UnknownProcedure(f"unknown procedure {code!r}")
        return procedure

    def decide(self, procedure: Procedure, received: DossierReceived, *, exclude: Collection[str] = ()) -> Decision:
        """Where a dossier of ``procedure`` goes now, never to an office of ``exclude``."""
        facts = Facts(
            province_code=received.province_code,
            receiving_ward_code=received.receiving_ward_code,
            applicant_ward_code=received.applicant_ward_code,
            subject_ward_code=received.subject_ward_code,
        )
        return decide(
            procedure,
            facts,
            registry=self.board.registry,
            available=self.board.available,
            load=self.board.load_of,
            exclude=exclude,
        )

    def named(self, code: str | None, *, leaving: str | None) -> Decision | None:
        """The office a transferring official named, when it exists, is open and is not the one it leaves."""
        office = self.board.registry.get(code) if code else None
        if office is None or office.code == leaving or not self.board.available(office):
            return None
        return Decision(
            office,
            NAMED_BY_OFFICIAL,
            f"Chuyển đến {office.name} theo chỉ định của cơ quan chuyển. / "
            f"Transferred to the office the transferring official named ({office.code}).",
        )
