"""Routing's HTTP routes: the office registry, operator status changes, and route look-up."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from services.routing import handlers
from services.routing.domain.offices import OfficeBoard, OfficeStatus, UnknownOffice
from services.routing.domain.registry import Office
from services.routing.domain.route import Route
from services.routing.entrypoints.deps import RoutingDeps, get_deps
from shared.http import MAX_OFFSET, ApiError, error_responses, route
from shared.identity import OPERATOR, Principal, require_role
from shared.logging import get_logger
from shared.reference.admin_units import get_province
from shared.reference.offices import OfficeKind

router = APIRouter(prefix="/v1")
log = get_logger(__name__)
OFFICE_KINDS = frozenset(k.name.lower() for k in OfficeKind)


class OfficeOut(BaseModel):
    """An office of the registry with its operator status and load."""

    code: str = Field(description="Office code.", examples=["00070.UBND"])
    name: str = Field(description="Name.", examples=["Ủy ban nhân dân Phường Hoàn Kiếm"])
    kind: str = Field(description="Kind of office.", examples=["commune_people_committee"])
    level: Literal["commune", "province"] = Field(description="Level.", examples=["commune"])
    province_code: str = Field(description="Province.", examples=["01"])
    ward_code: str | None = Field(description="Commune/ward (commune offices).", examples=["00070"])
    status: OfficeStatus = Field(description="Operator status.", examples=["open"])
    load: int = Field(description="Open dossiers now routed to it.", examples=[12])


class OfficePage(BaseModel):
    """A page of offices."""

    total: int = Field(description="Offices matching the filters.", examples=[13522])
    items: list[OfficeOut] = Field(description="This page of offices, in registry order.")


class StatusIn(BaseModel):
    """An operator's status change."""

    model_config = ConfigDict(extra="forbid")
    status: OfficeStatus = Field(description="New status.", examples=["closed"])


class DecisionOut(BaseModel):
    """One routing decision: where the dossier went (or why it waits), by which rule."""

    decision_id: str = Field(
        description="Unique id of this decision.", examples=["7d0c6f9e-1f7a-4c1e-9d5b-2b8f0c1e4a11"]
    )
    outcome: Literal["routed", "parked"] = Field(description="Routed to an office, or parked.", examples=["routed"])
    office_code: str | None = Field(description="Chosen office (null when parked).", examples=["00070.UBND"])
    procedure_code: str = Field(description="Procedure of this chain step.", examples=["LT-HT-001"])
    chain_step: int = Field(description="Position in the inter-agency chain (0 = first).", examples=[0])
    rule_id: str = Field(description="Jurisdiction rule that decided.", examples=["R20-boundary-free-commune"])
    reason: str = Field(
        description="Why, in Vietnamese / English.",
        examples=["Thủ tục không phụ thuộc địa giới hành chính... / Boundary-free procedure..."],
    )
    decided_at: datetime = Field(description="When routing decided.", examples=["2026-11-22T08:00:00Z"])


class HandoffOut(BaseModel):
    """A hand-off to an office (ngày gửi / ngày nhận), as inter-agency systems record it."""

    office_code: str = Field(description="Office the dossier was sent to.", examples=["00070.UBND"])
    sent_at: datetime = Field(description="When routing sent it.", examples=["2026-11-22T08:00:00Z"])
    received_at: datetime | None = Field(
        default=None, description="When the office accepted it.", examples=["2026-11-22T08:30:00Z"]
    )
    returned_at: datetime | None = Field(
        default=None, description="When it left the office (refused, returned, withdrawn).", examples=[None]
    )


class RouteOut(BaseModel):
    """The routing history of one dossier."""

    dossier_id: str = Field(description="Dossier id.", examples=["1b4e28ba-2fa1-11d2-883f-0016d3cca427"])
    dossier_code: str = Field(description="Dossier code.", examples=["00070.TTHCC-261122-0001"])
    current_office_code: str | None = Field(
        description="Office holding it now (null if none).", examples=["00070.UBND"]
    )
    parked: bool = Field(description="Waiting for a competent office to open.", examples=[False])
    chain: list[str] = Field(description="Procedures of the inter-agency chain.", examples=[["LT-HT-001", "LT-CT-001"]])
    chain_step: int = Field(description="Current chain position.", examples=[0])
    decisions: list[DecisionOut] = Field(description="Every decision, oldest first.")
    handoffs: list[HandoffOut] = Field(description="Hand-offs, oldest first.")
    tried_offices: list[str] = Field(
        description="Offices already tried (excluded on transfer).", examples=[["00070.UBND"]]
    )


def office_view(office: Office, board: OfficeBoard) -> dict[str, Any]:
    """An office as the API shows it, with its status and load now."""
    return {
        "code": office.code,
        "name": office.name,
        "kind": office.kind.name.lower(),
        "level": office.level,
        "province_code": office.province_code,
        "ward_code": office.ward_code,
        "status": board.status_of(office.code),
        "load": board.load[office.code],
    }


def route_view(route: Route) -> dict[str, Any]:
    """A route as the API shows it: decisions and hand-offs oldest first."""
    return {
        "dossier_id": route.dossier_id,
        "dossier_code": route.code,
        "current_office_code": route.open_at,
        "parked": route.parked,
        "chain": route.chain,
        "chain_step": route.chain_step,
        "decisions": [asdict(d) for d in route.decisions],
        "handoffs": [asdict(h) for h in route.handoffs.values()],
        "tried_offices": route.tried_offices,
    }


Deps = Annotated[RoutingDeps, Depends(get_deps)]
#: operators: a JWT with the operator role (the same identity scheme as officials)
Operator = Annotated[Principal, require_role(OPERATOR, service="routing")]


@route(router.get, "/offices", OfficePage, "offices", "Offices, filtered and paged", 422)
async def list_offices(
    deps: Deps,
    province_code: Annotated[
        str | None, Query(max_length=2, description="Province code (2 digits).", examples=["01"])
    ] = None,
    level: Annotated[
        Literal["commune", "province"] | None, Query(description="Office level.", examples=["commune"])
    ] = None,
    kind: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Office kind (see shared/reference/offices.py).",
            examples=["commune_people_committee"],
        ),
    ] = None,
    status: Annotated[OfficeStatus | None, Query(description="Operator status.", examples=["closed"])] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.", examples=[100])] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Offices to skip.", examples=[0])] = 0,
) -> dict[str, Any]:
    if kind is not None and kind not in OFFICE_KINDS:
        raise ApiError(422, "unknown_kind", f"kind must be one of {', '.join(sorted(OFFICE_KINDS))}")
    if province_code is not None and get_province(province_code) is None:
        raise ApiError(422, "unknown_province", f"no province {province_code!r}")
    board = deps.board
    rows = [
        o
        for o in board.registry.offices.values()
        if (province_code is None or o.province_code == province_code.zfill(2))
        and (level is None or o.level == level)
        and (kind is None or o.kind.name.lower() == kind)
        and (status is None or board.status_of(o.code) is status)
    ]
    return {"total": len(rows), "items": [office_view(o, board) for o in rows[offset : offset + limit]]}


@router.get("/offices/{code}", response_model=OfficeOut, tags=["offices"], responses=error_responses(404))
async def get_office(code: str, deps: Deps) -> dict[str, Any]:
    office = deps.board.registry.get(code)
    if office is None:
        raise ApiError(404, "unknown_office", f"no office {code!r}")
    return office_view(office, deps.board)


@router.post(
    "/offices/{code}/status",
    response_model=OfficeOut,
    tags=["offices"],
    responses=error_responses(401, 403, 404, 422),
)
async def set_status(code: str, body: StatusIn, deps: Deps, operator: Operator) -> dict[str, Any]:
    audit = deps.audit
    try:
        office = await handlers.set_office_status(
            code, body.status, routes=deps.routes, statuses=deps.statuses, jurisdiction=deps.jurisdiction
        )
    except UnknownOffice:
        await audit.record(
            operator, "office.set_status", code, details={"status": body.status.value}, outcome="unknown"
        )
        raise ApiError(404, "unknown_office", f"no office {code!r}") from None
    await audit.record(operator, "office.set_status", code, details={"status": body.status.value})
    log.info(
        "office_status_set", office=code, status=body.status.value, actor=operator.sub, actor_office=operator.office
    )
    return office_view(office, deps.board)


@route(
    router.get,
    "/dossiers/{dossier}/route",
    RouteOut,
    "routes",
    "Routing decisions of a dossier (by dossier id or dossier code), with rule and reason",
    401,
    403,
    404,
)
async def get_route(dossier: str, deps: Deps, operator: Operator) -> dict[str, Any]:
    await deps.audit.record(operator, "route.read", dossier)
    route = await handlers.find_route(dossier, routes=deps.routes)
    if route is None:
        raise ApiError(404, "not_found", f"no route for dossier {dossier!r}")
    return route_view(route)
