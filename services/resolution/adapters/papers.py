"""Resolution's printed papers: Circular 01/2018 forms 02–05 from a case, and the signed result as PDF."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import quote

import jinja2

from services.resolution.adapters.repositories import CaseMapper
from services.resolution.adapters.signing import b64url
from services.resolution.domain.case import Case
from services.resolution.domain.results import FormNotApplicable, Paper
from shared.papers import environment, letterhead_context, render_form, render_pdf_async
from shared.reference.offices import office_name

#: Forms an official can print, by the name in the path, with their template.
FORMS = {
    "supplement-request": "papers/mau02_supplement_request.html.j2",
    "refusal": "papers/mau03_refusal.html.j2",
    "apology": "papers/mau04_apology.html.j2",
    "control-sheet": "papers/mau05_control_sheet.html.j2",
}
RESULT_ATTACHMENT = "ket-qua.json"

STEPS = {
    "routed": "Nhận hồ sơ từ bộ phận tiếp nhận",
    "accept": "Tiếp nhận hồ sơ",
    "process": "Chuyển xử lý, thẩm định",
    "request_supplement": "Yêu cầu bổ sung hồ sơ",
    "supplement_received": "Nhận hồ sơ bổ sung",
    "transfer": "Chuyển hồ sơ đến cơ quan khác",
    "reject": "Từ chối giải quyết",
    "approve": "Phê duyệt, ký kết quả",
    "return": "Trả kết quả",
    "withdraw": "Công dân rút hồ sơ",
    "overdue": "Quá hạn giải quyết",
    "apology": "Phiếu xin lỗi, hẹn lại ngày trả",
}
STATUSES = {
    "received": "đã nhận",
    "accepted": "đã tiếp nhận",
    "in_process": "đang xử lý",
    "supplement_requested": "chờ bổ sung",
    "supplement_received": "đã nhận bổ sung",
    "transferred": "đã chuyển cơ quan khác",
    "refused": "từ chối giải quyết",
    "result_ready": "đã có kết quả",
    "returned": "đã trả kết quả",
    "withdrawn": "công dân đã rút",
}


#: the form's own exception is the domain's (the routes answer 409 form_not_applicable)
NotApplicable = FormNotApplicable


@cache
def _env() -> jinja2.Environment:
    return environment("services.resolution")


def tracking_link(base_url: str, code: str) -> str:
    """The tracking page with the code filled in (the citizen adds the token from the receipt)."""
    return f"{base_url}#code={quote(code)}"


def _last(case: dict[str, Any], action: str) -> dict[str, Any] | None:
    return next((h for h in reversed(case.get("history", [])) if h.get("action") == action), None)


def _timeliness(at: datetime, due_at: datetime) -> str:
    """The form's judgement of a finishing step against the due date."""
    if at.date() < due_at.date():
        return "Trước hạn"
    return "Đúng hạn" if at <= due_at else "Quá hạn"


def _in_vietnamese(routing_reason: str) -> str:
    """The Vietnamese part of routing's ``<Vietnamese> / <English>`` reason (services/routing/domain/rules.py)."""
    return routing_reason.split(" / ", 1)[0]


def _common(case: dict[str, Any], tracking_page_url: str) -> dict[str, Any]:
    receiving = case.get("receiving_office_code") or case["dossier_code"].rsplit("-", 2)[0]
    return {
        "dossier_code": case["dossier_code"],
        **letterhead_context(case["office_code"]),
        "procedure_name": case.get("procedure_name") or case["procedure_code"],
        "receiving_office": office_name(receiving) or receiving,
        "received_at": case["received_at"],
        "number": case["dossier_code"].rsplit("-", 1)[-1],
        "qr_link": tracking_link(tracking_page_url, case["dossier_code"]),
    }


def form_html(form: str, case: dict[str, Any], *, tracking_page_url: str) -> str:
    """The HTML of one form for a case; NotApplicable when the case has no such step yet."""
    ctx = _common(case, tracking_page_url)
    if form == "supplement-request":
        entry = _last(case, "request_supplement")
        if entry is None:
            raise NotApplicable("no supplement has been requested for this dossier")
        ctx |= {
            "issued_at": entry["at"],
            "reason": entry.get("reason") or "Theo hướng dẫn của cán bộ tiếp nhận",
            "signer": entry.get("by") or "",
            "ordinal": case.get("supplement_requests") or 1,
        }
    elif form == "refusal":
        entry = _last(case, "reject")
        if entry is None:
            raise NotApplicable("this dossier has not been refused")
        ctx |= {"issued_at": entry["at"], "reason": entry.get("reason") or "…", "signer": entry.get("by") or ""}
    elif form == "apology":
        apology = case.get("apology")
        if not apology:
            raise NotApplicable("no apology letter has been issued for this dossier")
        ctx |= {
            "issued_at": apology["issued_at"],
            "reason": apology["reason"],
            "previous_due_at": apology.get("previous_due_at") or case.get("original_due_at"),
            "new_due_at": apology["new_due_at"],
            "signer": apology.get("by") or "",
        }
    elif form == "control-sheet":
        rows = []
        for h in case.get("history", []):
            finishing = h.get("action") in {"approve", "reject", "return", "transfer"}
            rows.append(
                {
                    "step": STEPS.get(h.get("action") or "", h.get("action") or ""),
                    "by": h.get("by") or "",
                    "at": h["at"],
                    "timeliness": _timeliness(h["at"], case["due_at"]) if finishing else "",
                    "note": _in_vietnamese(h.get("reason") or "")
                    if h.get("action") == "routed"
                    else h.get("reason") or "",
                }
            )
        ctx |= {
            "issued_at": case["history"][-1]["at"] if case.get("history") else case["received_at"],
            "rows": rows,
            "due_at": case["due_at"],
            "paused_hours": round(float(case.get("paused_hours") or 0), 1),
            "status": STATUSES.get(case["status"], case["status"]),
        }
    else:
        raise KeyError(form)
    return render_form(_env(), FORMS[form], **ctx)


async def form_pdf(form: str, case: dict[str, Any], *, tracking_page_url: str) -> bytes:
    """One form as PDF."""
    return await render_pdf_async(form_html(form, case, tracking_page_url=tracking_page_url))


def signature_param(signature: str) -> str:
    """The signature as it travels in a link (base64url, no padding)."""
    return b64url(base64.b64decode(signature))


def result_qr_link(verify_url: str, signature: str) -> str:
    """The QR code's link: the verification page with the signature, so the paper checks itself."""
    return f"{verify_url}&sig={signature_param(signature)}"


def result_html(stored: dict[str, Any], *, verify_url: str, procedure_name: str | None) -> str:
    """The HTML of a signed result."""
    document = stored["document"]
    return render_form(
        _env(),
        "papers/result.html.j2",
        dossier_code=document["dossier_code"],
        **letterhead_context(document["office_code"]),
        issued_at=datetime.fromisoformat(document["issued_at"]),
        document=document,
        signature=stored["signature"],
        procedure_name=procedure_name or document["procedure_code"],
        number=document["document_id"][:8].upper(),
        qr_link=result_qr_link(verify_url, stored["signature"]),
    )


def result_attachment(stored: dict[str, Any]) -> bytes:
    """The signed original embedded in the PDF: the document, its signature and the algorithm."""
    payload = {"document": stored["document"], "signature": stored["signature"], "algorithm": stored["algorithm"]}
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, indent=1).encode()


async def result_pdf(stored: dict[str, Any], *, verify_url: str, procedure_name: str | None) -> bytes:
    """A signed result as PDF, with the signed original attached."""
    html = result_html(stored, verify_url=verify_url, procedure_name=procedure_name)
    return await render_pdf_async(html, attachments=[(RESULT_ATTACHMENT, result_attachment(stored))])


class OfficePapers:
    """The ``Papers`` port: a case's Circular 01/2018 forms, numbered as the Circular numbers them."""

    def __init__(self, *, tracking_page_url: str) -> None:
        self.tracking_page_url = tracking_page_url
        self._mapper = CaseMapper()

    async def form(self, form: str, case: Case) -> Paper:
        """The form as PDF with its file name (FormNotApplicable before the case went through its step)."""
        pdf = await form_pdf(form, self._mapper.to_document(case), tracking_page_url=self.tracking_page_url)
        number = list(FORMS).index(form) + 2
        return Paper(pdf, f"{case.dossier_code}-mau{number:02d}.pdf")
