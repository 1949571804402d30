"""Resolution's HTTP routes: worklist, case actions, apology, results and verification, rating, stats.

The generic ``/dossiers/{dossier}/{action}`` route is registered last so the fixed paths win.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.resolution.domain.case import OPEN, OPERATIONS, Forbidden, IllegalTransition
from services.resolution.entrypoints.auth import CurrentOfficial
from services.resolution.handlers import CaseNotFound, Conflict, Resolution
from shared.http import ApiError, error_responses

router = APIRouter(prefix="/v1")


class ActionIn(BaseModel):
    """Body of an official's action (all fields optional)."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(
        default=None,
        max_length=2000,
        description="Reason (required in practice for refusals, supplements, transfers).",
        examples=["Thiếu bản chính giấy chứng sinh"],
    )
    to_next_step: bool = Field(
        default=False, description="Transfer: hand over to the next office of an inter-agency chain."
    )
    exclude_offices: list[str] = Field(
        default_factory=list, max_length=50, description="Transfer: offices not to route to.", examples=[["00070.UBND"]]
    )
    result_title: str | None = Field(
        default=None, max_length=300, description="Approve: title of the result document.", examples=["Giấy khai sinh"]
    )
    result_content: str | None = Field(
        default=None, max_length=20000, description="Approve: text of the result document."
    )


class ApologyIn(BaseModel):
    """A leader's apology letter (phiếu xin lỗi và hẹn lại ngày trả kết quả)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(
        min_length=3, max_length=2000, description="Why the dossier is late.", examples=["Cần xác minh thêm thông tin"]
    )
    new_due_at: datetime | None = Field(
        default=None, description="New appointment date; default: the procedure's legal time from now."
    )


class RatingIn(BaseModel):
    """The citizen's satisfaction rating."""

    model_config = ConfigDict(extra="forbid")
    score: int = Field(ge=1, le=5, description="1 (very unsatisfied) to 5 (very satisfied).", examples=[5])
    comment: str | None = Field(default=None, max_length=1000, description="Free text.")


class VerifyIn(BaseModel):
    """A result document and signature to verify."""

    model_config = ConfigDict(extra="forbid")
    document: dict[str, Any] = Field(description="The result document exactly as issued.")
    signature: str = Field(max_length=200, description="Base64 Ed25519 signature.")


def _res(request: Request) -> Resolution:
    return request.app.state.resolution


def view(case: dict[str, Any]) -> dict[str, Any]:
    """A case as officials see it (no outbox, no bookkeeping)."""
    hidden = {"outbox", "outbox_pending", "seen_events", "m", "tracking_token_sha256"}
    return {("id" if k == "_id" else k): v for k, v in case.items() if k not in hidden}


async def _guarded(coro: Any) -> dict[str, Any]:
    try:
        return await coro
    except CaseNotFound:
        raise ApiError(404, "not_found", "no such dossier at your office") from None
    except Forbidden as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except PermissionError as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except IllegalTransition as exc:
        raise ApiError(409, "illegal_transition", str(exc), details=[{"current_status": exc.current.value}]) from None
    except Conflict as exc:
        raise ApiError(409, exc.code, str(exc)) from None


@router.get(
    "/worklist",
    tags=["cases"],
    summary="Open cases of the official's office, overdue first",
    responses=error_responses(401),
)
async def worklist(
    request: Request,
    official: CurrentOfficial,
    status: Annotated[list[str] | None, Query(description="Filter by status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    statuses = status or sorted(s.value for s in OPEN)
    cases = await _res(request).store.worklist(official.office, statuses, limit, offset)
    return {"office": official.office, "items": [view(c) for c in cases]}


@router.get("/dossiers/{dossier}", tags=["cases"], responses=error_responses(401, 404))
async def get_case(dossier: str, request: Request, official: CurrentOfficial) -> dict[str, Any]:
    return view(await _guarded(_res(request).case_for(dossier, official.office)))


@router.post("/dossiers/{dossier}/apology", tags=["cases"], responses=error_responses(401, 403, 404, 409))
async def apology(dossier: str, body: ApologyIn, request: Request, official: CurrentOfficial) -> dict[str, Any]:
    if body.new_due_at is not None and body.new_due_at.tzinfo is None:
        raise ApiError(422, "naive_datetime", "new_due_at: give a time zone offset")
    case = await _guarded(
        _res(request).apologise(
            dossier,
            office=official.office,
            actor=official.sub,
            roles=official.roles,
            reason=body.reason,
            new_due_at=body.new_due_at,
        )
    )
    return view(case)


@router.post(
    "/dossiers/{code}/rating",
    tags=["citizens"],
    summary="Citizen's satisfaction rating",
    responses=error_responses(404, 409),
)
async def rate(
    code: str, body: RatingIn, request: Request, token: Annotated[str, Query(min_length=8, max_length=200)]
) -> dict[str, Any]:
    return await _guarded(_res(request).rate(code, token, body.score, body.comment))


@router.get(
    "/results/{document_id}",
    tags=["results"],
    summary="A signed result with the office's public key",
    responses=error_responses(404),
)
async def get_result(document_id: str, request: Request) -> dict[str, Any]:
    res = _res(request)
    found = await res.store.result(document_id)
    if found is None:
        raise ApiError(404, "not_found", "no such result")
    office = found["document"]["office_code"]
    return {
        "document": found["document"],
        "signature": found["signature"],
        "algorithm": found["algorithm"],
        "public_key_pem": res.keys.public_key_pem(office),
    }


@router.post("/results/verify", tags=["results"], summary="Check a result's signature")
async def verify(body: VerifyIn, request: Request) -> dict[str, Any]:
    return {"valid": _res(request).verify(body.document, body.signature)}


@router.get(
    "/stats",
    tags=["operations"],
    summary="Operations-centre figures and service index",
    responses=error_responses(401, 403),
)
async def stats(
    request: Request,
    official: CurrentOfficial,
    province_code: Annotated[str | None, Query(max_length=2)] = None,
) -> dict[str, Any]:
    if OPERATIONS in official.roles:
        return await _res(request).stats(office=None, province=province_code)
    if "leader" in official.roles:
        return await _res(request).stats(office=official.office, province=None)
    raise ApiError(403, "forbidden", "stats need the leader or operations role")


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


@router.post(
    "/dossiers/{dossier}/{action}",
    tags=["cases"],
    summary="Act on a case: accept, process, request-supplement, transfer, reject, approve, return, withdraw",
    responses=error_responses(401, 403, 404, 409, 422),
)
async def act(
    dossier: str,
    action: Literal["accept", "process", "request-supplement", "transfer", "reject", "approve", "return", "withdraw"],
    request: Request,
    official: CurrentOfficial,
    body: ActionIn | None = None,
) -> dict[str, Any]:
    payload = (body or ActionIn()).model_dump()
    case = await _guarded(
        _res(request).act(
            dossier, ACTIONS[action], office=official.office, actor=official.sub, roles=official.roles, body=payload
        )
    )
    return view(case)
