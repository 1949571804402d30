"""Intake's HTTP routes: procedures, dossiers, supplements, queue tickets (a few lines each)."""

from __future__ import annotations

import inspect
import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.intake import handlers
from services.intake.domain.dossier import Dossier
from services.intake.domain.errors import Conflict, IntakeError, NotFound, Refused
from services.intake.domain.files import ALLOWED_TYPES
from services.intake.domain.office import Office as ReceptionOffice
from services.intake.domain.ticket import Ticket, queue_day
from services.intake.entrypoints.deps import Deps, get_deps
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
from shared.http import MAX_OFFSET, ApiError, error_response, error_responses, localised, request_language
from shared.identity import CLERK, LEADER, OPERATIONS, SPECIALIST, Principal, require_role
from shared.papers import pdf_response, pdf_responses
from shared.reference.legal_clock import CalendarDatetime
from shared.reference.procedures import Procedure

bearer = HTTPBearer(auto_error=False, description="Front-office API key: `Authorization: Bearer lt_...`")


async def office(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> ReceptionOffice:
    """Authenticate the front-office key (cached, revocation checked on every request) and apply its rate limit."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "missing API key (Authorization: Bearer <key>)")
    d = get_deps(request)
    found = await handlers.authenticate(credentials.credentials, keys=d.api_keys, cache=d.key_cache)
    if found is None:
        # a client that keeps guessing keys gets 429 (valid keys pay no extra look-up)
        await d.abuse.failed(request, "api-key")
        await d.abuse.admit(request, "api-key", count=False)
        raise ApiError(401, "unauthorized", "unknown or revoked API key")
    if request.method != "GET" and not await d.limiter.hit(found.code, credentials.credentials[-8:]):
        raise ApiError(429, "rate_limited", f"rate limit {d.limiter.rate} exceeded for this key")
    return found


Office = Annotated[ReceptionOffice, Depends(office)]


#: officials of a competent office read its dossiers' files with the one identity scheme's JWT (as in resolution)
CurrentOfficial = Annotated[
    Principal,
    require_role(CLERK, SPECIALIST, LEADER, OPERATIONS, service="intake", description="Official's JWT"),
]

#: the HTTP status of each kind of domain error
_ERROR_STATUS: dict[type[IntakeError], int] = {Refused: 422, Conflict: 409, NotFound: 404}


def install_domain_errors(app: FastAPI) -> None:
    """Answer intake's domain errors with their status, code and message (Vietnamese by default)."""

    async def answer(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, IntakeError)
        language = request_language(request)
        status = next(s for kind, s in _ERROR_STATUS.items() if isinstance(exc, kind))
        message = localised(language, exc.code, exc.message, exc.vi)
        return error_response(status, exc.code, message, exc.details, language=language)

    app.add_exception_handler(IntakeError, answer)


def receipt(result: handlers.Receipt) -> dict[str, Any]:
    """The receipt answered to the front office (tracking token only when just created)."""
    d = result.dossier
    return {
        "id": d.id,
        "code": d.code,
        "status": d.status,
        "received_at": d.received_at,
        "due_at": d.due_at,
        "tracking_token": result.tracking_token,
        "procedure_code": d.procedure_code,
        "office_code": d.office_code,
    }


def dossier_view(dossier: Dossier) -> dict[str, Any]:
    """The filing office's view of a dossier."""
    return {**asdict(dossier), "current_office_name": dossier.current_office_name()}


def ticket_out(ticket: Ticket) -> dict[str, Any]:
    """A queue ticket as answered."""
    return asdict(ticket)


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
async def list_procedures(d: Deps) -> list[dict[str, Any]]:
    return [p.model_dump(mode="json") for p in d.catalogue.all()]


@router.get("/procedures/{code}", response_model=ProcedureOut, tags=["procedures"], responses=error_responses(404))
async def get_procedure(code: str, d: Deps) -> dict[str, Any]:
    procedure: Procedure | None = d.catalogue.get(code)
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
    d: Deps,
    received_at: Annotated[
        CalendarDatetime,
        Query(description="ISO 8601 with offset, years 2000–2100", examples=["2027-02-03T10:00:00+07:00"]),
    ],
) -> dict[str, Any]:
    procedure = d.catalogue.get(code)
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
    d: Deps,
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
    result = await handlers.receive_dossier(
        body.model_dump(mode="json"), office=office, idempotency_key=idempotency_key, ports=d.filing, now=_now()
    )
    response.status_code = 201 if result.created else 200
    return receipt(result)


@router.get(
    "/dossiers",
    response_model=list[DossierView],
    tags=["dossiers"],
    summary="This office's dossiers of one citizen (found by keyed hash; IDs are stored encrypted)",
    responses=error_responses(401, 422),
)
async def dossiers_of_citizen(
    d: Deps,
    office: Office,
    citizen_id: Annotated[str, Query(pattern=r"^[0-9]{12}$", description="12-digit citizen ID (CCCD).")],
    limit: Annotated[int, Query(ge=1, le=100, description="Most dossiers returned, newest first.")] = 20,
) -> list[dict[str, Any]]:
    found = await handlers.dossiers_of_citizen(citizen_id, office=office, dossiers=d.dossiers, pii=d.pii, limit=limit)
    return [dossier_view(dossier) for dossier in found]


@router.get("/dossiers/{code}", response_model=DossierView, tags=["dossiers"], responses=error_responses(401, 404))
async def get_dossier(code: str, d: Deps, office: Office) -> dict[str, Any]:
    return dossier_view(await handlers.filed_dossier(code, office=office, dossiers=d.dossiers))


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
    d = get_deps(request)
    if token is not None:
        # a key's holder guessing tracking tokens stops at the failure limits (as on the tracking paths)
        await d.abuse.admit(request, "receipt-token", target=code, count=False)
    try:
        pdf = await handlers.print_receipt(
            code, token, office=office, dossiers=d.dossiers, catalogue=d.catalogue, printer=d.printer, pii=d.pii
        )
    except Refused as exc:
        if exc.code == "invalid_tracking_token":
            await d.abuse.failed(request, "receipt-token", target=code)
        raise
    return pdf_response(pdf, f"{code}-mau01.pdf")


@router.post(
    "/dossiers/{code}/supplements",
    status_code=201,
    response_model=SupplementOut,
    tags=["dossiers"],
    responses=error_responses(401, 404, 409, 422),
)
async def post_supplement(code: str, body: SupplementIn, d: Deps, office: Office) -> dict[str, Any]:
    documents = [doc.model_dump() for doc in body.documents]
    return await handlers.submit_supplement(code, documents, body.note, office=office, dossiers=d.dossiers, now=_now())


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
    d = get_deps(request)
    record, added = await handlers.store_file(
        code,
        document_code,
        content_type,
        await request.body(),
        office=office,
        dossiers=d.dossiers,
        files=d.files,
        max_bytes=d.settings.max_upload_bytes,
        now=_now(),
    )
    response.status_code = 201 if added else 200
    return asdict(record)


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
async def download_file(code: str, document_code: str, d: Deps, official: CurrentOfficial) -> Response:
    # reading a citizen's document is an official's action on personal data: audited, also when refused
    audit = d.audit
    target = f"{code}/{document_code}"
    try:
        data, record = await handlers.read_file(
            code, document_code, official_office=official.office, dossiers=d.dossiers, files=d.files
        )
    except (ApiError, IntakeError) as exc:
        await audit.record(official, "dossier_file.read", target, outcome=exc.code)
        raise
    await audit.record(official, "dossier_file.read", target, details={"size": len(data)})
    return Response(
        data,
        media_type=record.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{document_code}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def _centre(centre: str, office: ReceptionOffice) -> None:
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
async def take_ticket(centre: str, body: TicketIn, d: Deps, office: Office) -> dict[str, Any]:
    _centre(centre, office)
    ticket = await handlers.take_ticket(centre, body.service, tickets=d.tickets, sequences=d.sequences, now=_now())
    return ticket_out(ticket)


@router.post(
    "/centres/{centre}/calls", response_model=TicketOut, tags=["queue"], responses=error_responses(401, 403, 404)
)
async def call_next(centre: str, body: CallIn, d: Deps, office: Office) -> dict[str, Any]:
    _centre(centre, office)
    ticket = await handlers.call_next_ticket(centre, body.counter, service=body.service, tickets=d.tickets, now=_now())
    return ticket_out(ticket)


@router.get(
    "/centres/{centre}/tickets",
    response_model=TicketList,
    tags=["queue"],
    summary="Today's queue for the display board (waiting and called by default)",
    responses=error_responses(401, 403, 422),
)
async def list_tickets(
    centre: str,
    d: Deps,
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
        centre, service=service, statuses=list(status or []), tickets=d.tickets, now=now, limit=limit
    )
    return {"centre": centre, "day": queue_day(now), "items": [ticket_out(t) for t in items]}


@router.post(
    "/centres/{centre}/tickets/{number}/no-show",
    response_model=TicketOut,
    tags=["queue"],
    responses=error_responses(401, 403, 404),
)
async def no_show(
    centre: str, number: Annotated[int, Path(ge=1, le=MAX_OFFSET)], d: Deps, office: Office
) -> dict[str, Any]:
    _centre(centre, office)
    return ticket_out(await handlers.mark_no_show(centre, number, tickets=d.tickets, now=_now()))
