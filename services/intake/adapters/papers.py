"""Intake's printed form: the receipt and appointment slip (Mẫu 01, Circular 01/2018/TT-VPCP)."""

from __future__ import annotations

from functools import cache
from urllib.parse import quote

import jinja2

from services.intake.domain.dossier import Dossier
from services.intake.domain.ports import ClearApplicant
from shared.papers import environment, letterhead_context, render_form, render_pdf_async
from shared.reference.admin_units import get_ward
from shared.reference.procedures import Procedure

CHANNELS = {"counter": "trực tiếp tại quầy", "online": "trực tuyến", "postal": "qua dịch vụ bưu chính"}


@cache
def _env() -> jinja2.Environment:
    return environment("services.intake")


def tracking_link(base_url: str, code: str, token: str | None) -> str:
    """The tracking page's link for a dossier (the token in the fragment, which never reaches a server log)."""
    fragment = f"code={quote(code)}" + (f"&token={quote(token)}" if token else "")
    return f"{base_url}#{fragment}"


def processing_time(procedure: Procedure | None) -> str:
    """The legal time as the form states it."""
    if procedure is None:
        return "theo quy định"
    if procedure.processing_days == 0:
        return "trong ngày làm việc"
    return f"{procedure.processing_days} ngày làm việc"


def receipt_html(
    dossier: Dossier,
    applicant: ClearApplicant,
    *,
    procedure: Procedure | None,
    token: str | None,
    tracking_page_url: str,
) -> str:
    """The HTML of Mẫu 01 for a stored dossier (``token`` printed only when the caller presented it)."""
    ward = get_ward(applicant.ward_code)
    address = ", ".join(p for p in (applicant.address_detail, ward.name if ward else None) if p)
    book, _, sequence = dossier.code.rpartition("-")
    return render_form(
        _env(),
        "papers/mau01_receipt.html.j2",
        dossier_code=dossier.code,
        **letterhead_context(dossier.office_code),
        issued_at=dossier.received_at,
        applicant=applicant,
        address=address or "…",
        procedure_name=procedure.name if procedure else dossier.procedure_code,
        national_code=procedure.national_code if procedure else None,
        documents=dossier.documents,
        channel=CHANNELS.get(dossier.channel, dossier.channel),
        processing_time=processing_time(procedure),
        received_at=dossier.received_at,
        # the appointment given at receipt: later moves (supplement pauses, apologies) have their own forms
        due_at=dossier.appointment_at,
        fees=[f.model_dump() for f in procedure.fees] if procedure else [],
        tracking_token=token,
        book=book.rpartition("-")[2] or book,
        sequence=sequence,
        qr_link=tracking_link(tracking_page_url, dossier.code, token),
    )


class ReceiptForms:
    """Prints Mẫu 01 as PDF, its QR code linking to the tracking page."""

    def __init__(self, tracking_page_url: str) -> None:
        self.tracking_page_url = tracking_page_url

    async def receipt(
        self, dossier: Dossier, applicant: ClearApplicant, *, procedure: Procedure | None, token: str | None
    ) -> bytes:
        """Mẫu 01 as PDF."""
        html = receipt_html(
            dossier, applicant, procedure=procedure, token=token, tracking_page_url=self.tracking_page_url
        )
        return await render_pdf_async(html)
