"""Operations-centre figures (số liệu trung tâm điều hành) computed from cases — pure, no I/O.

Every figure is defined in docs/operations-centre.md; the docstrings here only say how it is counted.
A *dossier* (hồ sơ) may have several cases (one per office: transfers, inter-agency chain steps); figures
that speak of dossiers count each dossier once per group, whatever its number of cases.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from services.resolution.domain.case import AT_OFFICE
from shared.events import DossierStatus as S
from shared.reference.admin_units import get_ward
from shared.reference.legal_clock import VIETNAM_TZ, LegalClock
from shared.reference.offices import parse_office_code

FINISHED = frozenset({S.RESULT_READY, S.RETURNED, S.REFUSED})
RUNNING = frozenset({S.RECEIVED, S.ACCEPTED, S.IN_PROCESS, S.SUPPLEMENT_RECEIVED})
CLOSED = frozenset({S.TRANSFERRED, S.REFUSED, S.RETURNED, S.WITHDRAWN})
NEAR_DUE_WORKING_HOURS = 8.0
SATISFIED_FROM = 4  # a score of 4 or 5 of 5 is "satisfied"
DISSATISFIED_UP_TO = 2  # 1 or 2 is "not satisfied" (Decision 766: total minus the dissatisfied)
LIST_LIMIT = 100

#: fields of a case the figures read (the store projects only these)
CASE_FIELDS = (
    *AT_OFFICE,
    "procedure_name",
    "applicant_ward_code",
    "channel",
    "status",
    "received_at",
    "due_at",
    "finished_at",
    "overdue",
    "overdue_at",
    "paused_at",
    "paused_hours",
    "supplement_requests",
    "apology.issued_at",
    "rating.score",
    "rating.at",
    "result.document_id",
    "refusal_reason",
    "processing_days",
    "routed_at",
)

NOT_MEASURED = {
    "eid_share": "intake records no VNeID (e-ID level 2) verification of the applicant; no event carries it",
}


def office_province(office_code: str) -> str | None:
    """The province of an office (the competent office's province, not the receiving one)."""
    try:
        ref = parse_office_code(office_code)
    except ValueError:
        return None
    if ref.level == "province":
        return ref.unit_code.removeprefix("P").zfill(2)
    ward = get_ward(ref.unit_code)
    return ward.province_code if ward else None


def local_day(moment: datetime) -> date:
    """The calendar day of ``moment`` in Vietnam (figures are reported by local day)."""
    return moment.astimezone(VIETNAM_TZ).date()


@dataclass(frozen=True)
class Period:
    """An inclusive range of local days."""

    first: date
    last: date

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.first <= local_day(moment) <= self.last

    def start(self) -> datetime:
        """The first moment of the period (local midnight of its first day)."""
        return datetime.combine(self.first, time(0), tzinfo=VIETNAM_TZ)

    def days(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (p90 = the smallest value at or above 90 % of the sorted values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class _Group:
    """Accumulates the figures of one group (a province, commune, office, procedure or the total)."""

    def __init__(self) -> None:
        # sets of dossier ids: a dossier counts once per group, however many cases (transfers, chains) it had
        self.received: set[str] = set()
        self.online_full: set[str] = set()  # filed online with every step online (toàn trình)
        self.online_partial: set[str] = set()  # filed online, documents or result on paper (một phần)
        self.with_supplement: set[str] = set()
        self.repeat_supplement: set[str] = set()  # asked to supplement more than once
        self.supplement_requests = 0
        self.resolved: dict[str, bool] = {}  # dossier id → late
        self.hours: dict[str, float] = {}
        self.legal_hours: dict[str, float] = {}
        self.online_on_time: dict[str, bool] = {}
        self.refused: set[str] = set()
        self.refused_with_reason: set[str] = set()
        self.signed_results: set[str] = set()
        self.approved: set[str] = set()
        self.reasons: Counter[str] = Counter()
        self.overdue_now: set[str] = set()  # running and past the due date at the time of the figures
        self.near_due: set[str] = set()  # running, due within the near-due window
        self.running: set[str] = set()  # open with the clock running (not paused for a supplement)
        self.open: set[str] = set()
        self.ever_late: set[str] = set()  # flagged overdue at some time in the period, even if finished since
        self.apologised: set[str] = set()
        self.apologies = 0
        self.scores: dict[str, int] = {}
        self.procedures: set[str] = set()
        self.procedures_full_online: set[str] = set()

    def figures(self) -> dict[str, Any]:
        resolved = len(self.resolved)
        late = sum(self.resolved.values())
        hours = list(self.hours.values())
        received = len(self.received)
        scores = list(self.scores.values())
        online_resolved = len(self.online_on_time)
        return {
            "received": received,
            "resolved": resolved,
            "resolved_on_time": resolved - late,
            "resolved_late": late,
            "on_time_rate": _ratio(resolved - late, resolved),
            "open": len(self.open),
            "overdue_now": len(self.overdue_now),
            "near_due": len(self.near_due),
            "avg_resolution_hours": round(sum(hours) / len(hours), 2) if hours else None,
            "p90_resolution_hours": round(p90, 2) if (p90 := percentile(hours, 0.9)) is not None else None,
            "avg_legal_hours": round(sum(self.legal_hours.values()) / resolved, 2) if resolved else None,
            "supplement_requests": self.supplement_requests,
            "dossiers_with_supplement": len(self.with_supplement),
            "dossiers_with_repeat_supplement": len(self.repeat_supplement),
            "refused": len(self.refused),
            "refused_with_reason": len(self.refused_with_reason),
            "refused_without_reason": len(self.refused) - len(self.refused_with_reason),
            "online_full": len(self.online_full),
            "online_partial": len(self.online_partial),
            "online_full_share": _ratio(len(self.online_full), received),
            "online_partial_share": _ratio(len(self.online_partial), received),
            "online_share": _ratio(len(self.online_full) + len(self.online_partial), received),
            "eid_share": None,
            "rated": len(scores),
            "satisfaction": round(sum(scores) / len(scores), 2) if scores else None,
            "satisfied_share": _ratio(sum(s >= SATISFIED_FROM for s in scores), len(scores)),
            "not_dissatisfied_share": _ratio(sum(s > DISSATISFIED_UP_TO for s in scores), len(scores)),
            "apologies": self.apologies,
            "ever_late": len(self.ever_late),
            "apologised_late": len(self.apologised),
            "signed_results": len(self.signed_results),
            "approved": len(self.approved),
            "running": len(self.running),
            "online_resolved": online_resolved,
            "online_resolved_on_time": sum(not late for late in self.online_on_time.values()),
            "procedures": len(self.procedures),
            "procedures_full_online": len(self.procedures_full_online),
            "refusal_reasons": [{"reason": r, "count": n} for r, n in self.reasons.most_common(10)],
        }


def _late(case: Mapping[str, Any]) -> bool:
    """Finished after its due date, or ever flagged overdue (an apology does not make it on time)."""
    if case.get("overdue") or case.get("overdue_at") is not None:
        return True
    finished_at = case.get("finished_at")
    return finished_at is not None and finished_at > case["due_at"]


def _day_row(day: date, c: Counter[str], hours: float) -> dict[str, Any]:
    resolved = c["resolved_on_time"] + c["resolved_late"]
    return {
        "day": day.isoformat(),
        "received": c["received"],
        "online_full": c["online_full"],
        "online_partial": c["online_partial"],
        "resolved_on_time": c["resolved_on_time"],
        "resolved_late": c["resolved_late"],
        "refused": c["refused"],
        "apologies": c["apologies"],
        "avg_resolution_hours": round(hours / resolved, 2) if resolved else None,
    }


def compute(
    cases: Iterable[Mapping[str, Any]],
    *,
    period: Period,
    now: datetime,
    clock: LegalClock,
    online_level: Callable[[str], str | None],
) -> dict[str, Any]:
    """Totals, per-group figures, the daily series and the near-due / overdue lists of ``cases``.

    ``online_level(procedure_code)`` is the catalogue's online level of a procedure (``full``, ``partial``
    or ``none``): a dossier filed online for a fully-online procedure is fully online, otherwise partly.
    """
    cases = list(cases)
    levels: dict[str, str | None] = {}
    provinces: dict[str, str] = {}

    def level_of(procedure: str) -> str | None:
        if procedure not in levels:
            levels[procedure] = online_level(procedure)
        return levels[procedure]

    def province_of(office: str) -> str:
        if office not in provinces:
            provinces[office] = office_province(office) or "??"
        return provinces[office]

    by_dossier: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for case in cases:
        by_dossier[case["dossier_id"]].append(case)
    near_limit = clock.add_working_hours(now, NEAR_DUE_WORKING_HOURS)

    groups: dict[str, dict[str, _Group]] = {k: defaultdict(_Group) for k in ("province", "commune", "office")}
    groups["procedure"] = defaultdict(_Group)
    total = _Group()
    daily: dict[date, Counter[str]] = {day: Counter() for day in period.days()}
    day_hours: dict[date, float] = defaultdict(float)
    names: dict[str, dict[str, str]] = {"office": {}, "procedure": {}}
    near_due: list[dict[str, Any]] = []
    overdue: list[dict[str, Any]] = []

    for dossier_id, dossier_cases in by_dossier.items():
        dossier_cases.sort(key=lambda c: c.get("routed_at") or c["received_at"])
        # the procedure filed (first case) decides whether the dossier as a whole was fully online
        filed_level = level_of(dossier_cases[0]["procedure_code"])
        ever_late = any(_late(c) for c in dossier_cases)
        paused = sum(float(c.get("paused_hours") or 0.0) for c in dossier_cases)
        received_in_period = dossier_cases[0]["received_at"] in period
        if received_in_period:
            day = daily[local_day(dossier_cases[0]["received_at"])]
            day["received"] += 1
            if dossier_cases[0].get("channel") == "online":
                day["online_full" if filed_level == "full" else "online_partial"] += 1
        for case in dossier_cases:
            status = S(case["status"])
            office = case["office_code"]
            procedure = case["procedure_code"]
            names["office"][office] = case.get("office_name") or office
            names["procedure"][procedure] = case.get("procedure_name") or procedure
            keys = {
                "province": province_of(office),
                "commune": case.get("applicant_ward_code") or "??",
                "office": office,
                "procedure": procedure,
            }
            targets = [("total", total), *((kind, groups[kind][key]) for kind, key in keys.items())]
            case_level = level_of(procedure)
            finished_at: datetime | None = case.get("finished_at")
            # a case is resolved at its office when it finishes; the dossier only when its latest case does
            # (an inter-agency chain finishes a case at every step, a transfer closes without finishing)
            case_resolved = status in FINISHED and finished_at in period
            dossier_resolved = case_resolved and case is dossier_cases[-1]
            own_late = _late(case)
            # an office is judged by its own case, a procedure by the dossier's cases of that procedure, and
            # the province and commune by the whole dossier (late if any office was late with it)
            procedure_late = any(_late(c) for c in dossier_cases if c["procedure_code"] == procedure)
            dossier_late = own_late or ever_late
            hours = 0.0
            if case_resolved and finished_at is not None:
                hours = max(0.0, clock.working_hours_between(case["received_at"], finished_at) - paused)
            if dossier_resolved and finished_at is not None:
                day = daily[local_day(finished_at)]
                day["resolved_late" if dossier_late else "resolved_on_time"] += 1
                day["refused"] += status is S.REFUSED
                day_hours[local_day(finished_at)] += hours
            due_at = case["due_at"]
            running = status in RUNNING and case.get("paused_at") is None
            is_overdue = running and due_at <= now
            is_near = running and now < due_at <= near_limit
            item = {
                "dossier_code": case["dossier_code"],
                "office_code": office,
                "office_name": names["office"][office],
                "procedure_code": procedure,
                "procedure_name": names["procedure"][procedure],
                "status": status.value,
                "due_at": due_at,
            }
            if is_overdue:
                late_by = round(clock.working_hours_between(due_at, now), 1)
                overdue.append({**item, "working_hours_late": late_by, "apologised": case.get("apology") is not None})
            if is_near:
                near_due.append({**item, "working_hours_left": round(clock.working_hours_between(now, due_at), 1)})
            rating = case.get("rating") or {}
            score = rating.get("score") if rating.get("at") in period else None
            apologised_in_period = (case.get("apology") or {}).get("issued_at") in period
            if apologised_in_period:
                daily[local_day(case["apology"]["issued_at"])]["apologies"] += 1
            flagged_in_period = case.get("overdue_at") in period
            has_apology = case.get("apology") is not None
            reason = (case.get("refusal_reason") or "").strip()
            requests = int(case.get("supplement_requests") or 0)
            online = case.get("channel") == "online"
            legal_hours = float(case.get("processing_days") or 0) * 8
            # a chain step's result handed on to the next office is done at its office, though never "returned"
            handed_on = status is S.RESULT_READY and case is not dossier_cases[-1]
            is_open = status not in CLOSED and not handed_on
            refused, signed = status is S.REFUSED, case.get("result") is not None
            for kind, group in targets:
                group.procedures.add(procedure)
                if case_level == "full":
                    group.procedures_full_online.add(procedure)
                if received_in_period:
                    group.received.add(dossier_id)
                    if online:
                        level = case_level if kind in {"office", "procedure"} else filed_level
                        (group.online_full if level == "full" else group.online_partial).add(dossier_id)
                    group.supplement_requests += requests
                    if requests:
                        group.with_supplement.add(dossier_id)
                    if requests > 1:
                        group.repeat_supplement.add(dossier_id)
                if case_resolved if kind in {"office", "procedure"} else dossier_resolved:
                    late = {"office": own_late, "procedure": procedure_late}.get(kind, dossier_late)
                    group.resolved[dossier_id] = late
                    group.hours[dossier_id] = hours
                    group.legal_hours[dossier_id] = legal_hours
                    if online:
                        group.online_on_time[dossier_id] = late
                    if refused:
                        group.refused.add(dossier_id)
                        if reason:
                            group.refused_with_reason.add(dossier_id)
                            group.reasons[reason] += 1
                    else:
                        group.approved.add(dossier_id)
                        if signed:
                            group.signed_results.add(dossier_id)
                # each flag the case holds puts the dossier in that group's set
                for holds, members in (
                    (is_open, group.open),
                    (running, group.running),
                    (is_overdue, group.overdue_now),
                    (is_near, group.near_due),
                    (flagged_in_period, group.ever_late),
                    (flagged_in_period and has_apology, group.apologised),
                ):
                    if holds:
                        members.add(dossier_id)
                if apologised_in_period:
                    group.apologies += 1
                if score is not None:
                    group.scores[dossier_id] = int(score)

    def rows(kind: str) -> list[dict[str, Any]]:
        out = []
        for key, group in sorted(groups[kind].items()):
            row = {"key": key, **group.figures()}
            if kind in names:
                row["name"] = names[kind].get(key, key)
            out.append(row)
        return out

    overdue.sort(key=lambda i: i["due_at"])
    near_due.sort(key=lambda i: i["due_at"])
    return {
        "totals": total.figures(),
        "by_province": rows("province"),
        "by_commune": rows("commune"),
        "by_office": rows("office"),
        "by_procedure": rows("procedure"),
        "by_day": [_day_row(day, c, day_hours[day]) for day, c in sorted(daily.items())],
        "overdue": overdue[:LIST_LIMIT],
        "near_due": near_due[:LIST_LIMIT],
        "not_measured": [{"figure": k, "why": v} for k, v in NOT_MEASURED.items()],
    }
