"""Printable papers: Jinja2 HTML templates rendered to PDF by WeasyPrint, with QR codes (segno).

Every form of Circular 01/2018/TT-VPCP (as amended by Circular 01/2023/TT-VPCP) extends
``papers/base.html.j2`` here, which draws the national header, the form number and the QR code; each
service keeps its own forms in ``<service>/templates/papers/``. Rendering is deterministic: the same
state gives the same bytes (no creation time, fixed PDF identifier), so a reprint equals the first print.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jinja2
import segno
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from shared.http import error_responses
from shared.reference.legal_clock import VIETNAM_TZ
from shared.reference.offices import letterhead

PDF_MEDIA_TYPE = "application/pdf"


def qr_data_uri(text: str) -> str:
    """An SVG QR code of ``text`` as a data URI (error correction M, a quiet zone of 4 modules)."""
    return str(segno.make(text, error="m", micro=False).svg_data_uri(scale=4, border=4))


def vn_time(value: datetime | None) -> str:
    """``09 giờ 15 phút, ngày 23/11/2026`` in Vietnam time, as the forms write it; ``…`` when unknown."""
    if value is None:
        return "…"
    local = value.astimezone(VIETNAM_TZ)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d/%m/%Y}"


def vn_date(value: datetime | None) -> str:
    """``ngày 23 tháng 11 năm 2026`` in Vietnam time (the place-and-date line of a form)."""
    if value is None:
        return "ngày … tháng … năm …"
    local = value.astimezone(VIETNAM_TZ)
    return f"ngày {local:%d} tháng {local:%m} năm {local:%Y}"


def vn_short(value: datetime | None) -> str:
    """``09:15 23/11/2026`` in Vietnam time (table cells); empty when unknown."""
    return value.astimezone(VIETNAM_TZ).strftime("%H:%M %d/%m/%Y") if value else ""


def environment(package: str) -> jinja2.Environment:
    """Templates of ``package`` (``templates/papers``) plus the shared base, HTML-escaped, strict."""
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [jinja2.PackageLoader(package, "templates"), jinja2.PackageLoader("shared", "templates")]
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(qr=qr_data_uri, vn_time=vn_time, vn_date=vn_date, vn_short=vn_short)
    return env


@cache
def _weasyprint() -> object:
    # imported on first use: it loads Pango through cffi, which a process that prints nothing does not need
    import weasyprint

    return weasyprint


#: the dates written on embedded files (their content is dated inside: the signed document's issue time)
ATTACHMENT_DATE = datetime(2000, 1, 1, tzinfo=UTC)


def render_pdf(html: str, *, attachments: Sequence[tuple[str, bytes]] = ()) -> bytes:
    """The PDF of ``html`` (A4, fonts from the system: DejaVu covers Vietnamese); files embedded as attachments."""
    weasyprint = _weasyprint()
    # an attachment's dates default to now (to the second): fixed, so a reprint in another second is the same
    files = [
        weasyprint.Attachment(  # type: ignore[attr-defined]
            string=data, name=name, description=name, created=ATTACHMENT_DATE, modified=ATTACHMENT_DATE
        )
        for name, data in attachments
    ]
    # a fixed identifier derived from the content keeps the output byte-identical for identical input
    identifier = hashlib.sha256(html.encode()).hexdigest()[:32].encode()
    pdf: bytes = weasyprint.HTML(string=html).write_pdf(  # type: ignore[attr-defined]
        attachments=files, pdf_identifier=identifier
    )
    return pdf


async def render_pdf_async(html: str, *, attachments: Sequence[tuple[str, bytes]] = ()) -> bytes:
    """``render_pdf`` in a worker thread, so a print does not stall the event loop."""
    return await run_in_threadpool(render_pdf, html, attachments=attachments)


def render_form(env: jinja2.Environment, template: str, **context: object) -> str:
    """The HTML of one form."""
    return env.get_template(template).render(**context)


def letterhead_context(office_code: str) -> dict[str, str]:
    """The base template's letterhead variables for an office: ``office_name``, ``office_parent``, ``place``."""
    head = letterhead(office_code)
    return {"office_name": head.name, "office_parent": head.parent, "place": head.place}


def pdf_response(pdf: bytes, filename: str) -> Response:
    """A PDF answer shown in the browser (``inline``) under ``filename``."""
    return Response(pdf, media_type=PDF_MEDIA_TYPE, headers={"Content-Disposition": f'inline; filename="{filename}"'})


def pdf_responses(description: str, *error_statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` of a route answering a PDF (and the common error body for ``error_statuses``)."""
    return {200: {"content": {PDF_MEDIA_TYPE: {}}, "description": description}, **error_responses(*error_statuses)}
