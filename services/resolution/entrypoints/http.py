"""Resolution's HTTP routes: worklist, case actions, apology, results and verification, rating.

The generic ``/dossiers/{dossier}/{action}`` route is registered last so the fixed paths win.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from importlib import resources
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from services.resolution.domain.case import (
    Case,
    CaseNotFound,
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    ReasonRequired,
)
from services.resolution.domain.results import FormNotApplicable, NotAResult, Verdict
from services.resolution.entrypoints.auth import CurrentOfficial, Official
from services.resolution.entrypoints.deps import ResolutionDeps, get_deps
from services.resolution.entrypoints.models import (
    ActionIn,
    ApologyIn,
    CaseOut,
    JwksOut,
    RatingIn,
    RatingOut,
    SignedResultOut,
    VerificationOut,
    VerifyIn,
    VerifyOut,
    WorklistOut,
)
from shared.events import DossierStatus
from shared.http import MAX_OFFSET, ApiError, error_responses, route
from shared.papers import PDF_MEDIA_TYPE, pdf_response, pdf_responses
from shared.reference.offices import office_name

router = APIRouter(prefix="/v1")
public = APIRouter()
Deps = Annotated[ResolutionDeps, Depends(get_deps)]
T = TypeVar("T")


def view(case: Case) -> CaseOut:
    """A case as officials see it (no outbox, no bookkeeping, no tracking token)."""
    return CaseOut.model_validate(case, from_attributes=True)


async def _guarded(coro: Awaitable[T]) -> T:
    """Await a use case, answering its domain errors with their HTTP status."""
    try:
        return await coro
    except CaseNotFound:
        raise ApiError(
            404, "not_found", "no such dossier at your office", vi="không có hồ sơ này tại cơ quan của Ông/Bà"
        ) from None
    except Forbidden as exc:
        raise ApiError(403, "forbidden", str(exc), vi=exc.vi) from None
    except PermissionError as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except ReasonRequired as exc:
        raise ApiError(422, "reason_required", str(exc), vi=exc.vi) from None
    except IllegalTransition as exc:
        details = [{"current_status": exc.current.value}]
        raise ApiError(409, "illegal_transition", str(exc), details=details, vi=exc.vi) from None
    except Conflict as exc:
        raise ApiError(409, exc.code, str(exc)) from None
    except InvalidInput as exc:
        raise ApiError(422, exc.code, str(exc)) from None


async def _audited(deps: ResolutionDeps, official: Official, action: str, dossier: str, coro: Awaitable[Case]) -> Case:
    """Run an official's action and write its audit record, whether it succeeded or was refused."""
    try:
        case = await _guarded(coro)
    except ApiError as exc:
        await deps.audit.record(official, f"case.{action}", dossier, outcome=exc.code)
        raise
    await deps.audit.record(official, f"case.{action}", dossier, details={"status": case.status.value})
    return case


async def office_case(dossier: str, official: CurrentOfficial, deps: Deps) -> Case:
    """FastAPI dependency: the calling official's office's case of ``dossier`` (401 / 404 otherwise)."""
    return await _guarded(deps.cases.case_for(dossier, official.office))


OfficeCase = Annotated[Case, Depends(office_case)]


@route(router.get, "/worklist", WorklistOut, "cases", "Open cases of the official's office, overdue first", 401)
async def worklist(
    deps: Deps,
    official: CurrentOfficial,
    status: Annotated[
        list[DossierStatus] | None, Query(description="Filter by status (repeatable); default: all open statuses")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Cases to skip")] = 0,
) -> WorklistOut:
    cases = await deps.cases.worklist(official.office, status, limit=limit, offset=offset)
    return WorklistOut(office=official.office, items=[view(c) for c in cases])


@route(
    router.get,
    "/dossiers/{dossier}",
    CaseOut,
    "cases",
    "A case of the official's office, by dossier id or dossier code",
    401,
    404,
)
async def get_case(case: OfficeCase) -> CaseOut:
    return view(case)


@route(
    router.post,
    "/dossiers/{dossier}/apology",
    CaseOut,
    "cases",
    "Leader's apology letter with a new appointment date (overdue cases)",
    401,
    403,
    404,
    409,
    422,
)
async def apology(dossier: str, body: ApologyIn, deps: Deps, official: CurrentOfficial) -> CaseOut:
    if body.new_due_at is not None and body.new_due_at.tzinfo is None:
        raise ApiError(422, "naive_datetime", "new_due_at: give a time zone offset")
    apologised = deps.cases.apologise(dossier, by=official, reason=body.reason, new_due_at=body.new_due_at)
    return view(await _audited(deps, official, "apology", dossier, apologised))


@route(router.post, "/dossiers/{code}/rating", RatingOut, "citizens", "Citizen's satisfaction rating", 404, 409, 429)
async def rate(
    code: str,
    body: RatingIn,
    request: Request,
    deps: Deps,
    token: Annotated[str, Query(min_length=8, max_length=200, description="The citizen's tracking token")],
) -> RatingOut:
    await deps.abuse.admit(request, "rating", target=code)
    try:
        rating = await _guarded(deps.cases.rate(code, token, body.score, body.comment))
    except ApiError as exc:
        if exc.status == 404:  # a wrong token looks like an unknown code, and counts as a failed attempt
            await deps.abuse.failed(request, "rating", target=code)
        raise
    return RatingOut.model_validate(rating, from_attributes=True)


@route(
    router.get,
    "/results/{document_id}",
    SignedResultOut,
    "results",
    "A signed result with the office's public key",
    404,
)
async def get_result(document_id: str, deps: Deps) -> dict[str, Any]:
    found = await _guarded(deps.results.published(document_id))
    if found is None:
        raise ApiError(404, "not_found", "no such result")
    return found


@route(router.post, "/results/verify", VerifyOut, "results", "Check a result's signature", 422, 429)
async def verify(body: VerifyIn, request: Request, deps: Deps) -> dict[str, Any]:
    await deps.abuse.admit(request, "verify")
    return {"valid": deps.results.verify(body.document, body.signature)}


@router.get(
    "/dossiers/{dossier}/forms/{form}.pdf",
    response_class=Response,
    tags=["forms"],
    summary="Circular 01/2018 forms: supplement request (Mẫu 02), refusal (03), apology (04), control sheet (05)",
    responses=pdf_responses(
        "The form with the dossier code and a QR code of the tracking link; the same case state always gives the "
        "same bytes.",
        401,
        404,
        409,
        422,
    ),
)
async def form(
    form: Literal["supplement-request", "refusal", "apology", "control-sheet"], case: OfficeCase, deps: Deps
) -> Response:
    try:
        paper = await deps.papers.form(form, case)
    except FormNotApplicable as exc:
        vi = f"{form}: hồ sơ chưa qua bước mà mẫu này ghi lại (yêu cầu bổ sung, từ chối hoặc thư xin lỗi)"
        raise ApiError(409, "form_not_applicable", f"{form}: {exc}", vi=vi) from None
    return pdf_response(paper.pdf, paper.filename)


@router.get(
    "/results/{document_id}/pdf",
    response_class=Response,
    tags=["results"],
    summary="A signed result as PDF (the signed original embedded; public by its unguessable id, like the JSON)",
    responses=pdf_responses("The result paper.", 404, 429),
)
async def result_paper(document_id: str, request: Request, deps: Deps) -> Response:
    # public and costly to render: the same per-client limit as the other public paths; a wrong id counts as
    # a failed attempt (ids are unguessable, so only guessing produces many)
    await deps.abuse.admit(request, "result-pdf")
    paper = await deps.results.paper(document_id)
    if paper is None:
        await deps.abuse.failed(request, "result-pdf")
        raise ApiError(404, "not_found", "no such result")
    return pdf_response(paper.pdf, paper.filename)


def _verification(verdict: Verdict, document: dict[str, Any] | None) -> dict[str, Any]:
    doc = document or {}
    office = doc.get("office_code") or verdict.office_code
    issued = doc.get("issued_at")
    out: dict[str, Any] = {
        "status": verdict.status,
        "reason": verdict.reason,
        "office_code": office,
        "office_name": office_name(office) if isinstance(office, str) else None,
        "key_id": doc.get("key_id") or verdict.key_id,
    }
    if document is not None and verdict.status != "unknown":
        out |= {
            "document_id": doc.get("document_id"),
            "dossier_code": doc.get("dossier_code"),
            "issued_at": datetime.fromisoformat(issued) if isinstance(issued, str) else None,
            "title": doc.get("title"),
            "content": doc.get("content"),
        }
        if verdict.status == "valid" and doc.get("document_id"):
            out["pdf_url"] = f"/v1/results/{doc['document_id']}/pdf"
    return out


@route(
    router.get,
    "/results/{document_id}/verification",
    VerificationOut,
    "results",
    "Public check of a result id and the signature printed in its QR code (no login)",
    422,
    429,
)
async def verification(
    document_id: str,
    request: Request,
    deps: Deps,
    sig: Annotated[
        str | None, Query(max_length=200, description="Signature from the paper's QR code (base64url)")
    ] = None,
) -> dict[str, Any]:
    await deps.abuse.admit(request, "verify")
    verdict, document = await deps.results.check(document_id, sig)
    return _verification(verdict, document)


@route(
    router.post,
    "/results/verify-pdf",
    VerificationOut,
    "results",
    "Public check of a result PDF by its embedded signed original and the published keys only",
    413,
    422,
    429,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def verify_pdf(request: Request, deps: Deps) -> dict[str, Any]:
    await deps.abuse.admit(request, "verify")
    body = await request.body()
    try:
        verdict, document = await deps.results.check_pdf(body)
    except NotAResult as exc:
        raise ApiError(422, "not_a_result_pdf", str(exc)) from None
    return _verification(verdict, document)


@route(
    public.get,
    "/.well-known/jwks.json",
    JwksOut,
    "results",
    "Published public keys of the offices that sign results (JWKS, RFC 7517/8037)",
    429,
)
async def jwks(
    request: Request,
    deps: Deps,
    office: Annotated[str | None, Query(max_length=40, description="Only this office's keys")] = None,
) -> dict[str, Any]:
    await deps.abuse.admit(request, "jwks")
    return await deps.results.jwks(office)


@public.get(
    "/verify",
    response_class=HTMLResponse,
    tags=["results"],
    summary="Public verification page (no login)",
    responses=error_responses(429),
)
async def verify_page(request: Request, deps: Deps) -> HTMLResponse:
    """Opens from a result's QR code: shows valid / tampered / unknown, the issuing office and date."""
    await deps.abuse.admit(request, "verify-page")
    return HTMLResponse((resources.files("services.resolution") / "static" / "verify.html").read_text("utf-8"))


ACTIONS = {
    "accept": "accept",
    "process": "process",
    "request-supplement": "request_supplement",
    "transfer": "transfer",
    "reject": "reject",
    "approve": "approve",
    "return": "return",
    "withdraw": "withdraw",
}


@route(
    router.post,
    "/dossiers/{dossier}/{action}",
    CaseOut,
    "cases",
    "Act on a case: accept, process, request-supplement, transfer, reject, approve, return, withdraw",
    401,
    403,
    404,
    409,
    422,
)
async def act(
    dossier: str,
    action: Literal["accept", "process", "request-supplement", "transfer", "reject", "approve", "return", "withdraw"],
    deps: Deps,
    official: CurrentOfficial,
    body: ActionIn | None = None,
) -> CaseOut:
    payload = (body or ActionIn()).model_dump()
    acted = deps.cases.act(dossier, ACTIONS[action], by=official, body=payload)
    return view(await _audited(deps, official, ACTIONS[action], dossier, acted))
