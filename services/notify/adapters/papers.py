"""Notify's printed paper: the dossier's tracking log (Mẫu 06, Circular 01/2018/TT-VPCP) from its timeline."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import quote

import jinja2

from shared.papers import environment, letterhead_context, render_form, render_pdf_async

#: How each kind of change reads in the log (the tracking page uses the same words).
LABELS = {
    "received": "Đã tiếp nhận",
    "routed": "Đã chuyển đến cơ quan có thẩm quyền",
    "parked": "Chờ cơ quan có thẩm quyền",
    "accepted": "Cơ quan đã tiếp nhận",
    "in_process": "Đang xử lý",
    "supplement_requested": "Yêu cầu bổ sung",
    "supplement_received": "Đã nhận bổ sung",
    "transferred": "Chuyển xử lý",
    "refused": "Không giải quyết",
    "result_ready": "Đã có kết quả",
    "returned": "Đã trả kết quả",
    "withdrawn": "Đã rút hồ sơ",
    "overdue": "Quá hạn",
    "apology": "Thư xin lỗi, hẹn lại",
}


@cache
def _env() -> jinja2.Environment:
    return environment("services.notify")


def _at(entry: dict[str, Any] | None) -> datetime | None:
    return datetime.fromisoformat(entry["at"]) if entry else None


def _first(timeline: list[dict[str, Any]], *kinds: str) -> dict[str, Any] | None:
    return next((e for e in timeline if e["kind"] in kinds), None)


def tracking_log_html(dossier: dict[str, Any], timeline: list[dict[str, Any]], *, tracking_page_url: str) -> str:
    """The HTML of Mẫu 06 for one dossier (timeline oldest first)."""
    received = _first(timeline, "received")
    due = next((datetime.fromisoformat(e["due_at"]) for e in reversed(timeline) if e.get("due_at")), None)
    routed = [e for e in timeline if e["kind"] == "routed"]
    last = timeline[-1] if timeline else None
    return render_form(
        _env(),
        "papers/mau06_tracking_log.html.j2",
        dossier_code=dossier["code"],
        **letterhead_context((received or {}).get("office_code") or dossier["code"].rsplit("-", 2)[0]),
        issued_at=_at(last),
        procedure=dossier.get("procedure") or "",
        competent_office=routed[-1]["office"] if routed else "",
        received_at=_at(received),
        due_at=due,
        routed_at=_at(routed[0] if routed else None),
        result_at=_at(_first(timeline, "result_ready", "refused")),
        returned_at=_at(_first(timeline, "returned")),
        note=LABELS.get(last["kind"], last["kind"]) if last else "",
        timeline=[
            {
                "at": datetime.fromisoformat(e["at"]),
                "label": LABELS.get(e["kind"], e["kind"]),
                "office": e.get("office") or "",
                "note": e.get("reason") or "",
            }
            for e in timeline
        ],
        qr_link=f"{tracking_page_url}#code={quote(dossier['code'])}",
    )


async def tracking_log_pdf(dossier: dict[str, Any], timeline: list[dict[str, Any]], *, tracking_page_url: str) -> bytes:
    """Mẫu 06 as PDF."""
    return await render_pdf_async(tracking_log_html(dossier, timeline, tracking_page_url=tracking_page_url))


class TrackingLogForms:
    """The tracking-log form printer (the ``TrackingLogPrinter`` port)."""

    async def tracking_log_pdf(
        self, dossier: dict[str, Any], timeline: list[dict[str, Any]], *, tracking_page_url: str
    ) -> bytes:
        """Mẫu 06 as PDF."""
        return await tracking_log_pdf(dossier, timeline, tracking_page_url=tracking_page_url)
