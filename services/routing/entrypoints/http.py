"""Routing's HTTP routes: the office registry, operator status changes, and route look-up."""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from services.routing.handlers import Router, office_view
from shared.http import ApiError, error_responses

bearer = HTTPBearer(auto_error=False, description="Operator token (ROUTING_ADMIN_TOKEN)")
router = APIRouter(prefix="/v1")


class OfficeOut(BaseModel):
    """An office of the registry with its operator status and load."""

    code: str = Field(description="Office code.", examples=["00070.UBND"])
    name: str = Field(description="Name.", examples=["Ủy ban nhân dân Phường Hoàn Kiếm"])
    kind: str = Field(description="Kind of office.", examples=["commune_people_committee"])
    level: Literal["commune", "province"] = Field(description="Level.")
    province_code: str = Field(description="Province.", examples=["01"])
    ward_code: str | None = Field(description="Commune/ward (commune offices).", examples=["00070"])
    status: Literal["open", "closed", "over_capacity"] = Field(description="Operator status.")
    load: int = Field(description="Open dossiers now routed to it.", examples=[12])


class OfficePage(BaseModel):
    """A page of offices."""

    total: int = Field(description="Offices matching the filters.", examples=[13522])
    items: list[OfficeOut]


class StatusIn(BaseModel):
    """An operator's status change."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "closed", "over_capacity"] = Field(description="New status.", examples=["closed"])


def _router(request: Request) -> Router:
    return request.app.state.router


def operator(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    """Require the operators' bearer token (constant-time comparison)."""
    token = request.app.state.admin_token
    given = credentials.credentials if credentials else ""
    if token is None or not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise ApiError(401, "unauthorized", "operator token required (Authorization: Bearer <ROUTING_ADMIN_TOKEN>)")


@router.get("/offices", response_model=OfficePage, tags=["offices"], summary="Offices, filtered and paged")
async def list_offices(
    request: Request,
    province_code: Annotated[str | None, Query(max_length=2, examples=["01"])] = None,
    level: Annotated[Literal["commune", "province"] | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=64, examples=["commune_people_committee"])] = None,
    status: Annotated[Literal["open", "closed", "over_capacity"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    r = _router(request)
    rows = [
        o
        for o in r.registry.offices.values()
        if (province_code is None or o.province_code == province_code.zfill(2))
        and (level is None or o.level == level)
        and (kind is None or o.kind.name.lower() == kind)
        and (status is None or r.statuses.get(o.code, "open") == status)
    ]
    return {"total": len(rows), "items": [office_view(o, r) for o in rows[offset : offset + limit]]}


@router.get("/offices/{code}", response_model=OfficeOut, tags=["offices"], responses=error_responses(404))
async def get_office(code: str, request: Request) -> dict[str, Any]:
    r = _router(request)
    office = r.registry.get(code)
    if office is None:
        raise ApiError(404, "unknown_office", f"no office {code!r}")
    return office_view(office, r)


@router.post(
    "/offices/{code}/status",
    response_model=OfficeOut,
    tags=["offices"],
    dependencies=[Depends(operator)],
    responses=error_responses(401, 404, 422),
)
async def set_status(code: str, body: StatusIn, request: Request) -> dict[str, Any]:
    try:
        return await _router(request).set_office_status(code, body.status)
    except KeyError:
        raise ApiError(404, "unknown_office", f"no office {code!r}") from None


@router.get(
    "/dossiers/{dossier_id}/route",
    tags=["routes"],
    dependencies=[Depends(operator)],
    summary="Routing decisions of a dossier, with rule and reason",
    responses=error_responses(401, 404),
)
async def get_route(dossier_id: str, request: Request) -> dict[str, Any]:
    doc = await _router(request).store.route(dossier_id)
    if doc is None:
        raise ApiError(404, "not_found", f"no route for dossier {dossier_id!r}")
    return {
        "dossier_id": doc["_id"],
        "dossier_code": doc["code"],
        "current_office_code": doc["open_at"],
        "parked": doc["parked"],
        "chain": doc["chain"],
        "chain_step": doc["chain_step"],
        "decisions": doc["decisions"],
        "handoffs": list(doc.get("handoffs", {}).values()),
        "tried_offices": doc["tried_offices"],
    }
