"""In-memory repositories of resolution's domain objects (no store query interpreted), and builders of decisions."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, TypeVar

from services.resolution.adapters.letters import apology_letter
from services.resolution.adapters.repositories import CaseMapper
from services.resolution.adapters.results import SignedResults
from services.resolution.adapters.signing import OfficeKeys
from services.resolution.domain.case import OPEN, Case
from services.resolution.handlers import Cases, Operations, Watch
from services.resolution.settings import ResolutionSettings
from shared.aggregate import Outcome
from shared.events import DossierStatus
from shared.reference.legal_clock import default_clock
from shared.reference.procedures import load_catalogue
from tests.support.aggregates import InMemoryAggregates
from tests.support.events import routed as routed

OFFICE, OTHER = "00070.UBND", "00073.UBND"
R = TypeVar("R")


class InMemoryCases(InMemoryAggregates[Case]):
    """The ``CaseRepository`` port over a dict of Case objects; ``events[case_id]`` holds what each committed."""

    def __init__(self) -> None:
        super().__init__(lambda case: case.id)
        self.events: dict[str, list[dict[str, Any]]] = defaultdict(list)

    async def add(self, aggregate: Case, *, consumed: str | None = None) -> bool:
        recorded = [e.data for e in aggregate.recorded]
        added = await super().add(aggregate, consumed=consumed)
        if added:
            self.events[aggregate.id] += recorded
        return added

    async def change(
        self, aggregate_id: str, fn: Callable[[Case], R], *, consumed: str | None = None
    ) -> Outcome[Case, R]:
        outcome = await super().change(aggregate_id, fn, consumed=consumed)
        self.events[aggregate_id] += [e.data for e in outcome.events]
        return outcome

    def case(self, case_id: str) -> Case:
        """The committed case (a copy)."""
        return copy.deepcopy(self.items[case_id])

    async def newest_of(self, dossier: str, office_code: str | None = None) -> Case | None:
        for key in ("dossier_id", "dossier_code"):
            found = [
                c
                for c in self.items.values()
                if getattr(c, key) == dossier and (office_code is None or c.office_code == office_code)
            ]
            if found:
                return copy.deepcopy(max(found, key=lambda c: c.routed_at))
        return None

    async def worklist(
        self, office_code: str, statuses: Collection[DossierStatus], *, limit: int, offset: int
    ) -> list[Case]:
        rows = [c for c in self.items.values() if c.office_code == office_code and c.status in statuses]
        rows.sort(key=lambda c: (not c.overdue, c.due_at))
        return copy.deepcopy(rows[offset : offset + limit])

    async def overdue_candidates(self, now: datetime, *, limit: int) -> list[Case]:
        return copy.deepcopy([c for c in self.items.values() if not c.overdue and c.clock_running and c.due_at <= now])[
            :limit
        ]

    async def next_due(self) -> datetime | None:
        running = [c.due_at for c in self.items.values() if not c.overdue and c.clock_running]
        return min(running, default=None)

    async def overdue_by_province(self, now: datetime) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.items.values():
            if c.clock_running and c.due_at <= now:
                key = c.office_province_code or "??"
                counts[key] = counts.get(key, 0) + 1
        return counts

    async def figures_inputs(
        self, *, province_code: str | None, office_code: str | None, since: datetime
    ) -> list[dict[str, Any]]:
        def touches(c: Case) -> bool:
            moments = [c.received_at, c.finished_at, c.overdue_at]
            moments += [c.apology.issued_at if c.apology else None, c.rating.at if c.rating else None]
            return c.status in OPEN or any(m is not None and m >= since for m in moments)

        mapper = CaseMapper()
        return [
            mapper.to_document(c)
            for c in self.items.values()
            if (office_code is None or c.office_code == office_code)
            and (office_code is not None or province_code is None or c.office_province_code == province_code)
            and touches(c)
        ]


class InMemoryResults(SignedResults):
    """Signed results with the real signing and checks, kept in dicts instead of the store."""

    def __init__(self, *, keys: OfficeKeys, public_base_url: str = "http://127.0.0.1:8003") -> None:
        self.keys = keys
        self.public_base_url = public_base_url
        self.kept: dict[str, dict[str, Any]] = {}
        self.signed_by: dict[str, str] = {}

    async def _note_signer(self, office_code: str, key_id: str, at: datetime) -> None:
        self.signed_by.setdefault(office_code, key_id)

    async def _keep(self, stored: dict[str, Any]) -> None:
        self.kept[stored["_id"]] = copy.deepcopy(stored)

    async def _stored(self, document_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.kept.get(document_id))

    async def signers(self) -> list[str]:
        return sorted(self.signed_by)


def make_cases(
    *, keys: OfficeKeys | None = None, watch: Watch | None = None, **settings: Any
) -> tuple[Cases, InMemoryCases, InMemoryResults]:
    """The case use cases wired to in-memory repositories and development keys."""
    config = ResolutionSettings(environment="test", **settings)
    repo = InMemoryCases()
    results = InMemoryResults(keys=keys or OfficeKeys(keys_dir=None, dev_seed="unit-test-seed"))
    cases = Cases(
        cases=repo,
        results=results,
        catalogue=load_catalogue(),
        clock=default_clock(),
        letters=apology_letter,
        auto_accepts=config.auto_accepts,
        watch=watch or Watch(),
    )
    return cases, repo, results


def make_operations(cases: Cases, repo: InMemoryCases) -> Operations:
    """The operations figures over the same repository."""
    assert cases.cases is repo, "the figures read the cases' own repository"
    return Operations.beside(cases, ranking_min_sample=ResolutionSettings(environment="test").ranking_min_sample)


def who(roles: frozenset[str], *, office: str = OFFICE, sub: str = "u1") -> Any:
    """An official of ``office`` with ``roles``."""
    from shared.identity import Principal

    return Principal(sub=sub, office=office, roles=roles)
