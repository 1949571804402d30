"""Intake's HTTP routes: procedures, dossiers, supplements, queue tickets (a few lines each)."""

from __future__ import annotations

import hmac
import inspect
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from services.intake import handlers
from services.intake.adapters.papers import receipt_pdf
from services.intake.domain.codes import sha256_hex
from services.intake.domain.files import ALLOWED_TYPES
from services.intake.entrypoints.models import (
    CallIn,
    DossierIn,
    DossierView,
    DueDateOut,
    ProcedureOut,
    Receipt,
    StoredFile,
    SupplementIn,
    SupplementOut,
    TicketIn,
    TicketList,
    TicketOut,
)
from shared.abuse import AbuseGuard
from shared.audit import AuditTrail
from shared.http import MAX_OFFSET, ApiError, error_response, error_responses
from shared.identity import CLERK, LEADER, OPERATIONS, SPECIALIST, Principal, require_role
from shared.papers import pdf_response, pdf_responses
from shared.reference.legal_clock import CalendarDatetime
from shared.reference.procedures import Procedure

bearer = HTTPBearer(auto_error=False, description="Front-office API key: `Authorization: Bearer lt_...`")


def deps(request: Request) -> Any:
    """The service's wired dependencies (set by bootstrap)."""
    return request.app.state.intake


async def office(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> handlers.Office:
    """Authenticate the front-office key and apply its rate limit."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "missing API key (Authorization: Bearer <key>)")
    d = deps(request)
    found = await handlers.authenticate(credentials.credentials, store=d.store)
    if found is None:
        # a client that keeps guessing keys gets 429 (valid keys pay no extra look-up)
        abuse: AbuseGuard = request.app.state.abuse
        await abuse.failed(request, "api-key")
        await abuse.admit(request, "api-key", count=False)
        raise ApiError(401, "unauthorized", "unknown or revoked API key")
    if request.method != "GET" and not d.limiter.hit(d.rate, found.code, credentials.credentials[-8:]):
        raise ApiError(429, "rate_limited", f"rate limit {d.rate} exceeded for this key")
    return found


Office = Annotated[handlers.Office, Depends(office)]


#: officials of a competent office read its dossiers' files with the one identity scheme's JWT (as in resolution)
CurrentOfficial = Annotated[
    Principal,
    require_role(CLERK, SPECIALIST, LEADER, OPERATIONS, service="intake", description="Official's JWT"),
]


class RateLimit:
    """Moving-window limits per key (in memory: per instance)."""

    def __init__(self, rate: str) -> None:
        self.rate = parse(rate)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, item: Any, *keys: str) -> bool:
        """Count one request; False when over the limit."""
        return self._limiter.hit(item, *keys)


router = APIRouter(prefix="/v1")

# Which intake rule a schema error on a field breaks, so clients get the same code as from the domain checks.
_FIELD_CODES = (
    ("documents", "invalid_document"),
    ("applicant.citizen_id", "invalid_citizen_id"),
    ("applicant.phone", "invalid_phone"),
    ("procedure_code", "unknown_procedure"),
)


def install_validation_codes(app: FastAPI) -> None:
    """Refine the shared ``validation_error`` into intake's rule codes (``invalid_document``, ...)."""
    shared_handler = app.exception_handlers[RequestValidationError]

    async def refined(request: Request, exc: Exception) -> Response:
        response = shared_handler(request, exc)
        if inspect.isawaitable(response):
            response = await response
        body: dict[str, Any] = json.loads(bytes(response.body))
        if body.get("code") == "validation_error":
            first_field = (body.get("details") or [{}])[0].get("field", "")
            for prefix, code in _FIELD_CODES:
                if first_field == prefix or first_field.startswith(f"{prefix}."):
                    return error_response(422, code, body["message"], body.get("details"))
        return response

    app.add_exception_handler(RequestValidationError, refined)


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/procedures", response_model=list[ProcedureOut], tags=["procedures"], summary="List procedures")
async def list_procedures(request: Request) -> list[dict[str, Any]]:
    return [p.model_dump(mode="json") for p in deps(request).catalogue.all()]


@router.get("/procedures/{code}", response_model=ProcedureOut, tags=["procedures"], responses=error_responses(404))
async def get_procedure(code: str, request: Request) -> dict[str, Any]:
    procedure: Procedure | None = deps(request).catalogue.get(code)
    if procedure is None:
        raise ApiError(404, "unknown_procedure", f"no procedure {code!r}", vi=f"không có thủ tục {code!r}")
    return procedure.model_dump(mode="json")


@router.get(
    "/procedures/{code}/due-date",
    response_model=DueDateOut,
    tags=["procedures"],
    summary="Legal due date for a receipt time",
    responses=error_responses(404, 422),
)
async def due_date(
    code: str,
    request: Request,
    received_at: Annotated[
        CalendarDatetime,
        Query(description="ISO 8601 with offset, years 2000–2100", examples=["2027-02-03T10:00:00+07:00"]),
    ],
) -> dict[str, Any]:
    procedure = deps(request).catalogue.get(code)
    if procedure is None:
        raise ApiError(404, "unknown_procedure", f"no procedure {code!r}", vi=f"không có thủ tục {code!r}")
    if received_at.tzinfo is None:
        raise ApiError(422, "naive_datetime", "received_at: give a time zone offset, e.g. +07:00")
    return {"procedure_code": code, "received_at": received_at, "due_at": procedure.due_at(received_at)}


@router.post(
    "/dossiers",
    status_code=201,
    response_model=Receipt,
    tags=["dossiers"],
    summary="File a dossier; answers the receipt with code and appointment date",
    responses=error_responses(401, 409, 413, 422, 429),
)
async def post_dossier(
    body: DossierIn,
    request: Request,
    response: Response,
    office: Office,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="Retry-safe key chosen by the client, scoped to its office: the same key and body "
            "return the same dossier; the same key with another body is 409 idempotency_key_reused.",
            examples=["7c9e6679-7425-40de-944b-e07fc1f90ae7"],
        ),
    ] = None,
) -> dict[str, Any]:
    result, created = await handlers.receive_dossier(
        body.model_dump(mode="json"), office=office, idempotency_key=idempotency_key, **filing_dependencies(request)
    )
    response.status_code = 201 if created else 200
    return result


def filing_dependencies(request: Request) -> dict[str, Any]:
    """What ``handlers.receive_dossier`` needs besides the filing, the office and the idempotency key."""
    d = deps(request)
    return {
        "store": d.store,
        "catalogue": d.catalogue,
        "publisher": d.publisher,
        "relay": d.relay,
        "now": _now(),
        "pii": request.app.state.pii,
    }


@router.get(
    "/dossiers",
    response_model=list[DossierView],
    tags=["dossiers"],
    summary="This office's dossiers of one citizen (found by keyed hash; IDs are stored encrypted)",
    responses=error_responses(401, 422),
)
async def dossiers_of_citizen(
    request: Request,
    office: Office,
    citizen_id: Annotated[str, Query(pattern=r"^[0-9]{12}$", description="12-digit citizen ID (CCCD).")],
    limit: Annotated[int, Query(ge=1, le=100, description="Most dossiers returned, newest first.")] = 20,
) -> list[dict[str, Any]]:
    digest = request.app.state.pii.hash(citizen_id)
    docs = await deps(request).store.dossiers_of_citizen(digest, office.code, limit)
    return [{**doc, "id": doc["_id"]} for doc in docs]


@router.get("/dossiers/{code}", response_model=DossierView, tags=["dossiers"], responses=error_responses(401, 404))
async def get_dossier(code: str, request: Request, office: Office) -> dict[str, Any]:
    doc = await handlers.filed_dossier(code, office=office, store=deps(request).store)
    route = doc.get("route") or {}
    name = route.get("office_name") if route.get("office_code") == doc.get("current_office_code") else None
    return {**doc, "id": doc["_id"], "current_office_name": name}


@router.get(
    "/dossiers/{code}/forms/receipt.pdf",
    response_class=Response,
    tags=["forms"],
    summary="Receipt and appointment slip (Mẫu 01, Circular 01/2018/TT-VPCP) as PDF",
    responses=pdf_responses(
        "The form, with the dossier code and a QR code of the tracking link; the same dossier state always "
        "gives the same bytes.",
        401,
        404,
        422,
        429,
    ),
)
async def receipt_form(
    code: str,
    request: Request,
    office: Office,
    token: Annotated[
        str | None,
        Query(
            min_length=8,
            max_length=200,
            description="The tracking token from the 201 answer: printed on the slip and put in the QR code "
            "(only its hash is stored, so a reprint without it says where the token was printed).",
        ),
    ] = None,
) -> Response:
    d = deps(request)
    abuse: AbuseGuard = request.app.state.abuse
    if token is not None:
        # a key's holder guessing tracking tokens stops at the failure limits (as on the tracking paths)
        await abuse.admit(request, "receipt-token", target=code, count=False)
    doc = await handlers.filed_dossier(code, office=office, store=d.store)
    if token is not None and not hmac.compare_digest(sha256_hex(token), doc["tracking_token_sha256"]):
        await abuse.failed(request, "receipt-token", target=code)
        raise ApiError(
            422,
            "invalid_tracking_token",
            "token: not the tracking token of this dossier",
            vi="token: không phải mã tra cứu của hồ sơ này",
        )
    return await receipt_paper(doc, request, token=token)


async def receipt_paper(doc: dict[str, Any], request: Request, *, token: str | None) -> Response:
    """Mẫu 01 of a stored dossier as a PDF answer (``token`` printed and in the QR code only when presented)."""
    d = deps(request)
    # the slip is the citizen's paper: it prints the applicant in clear (stored encrypted)
    doc = {**doc, "applicant": handlers.applicant_in_clear(doc["applicant"], request.app.state.pii)}
    pdf = await receipt_pdf(
        doc, procedure=d.catalogue.get(doc["procedure_code"]), token=token, tracking_page_url=d.tracking_page_url
    )
    return pdf_response(pdf, f"{doc['code']}-mau01.pdf")


@router.post(
    "/dossiers/{code}/supplements",
    status_code=201,
    response_model=SupplementOut,
    tags=["dossiers"],
    responses=error_responses(401, 404, 409, 422),
)
async def post_supplement(code: str, body: SupplementIn, request: Request, office: Office) -> dict[str, Any]:
    d = deps(request)
    return await handlers.submit_supplement(
        code,
        [doc.model_dump() for doc in body.documents],
        body.note,
        office=office,
        store=d.store,
        publisher=d.publisher,
        relay=d.relay,
        now=_now(),
    )


@router.put(
    "/dossiers/{code}/documents/{document_code}/file",
    status_code=201,
    response_model=StoredFile,
    tags=["files"],
    summary="Upload the file of a declared document (filed with the dossier or a supplement)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The file itself; `Content-Type` must be the declared type (application/pdf, image/jpeg "
            "or image/png), its size and SHA-256 the declared ones, and its content of that type.",
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ALLOWED_TYPES},
        }
    },
    responses={
        200: {"model": StoredFile, "description": "This exact file was already stored."},
        **error_responses(401, 404, 413, 415, 422),
    },
)
async def upload_file(
    code: str,
    document_code: str,
    request: Request,
    response: Response,
    office: Office,
    content_type: Annotated[str, Header(alias="Content-Type", max_length=100)] = "",
) -> dict[str, Any]:
    d = deps(request)
    record, added = await handlers.store_file(
        code,
        document_code,
        content_type,
        await request.body(),
        office=office,
        store=d.store,
        files=d.files,
        max_bytes=d.settings.max_upload_bytes,
        now=_now(),
    )
    response.status_code = 201 if added else 200
    return record


@router.get(
    "/dossiers/{code}/documents/{document_code}/file",
    response_class=Response,
    tags=["files"],
    summary="A dossier file, for officials of the office now competent for the dossier only",
    responses={
        200: {"content": {t: {} for t in ALLOWED_TYPES}, "description": "The file, checked against its SHA-256."},
        **error_responses(401, 403, 404, 503),
    },
)
async def download_file(code: str, document_code: str, request: Request, official: CurrentOfficial) -> Response:
    d = deps(request)
    # reading a citizen's document is an official's action on personal data: audited, also when refused
    audit: AuditTrail = request.app.state.audit
    target = f"{code}/{document_code}"
    try:
        data, record = await handlers.read_file(
            code, document_code, official_office=official.office, store=d.store, files=d.files
        )
    except ApiError as exc:
        await audit.record(official, "dossier_file.read", target, outcome=exc.code)
        raise
    await audit.record(official, "dossier_file.read", target, details={"size": len(data)})
    return Response(
        data,
        media_type=record["content_type"],
        headers={
            "Content-Disposition": f'attachment; filename="{document_code}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def _centre(centre: str, office: handlers.Office) -> None:
    if centre != office.code:
        raise ApiError(
            403,
            "forbidden",
            "a key may only manage the queue of its own centre",
            vi="khóa truy cập chỉ quản lý được hàng đợi của trung tâm mình",
        )


@router.post(
    "/centres/{centre}/tickets",
    status_code=201,
    response_model=TicketOut,
    tags=["queue"],
    responses=error_responses(401, 403),
)
async def take_ticket(centre: str, body: TicketIn, request: Request, office: Office) -> dict[str, Any]:
    _centre(centre, office)
    return await handlers.take_ticket(centre, body.service, store=deps(request).store, now=_now())


@router.post(
    "/centres/{centre}/calls", response_model=TicketOut, tags=["queue"], responses=error_responses(401, 403, 404)
)
async def call_next(centre: str, body: CallIn, request: Request, office: Office) -> dict[str, Any]:
    _centre(centre, office)
    return await handlers.call_next_ticket(
        centre, body.counter, service=body.service, store=deps(request).store, now=_now()
    )


@router.get(
    "/centres/{centre}/tickets",
    response_model=TicketList,
    tags=["queue"],
    summary="Today's queue for the display board (waiting and called by default)",
    responses=error_responses(401, 403, 422),
)
async def list_tickets(
    centre: str,
    request: Request,
    office: Office,
    service: Annotated[str | None, Query(min_length=1, max_length=64, description="One service's queue.")] = None,
    status: Annotated[
        list[Literal["waiting", "called", "served", "no_show"]] | None,
        Query(description="Statuses to list (repeatable); default waiting and called."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Most tickets listed.")] = 200,
) -> dict[str, Any]:
    _centre(centre, office)
    now = _now()
    items = await handlers.list_tickets(
        centre, service=service, statuses=list(status or []), store=deps(request).store, now=now, limit=limit
    )
    return {"centre": centre, "day": handlers.queue_day(now), "items": items}


@router.post(
    "/centres/{centre}/tickets/{number}/no-show",
    response_model=TicketOut,
    tags=["queue"],
    responses=error_responses(401, 403, 404),
)
async def no_show(
    centre: str, number: Annotated[int, Path(ge=1, le=MAX_OFFSET)], request: Request, office: Office
) -> dict[str, Any]:
    _centre(centre, office)
    return await handlers.mark_no_show(centre, number, store=deps(request).store, now=_now())
