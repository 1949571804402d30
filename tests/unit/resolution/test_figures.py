"""Operations-centre figures against a hand-counted set of eleven dossiers (docs/operations-centre.md).

Every expected number below was counted by hand from the table in ``DOSSIERS``; working hours use the
contract's office hours (07:30–11:30, 13:00–17:00, Monday–Friday) and were counted by hand as well.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from services.resolution.domain.figures import Period, compute, office_province, percentile
from services.resolution.domain.scope import Scope, ScopeRefused, scope_for
from services.resolution.domain.service_index import CRITERIA, GROUPS, rank, service_index
from shared.reference.legal_clock import default_clock
from shared.reference.procedures import load_catalogue

A, B, HCM = "00070.UBND", "00073.UBND", "26506.UBND"  # Hoàn Kiếm (Hà Nội), Cửa Nam (Hà Nội), Vũng Tàu (TP HCM)
FULL, PARTIAL = "LT-HT-004", "LT-CT-103"  # fully online / partly online procedures in the catalogue
NOW = datetime.fromisoformat("2026-12-02T10:00:00+07:00")  # a Wednesday
PERIOD = Period(date(2026, 11, 30), date(2026, 12, 2))


def t(text: str) -> datetime:
    """A local Vietnam time."""
    return datetime.fromisoformat(f"{text}:00+07:00")


def case(dossier: str, office: str = A, **fields: Any) -> dict[str, Any]:
    """A case as the store projects it; defaults: counter filing, open, nothing happened yet."""
    base: dict[str, Any] = {
        "dossier_id": dossier,
        "dossier_code": f"00070.TTHCC-261130-{dossier}",
        "office_code": office,
        "office_name": office,
        "procedure_code": FULL,
        "procedure_name": "Đăng ký nhận cha, mẹ, con",
        "applicant_ward_code": office[:5],
        "channel": "counter",
        "status": "received",
        "received_at": t("2026-11-30T08:00"),
        "routed_at": t("2026-11-30T08:00"),
        "due_at": t("2026-12-03T08:00"),
        "finished_at": None,
        "overdue": False,
        "overdue_at": None,
        "paused_at": None,
        "paused_hours": 0.0,
        "supplement_requests": 0,
        "apology": None,
        "rating": None,
        "result": None,
        "refusal_reason": None,
        "processing_days": 3,
    }
    base.update(fields)
    return base


SIGNED = {"document_id": "doc"}
DOSSIERS = [
    # D1 online (fully), returned on time with a signed result, rated 5 — 9.0 working hours
    case(
        "D1",
        channel="online",
        status="returned",
        finished_at=t("2026-12-01T09:00"),
        result=SIGNED,
        rating={"score": 5, "at": t("2026-12-01T10:00")},
    ),
    # D2 online (partly), flagged overdue, apology, then finished late — 14.5 h
    case(
        "D2",
        procedure_code=PARTIAL,
        channel="online",
        status="result_ready",
        received_at=t("2026-11-30T10:00"),
        due_at=t("2026-12-02T12:00"),
        overdue_at=t("2026-12-01T17:00"),
        apology={"issued_at": t("2026-12-01T17:10")},
        finished_at=t("2026-12-02T08:30"),
        result=SIGNED,
    ),
    # D3 refused with a reason — 5.5 h; D4 refused without one — 10.0 h
    case(
        "D3",
        status="refused",
        received_at=t("2026-11-30T14:00"),
        finished_at=t("2026-12-01T10:00"),
        refusal_reason="Hồ sơ không hợp lệ",
    ),
    case(
        "D4", status="refused", received_at=t("2026-11-30T09:00"), finished_at=t("2026-12-01T11:00"), refusal_reason=" "
    ),
    # D5 online, in process, past due now (flagged); D6 accepted, due within the next 8 working hours
    case(
        "D5",
        channel="online",
        status="in_process",
        received_at=t("2026-12-01T08:00"),
        due_at=t("2026-12-02T09:00"),
        overdue=True,
        overdue_at=t("2026-12-02T09:00"),
    ),
    case("D6", status="accepted", received_at=t("2026-12-02T08:00"), due_at=t("2026-12-02T15:00")),
    # D7 online, transferred from B to A, returned on time at A — one dossier, two cases — 13.5 h
    case("D7", B, channel="online", status="transferred"),
    case(
        "D7",
        channel="online",
        status="returned",
        routed_at=t("2026-11-30T09:00"),
        due_at=t("2026-12-04T08:00"),
        finished_at=t("2026-12-01T15:00"),
        result=SIGNED,
    ),
    # D8 in Hồ Chí Minh City, waiting for a supplement (clock paused, past its due date: not overdue), 2 requests
    case(
        "D8",
        HCM,
        status="supplement_requested",
        received_at=t("2026-12-01T08:00"),
        due_at=t("2026-12-01T16:00"),
        paused_at=t("2026-12-01T09:00"),
        supplement_requests=2,
    ),
    # D9 received before the period, resolved in it on time, rated 2 — 8.0 h
    case(
        "D9",
        status="returned",
        received_at=t("2026-11-27T08:00"),
        due_at=t("2026-12-02T08:00"),
        finished_at=t("2026-11-30T08:00"),
        result=SIGNED,
        rating={"score": 2, "at": t("2026-11-30T11:00")},
    ),
    # D10 withdrawn by the citizen
    case("D10", status="withdrawn", received_at=t("2026-12-01T08:00")),
    # D11 an inter-agency chain: step 1 finished at A (a result for A), step 2 still in process at B
    case(
        "D11",
        status="result_ready",
        applicant_ward_code="00070",
        received_at=t("2026-12-01T08:00"),
        routed_at=t("2026-12-01T08:00"),
        due_at=t("2026-12-02T08:00"),
        finished_at=t("2026-12-01T10:00"),
        result=SIGNED,
    ),
    case(
        "D11",
        B,
        status="in_process",
        applicant_ward_code="00070",
        received_at=t("2026-12-01T08:00"),
        routed_at=t("2026-12-01T10:00"),
        due_at=t("2026-12-04T10:00"),
    ),
]


def report(cases: list[dict[str, Any]] = DOSSIERS) -> dict[str, Any]:
    catalogue = load_catalogue()
    return compute(
        cases,
        period=PERIOD,
        now=NOW,
        clock=default_clock(),
        online_level=lambda code: p.online if (p := catalogue.get(code)) else None,
    )


def row(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(r for r in rows if r["key"] == key)


def test_totals_match_the_hand_count() -> None:
    """Every total equals the count made by hand from the table of eleven dossiers."""
    got = report()["totals"]
    expected = {
        "received": 10,  # D9 was received before the period; D7's and D11's two cases are one dossier each
        "resolved": 6,  # D1 D2 D3 D4 D7 D9 (D11's chain is not finished: its latest case is in process)
        "resolved_on_time": 5,
        "resolved_late": 1,  # D2: flagged overdue, the apology does not make it on time
        "on_time_rate": 0.8333,
        "open": 5,  # D2 (result ready, not yet returned), D5, D6, D8, D11
        "running": 3,  # D5, D6, D11 at B (D8's clock is paused)
        "overdue_now": 1,  # D5 (D8 is past its date but paused)
        "near_due": 1,  # D6
        "avg_resolution_hours": 10.08,  # (9.0 + 14.5 + 5.5 + 10.0 + 13.5 + 8.0) / 6
        "p90_resolution_hours": 14.5,
        "supplement_requests": 2,
        "dossiers_with_supplement": 1,
        "dossiers_with_repeat_supplement": 1,
        "refused": 2,
        "refused_with_reason": 1,  # D4's reason is blank
        "refused_without_reason": 1,
        "online_full": 3,  # D1 D5 D7
        "online_partial": 1,  # D2
        "online_full_share": 0.3,
        "online_partial_share": 0.1,
        "online_share": 0.4,
        "eid_share": None,
        "rated": 2,
        "satisfaction": 3.5,
        "satisfied_share": 0.5,
        "not_dissatisfied_share": 0.5,
        "apologies": 1,
        "ever_late": 2,  # D2 D5 flagged in the period
        "apologised_late": 1,
        "signed_results": 4,
        "approved": 4,
        "online_resolved": 3,
        "online_resolved_on_time": 2,
    }
    assert {k: got[k] for k in expected} == expected
    assert got["refusal_reasons"] == [{"reason": "Hồ sơ không hợp lệ", "count": 1}]


def test_groups_count_a_transferred_dossier_once_per_group_and_use_the_competent_province() -> None:
    """D7 and D11 count at both offices but once in their province; D11's first chain step is a resolved case
    at A though the dossier is not finished (and no longer open at A: its result went on to B); D8 belongs to
    TP HCM (its competent office)."""
    r = report()
    assert [(x["key"], x["received"]) for x in r["by_province"]] == [("01", 9), ("79", 1)]
    offices = {x["key"]: (x["received"], x["resolved"], x["open"]) for x in r["by_office"]}
    assert offices == {A: (9, 7, 3), B: (2, 0, 1), HCM: (1, 0, 1)}
    assert row(r["by_procedure"], PARTIAL)["received"] == 1
    assert row(r["by_commune"], "00073")["received"] == 1


def test_daily_series_and_lists() -> None:
    """Received by receipt day, resolved by finishing day; overdue and near-due lists name the dossiers."""
    r = report()
    day = {"online_full": 0, "online_partial": 0, "refused": 0, "apologies": 0}
    assert r["by_day"] == [
        # received D1 D2 D3 D4 D7 (D1 D7 fully online, D2 partly); resolved D9 (8.0 h)
        {**day, "day": "2026-11-30", "received": 5, "online_full": 2, "online_partial": 1}
        | {"resolved_on_time": 1, "resolved_late": 0, "avg_resolution_hours": 8.0},
        # received D5 D8 D10 D11 (D5 online); resolved D1 D3 D4 D7 (9 + 5.5 + 10 + 13.5) / 4; D2's apology
        {**day, "day": "2026-12-01", "received": 4, "online_full": 1, "refused": 2, "apologies": 1}
        | {"resolved_on_time": 4, "resolved_late": 0, "avg_resolution_hours": 9.5},
        # received D6; resolved D2 late (14.5 h)
        {**day, "day": "2026-12-02", "received": 1, "resolved_on_time": 0, "resolved_late": 1}
        | {"avg_resolution_hours": 14.5},
    ]
    assert [(i["dossier_code"][-2:], i["working_hours_late"]) for i in r["overdue"]] == [("D5", 1.0)]
    assert [(i["dossier_code"][-2:], i["working_hours_left"]) for i in r["near_due"]] == [("D6", 3.5)]


def test_an_empty_period_gives_zeros_and_nulls_not_errors() -> None:
    """No cases: counts are 0 and rates null (nothing to divide by)."""
    totals = report([])["totals"]
    assert totals["received"] == 0 and totals["on_time_rate"] is None and totals["p90_resolution_hours"] is None


def test_percentile_is_nearest_rank() -> None:
    """p90 of 1..10 is 9, of one value that value, of none None."""
    assert percentile([float(i) for i in range(10, 0, -1)], 0.9) == 9.0
    assert percentile([4.0], 0.9) == 4.0
    assert percentile([], 0.9) is None


def test_office_province_is_the_competent_office_province() -> None:
    """Commune offices map through their ward, province offices through their code."""
    assert office_province(A) == "01" and office_province(HCM) == "79" and office_province("P79.STP") == "79"
    assert office_province("nonsense") is None


def test_decision_766_weights_and_criteria() -> None:
    """22 criteria in five groups whose points add up to the Decision's weights (18, 20, 22, 22, 18)."""
    assert len(CRITERIA) == 22
    for group, (_, weight) in GROUPS.items():
        assert sum(c.points for c in CRITERIA if c.group == group) == weight
    assert sum(w for _, w in GROUPS.values()) == 100


def test_service_index_of_an_office_by_hand() -> None:
    """Office A's index: earned points of measured criteria over their attainable points (counted by hand)."""
    a = row(report()["by_office"], A)
    index = service_index(a, min_sample=5)
    scores = {c["code"]: c["score"] for c in index["criteria"] if c["status"] == "measured"}
    assert scores == {
        "1.5": 1.0,  # 2 × 1 apologised / 2 late
        "1.6": 1.0,  # 2 × 1 reasoned / 2 refused
        "2.1": 6.86,  # 8 × 6/7 (D11's step at A counts for A)
        "2.2": 2.0,  # 4 × 1 not overdue / 2 running
        "2.3": 3.0,  # 3 × 9/9 (no repeat supplement at A)
        "2.4": 2.0,  # 3 × 2/3 online on time
        "3.1": 8.0,  # 8 × 5/5 signed results
        "4.1": 2.0,  # 4 × 1 fully-online procedure / 2
        "4.2": 2.0,  # 6 × 3/9
        "4.3": 1.78,  # 4 × 4/9
        "5.3": 3.0,  # 6 × 1 not dissatisfied / 2 rated
    }
    assert index["attainable"] == 50 and index["index"] == 65.3 and index["ranked"]  # 100 × 32.64 / 50
    not_measured = [c["code"] for c in index["criteria"] if c["status"] == "not_measured"]
    assert not_measured == ["1.1", "1.2", "1.3", "1.4", "2.5", "3.2", "3.3", "4.4", "4.5", "5.1", "5.2"]


def test_an_office_with_nothing_resolved_is_not_ranked_rather_than_first() -> None:
    """B and the HCM office have no resolved dossier: not ranked (rank null), after the ranked office A."""
    ranked = rank(report()["by_office"], min_sample=5)
    assert [(r["key"], r["rank"]) for r in ranked] == [(A, 1), (B, None), (HCM, None)]
    assert "at least 5" in ranked[1]["service_index"]["not_ranked_reason"]
    # no data is no data: criteria without a denominator (nothing resolved) are left out, not full marks
    statuses = {c["code"]: c["status"] for c in ranked[1]["service_index"]["criteria"]}
    assert statuses["2.1"] == statuses["3.1"] == statuses["5.3"] == "no_data"
    # below the minimum sample even A is not ranked (it resolved 7)
    assert rank(report()["by_office"], min_sample=7)[0]["rank"] == 1
    assert rank(report()["by_office"], min_sample=8)[0]["rank"] is None


@pytest.mark.parametrize(
    ("office", "roles", "province", "asked_office", "expected"),
    [
        ("P01.TTPVHCC", {"operations"}, None, None, Scope("province", "01")),
        ("00070.UBND", {"operations"}, "01", A, Scope("office", "01", A)),
        ("P01.TTPVHCC", {"national"}, None, None, Scope("national")),
        ("P01.TTPVHCC", {"national"}, "79", None, Scope("province", "79")),
        ("00070.UBND", {"leader"}, None, None, Scope("office", "01", A)),
    ],
)
def test_scopes(office: str, roles: set[str], province: str | None, asked_office: str | None, expected: Scope) -> None:
    """Operations: own province; national: everything it asks for; leader: own office."""
    assert (
        scope_for(office=office, roles=frozenset(roles), province_code=province, office_code=asked_office) == expected
    )


@pytest.mark.parametrize(
    ("office", "roles", "province", "asked_office"),
    [
        ("P01.TTPVHCC", {"operations"}, "79", None),  # Hà Nội operations asks for TP HCM
        ("P01.TTPVHCC", {"operations"}, None, HCM),  # ... or for an office there
        ("00070.UBND", {"leader"}, None, B),  # a leader asks for another office
        ("00070.UBND", {"leader"}, "79", None),
        ("00070.UBND", {"clerk", "specialist"}, None, None),
        ("P01.TTPVHCC", {"national"}, "01", HCM),  # contradictory
    ],
)
def test_scopes_refused(office: str, roles: set[str], province: str | None, asked_office: str | None) -> None:
    """Asking outside one's scope is refused, never silently widened or narrowed."""
    with pytest.raises(ScopeRefused):
        scope_for(office=office, roles=frozenset(roles), province_code=province, office_code=asked_office)


def test_period_bounds_are_checked() -> None:
    """Reversed, over-long and out-of-range periods are refused with a code naming the problem."""
    from services.resolution.entrypoints.operations import period_of
    from shared.http import ApiError

    today = date(2026, 12, 2)
    assert period_of(None, None, today=today) == Period(date(2026, 11, 3), today)
    for first, last, code in (
        (date(2026, 12, 5), date(2026, 12, 1), "invalid_range"),
        (date(2024, 1, 1), date(2026, 1, 1), "range_too_long"),
        (date(1, 1, 1), date(1, 1, 2), "invalid_date"),
        (None, date(9999, 12, 31), "invalid_date"),
    ):
        with pytest.raises(ApiError) as refused:
            period_of(first, last, today=today)
        assert refused.value.code == code and refused.value.status == 422
