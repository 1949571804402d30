"""The service index of Decision 766/QĐ-TTg (Bộ chỉ số phục vụ người dân, doanh nghiệp) — pure, no I/O.

Five groups with the Decision's weights (transparency 18, progress 20, digitisation 22, online service 22,
satisfaction 18; 100 in all) and 22 criteria. The points of each criterion inside its group are our
allocation (docs/operations-centre.md); criteria our data cannot measure are listed as not measured and
left out of both the score and the maximum, so the index is ``100 × earned / attainable``. A criterion
whose denominator is zero (e.g. no refusals) has no data and is left out the same way — never full marks.
An office with fewer resolved dossiers than the minimum sample is "not ranked" rather than ranked first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Rate = Callable[[Mapping[str, Any]], tuple[int, int] | None]
"""(numerator, denominator) from a group's figures; None when our data cannot measure the criterion."""


@dataclass(frozen=True)
class Criterion:
    """One criterion (tiêu chí) of the index."""

    code: str
    group: str
    name: str
    points: float
    rate: Rate | None
    why_not: str = ""


GROUPS: dict[str, tuple[str, float]] = {
    "transparency": ("Công khai, minh bạch", 18),
    "progress": ("Tiến độ, kết quả giải quyết", 20),
    "digitisation": ("Số hóa hồ sơ", 22),
    "online": ("Cung cấp dịch vụ trực tuyến", 22),
    "satisfaction": ("Mức độ hài lòng", 18),
}


def _pair(num: str, den: str) -> Rate:
    return lambda f: (int(f[num]), int(f[den]))


def _not_overdue(f: Mapping[str, Any]) -> tuple[int, int]:
    return int(f["running"]) - int(f["overdue_now"]), int(f["running"])


def _one_supplement_at_most(f: Mapping[str, Any]) -> tuple[int, int]:
    # "hướng dẫn một lần": a dossier sent back more than once counts against the office
    return int(f["received"]) - int(f["dossiers_with_repeat_supplement"]), int(f["received"])


def _online(f: Mapping[str, Any]) -> tuple[int, int]:
    return int(f["online_full"]) + int(f["online_partial"]), int(f["received"])


def _not_dissatisfied(f: Mapping[str, Any]) -> tuple[int, int]:
    rated = int(f["rated"])
    share = f["not_dissatisfied_share"]
    return (round(share * rated) if share is not None else 0), rated


NO_PORTAL = "the national public-service portal's data is not part of this system"
CRITERIA: tuple[Criterion, ...] = (
    Criterion("1.1", "transparency", "Công bố, công khai TTHC đúng hạn", 4, None, NO_PORTAL),
    Criterion("1.2", "transparency", "Đồng bộ hồ sơ lên Cổng Dịch vụ công quốc gia", 4, None, NO_PORTAL),
    Criterion(
        "1.3", "transparency", "Công khai tiến độ giải quyết cho người dân", 3, None, "notify owns the tracking data"
    ),
    Criterion("1.4", "transparency", "Hài lòng về công khai, minh bạch", 3, None, "the rating asks no such question"),
    Criterion("1.5", "transparency", "Hồ sơ quá hạn có thư xin lỗi", 2, _pair("apologised_late", "ever_late")),
    Criterion("1.6", "transparency", "Từ chối có văn bản nêu lý do", 2, _pair("refused_with_reason", "refused")),
    Criterion("2.1", "progress", "Hồ sơ giải quyết đúng hạn", 8, _pair("resolved_on_time", "resolved")),
    Criterion("2.2", "progress", "Hồ sơ đang giải quyết chưa quá hạn", 4, _not_overdue),
    Criterion("2.3", "progress", "Yêu cầu bổ sung không quá một lần", 3, _one_supplement_at_most),
    Criterion(
        "2.4",
        "progress",
        "Hồ sơ trực tuyến giải quyết đúng hạn",
        3,
        _pair("online_resolved_on_time", "online_resolved"),
    ),
    Criterion("2.5", "progress", "Hài lòng về tiến độ giải quyết", 2, None, "the rating asks no such question"),
    Criterion("3.1", "digitisation", "Kết quả giải quyết điện tử có chữ ký số", 8, _pair("signed_results", "approved")),
    Criterion("3.2", "digitisation", "Số hóa hồ sơ khi tiếp nhận", 7, None, "intake sends no digitisation record"),
    Criterion("3.3", "digitisation", "Khai thác, tái sử dụng dữ liệu đã số hóa", 7, None, "no data-reuse record"),
    Criterion("4.1", "online", "TTHC cung cấp trực tuyến toàn trình", 4, _pair("procedures_full_online", "procedures")),
    Criterion("4.2", "online", "Hồ sơ trực tuyến toàn trình", 6, _pair("online_full", "received")),
    Criterion("4.3", "online", "Hồ sơ trực tuyến (toàn trình và một phần)", 4, _online),
    Criterion("4.4", "online", "Thanh toán trực tuyến", 4, None, "fees and payments are not in any event"),
    Criterion("4.5", "online", "Nộp bằng tài khoản định danh điện tử (VNeID)", 4, None, "no e-ID record (intake)"),
    Criterion("5.1", "satisfaction", "Phản ánh, kiến nghị xử lý đúng hạn", 6, None, "no feedback channel yet"),
    Criterion("5.2", "satisfaction", "Hài lòng trong xử lý phản ánh, kiến nghị", 6, None, "no feedback channel yet"),
    Criterion("5.3", "satisfaction", "Hài lòng trong tiếp nhận, giải quyết TTHC", 6, _not_dissatisfied),
)


def service_index(figures: Mapping[str, Any], *, min_sample: int) -> dict[str, Any]:
    """Score ``figures`` of one office or province; ``ranked`` False below ``min_sample`` resolved dossiers."""
    criteria = []
    earned = attainable = 0.0
    groups: dict[str, dict[str, Any]] = {
        code: {"name": name, "weight": weight, "score": 0.0, "attainable": 0.0}
        for code, (name, weight) in GROUPS.items()
    }
    for c in CRITERIA:
        row: dict[str, Any] = {"code": c.code, "group": c.group, "name": c.name, "points": c.points}
        pair = c.rate(figures) if c.rate is not None else None
        if c.rate is None:
            row.update(status="not_measured", why=c.why_not, score=None)
        elif pair is None or pair[1] == 0:
            row.update(status="no_data", score=None)
        else:
            num, den = pair
            score = round(c.points * max(0, min(num, den)) / den, 2)
            row.update(status="measured", numerator=num, denominator=den, score=score)
            earned += score
            attainable += c.points
            groups[c.group]["score"] += score
            groups[c.group]["attainable"] += c.points
        criteria.append(row)
    resolved = int(figures["resolved"])
    ranked = resolved >= min_sample and attainable > 0
    return {
        "index": round(100 * earned / attainable, 1) if attainable else None,
        "earned": round(earned, 2),
        "attainable": attainable,
        "groups": {k: {**v, "score": round(v["score"], 2)} for k, v in groups.items()},
        "criteria": criteria,
        "ranked": ranked,
        "not_ranked_reason": None
        if ranked
        else f"{resolved} dossier(s) resolved in the period; ranking needs at least {min_sample}",
    }


def rank(rows: list[dict[str, Any]], *, min_sample: int) -> list[dict[str, Any]]:
    """Ranked rows first (best index, then on-time rate, then key), then the not-ranked ones by key."""
    scored = [{**row, "service_index": service_index(row, min_sample=min_sample)} for row in rows]
    ranked = sorted(
        (r for r in scored if r["service_index"]["ranked"]),
        key=lambda r: (-r["service_index"]["index"], -(r["on_time_rate"] or 0), r["key"]),
    )
    for position, row in enumerate(ranked, start=1):
        row["rank"] = position
    rest = sorted((r for r in scored if not r["service_index"]["ranked"]), key=lambda r: r["key"])
    for row in rest:
        row["rank"] = None
    return ranked + rest
