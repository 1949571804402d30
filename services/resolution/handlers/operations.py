"""The operations centre's figures: the report of a scope and period, and the overdue-now gauge."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.resolution.domain.figures import Period, compute
from services.resolution.domain.ports import BusinessFigures, CaseRepository
from services.resolution.domain.scope import Scope
from services.resolution.domain.service_index import rank, service_index
from services.resolution.handlers.cases import Cases
from services.resolution.handlers.signals import ChangeSignal
from shared.reference.admin_units import get_province, get_ward
from shared.reference.legal_clock import VIETNAM_TZ, LegalClock
from shared.reference.procedures import Catalogue

REPORT_REUSE_SECONDS = 1.0
REPORT_CACHE_SIZE = 256


@dataclass
class Operations:
    """Figures per province/commune/office/procedure/day and the Decision 766 index (docs/operations-centre.md)."""

    cases: CaseRepository
    catalogue: Catalogue
    clock: LegalClock
    changes: ChangeSignal
    ranking_min_sample: int
    figures: BusinessFigures | None = None
    _reports: dict[tuple[Scope, Period], tuple[int, float, dict[str, Any]]] = field(default_factory=dict, init=False)

    @classmethod
    def beside(cls, cases: Cases, *, ranking_min_sample: int) -> Operations:
        """The figures over the same repository, catalogue, clock, change signal and business figures as ``cases``."""
        watch = cases.watch
        return cls(cases.cases, cases.catalogue, cases.clock, watch.changes, ranking_min_sample, watch.figures)

    async def report(self, *, scope: Scope, period: Period, now: datetime | None = None) -> dict[str, Any]:
        """The report of ``scope`` for ``period``.

        Dashboards watching the same scope share one computation: a report is reused while no case of this
        process changed and it is younger than REPORT_REUSE_SECONDS (changes by other instances show after that).
        """
        key = (scope, period)
        cached = self._reports.get(key)
        if now is None and cached is not None:
            generation, made, report = cached
            if generation == self.changes.generation and time.monotonic() - made < REPORT_REUSE_SECONDS:
                return report
        generation = self.changes.generation
        report = await self._compute(scope=scope, period=period, now=now or datetime.now(UTC))
        if len(self._reports) > REPORT_CACHE_SIZE:
            self._reports.clear()
        self._reports[key] = (generation, time.monotonic(), report)
        return report

    async def _compute(self, *, scope: Scope, period: Period, now: datetime) -> dict[str, Any]:
        rows = await self.cases.figures_inputs(
            province_code=scope.province_code if scope.kind == "province" else None,
            office_code=scope.office_code,
            since=period.start(),
        )
        report = compute(rows, period=period, now=now, clock=self.clock, online_level=self._online_level)
        sample = self.ranking_min_sample
        report["by_office"] = rank(report["by_office"], min_sample=sample)
        report["by_province"] = rank(report["by_province"], min_sample=sample)
        report["totals"]["service_index"] = service_index(report["totals"], min_sample=sample)
        report["ranking"] = {
            "min_sample": sample,
            "offices": [_ranking_row(r) for r in report["by_office"]],
            "provinces": [_ranking_row(r) for r in report["by_province"]],
        }
        for row in report["by_province"]:
            province = get_province(row["key"])
            row["name"] = province.name if province else row["key"]
        for row in report["by_commune"]:
            ward = get_ward(row["key"])
            row["name"] = ward.name if ward else row["key"]
        for row in [*report["by_procedure"], *report["overdue"], *report["near_due"]]:
            key = "key" if "key" in row else "procedure_code"
            name = "name" if "key" in row else "procedure_name"
            procedure = self.catalogue.get(row[key])
            row[name] = procedure.name if procedure else row[name]
        report["scope"] = {"kind": scope.kind, "province_code": scope.province_code, "office_code": scope.office_code}
        report["period"] = {"from": period.first, "to": period.last, "timezone": str(VIETNAM_TZ)}
        report["as_of"] = now
        return report

    async def refresh_overdue_gauge(self, *, now: datetime | None = None) -> None:
        """Set the overdue-now gauge from the store (running cases past their due date, per province)."""
        if self.figures is not None:
            self.figures.set_overdue(await self.cases.overdue_by_province(now or datetime.now(UTC)))

    def _online_level(self, procedure_code: str) -> str | None:
        procedure = self.catalogue.get(procedure_code)
        return procedure.online if procedure else None


def _ranking_row(row: dict[str, Any]) -> dict[str, Any]:
    index = row["service_index"]
    return {
        "key": row["key"],
        "name": row.get("name", row["key"]),
        "rank": row["rank"],
        "index": index["index"],
        "ranked": index["ranked"],
        "not_ranked_reason": index["not_ranked_reason"],
        "resolved": row["resolved"],
        "on_time_rate": row["on_time_rate"],
        # a group with nothing measurable has no score (not 0, which would read as failing it)
        "groups": {k: (v["score"] if v["attainable"] else None) for k, v in index["groups"].items()},
    }
