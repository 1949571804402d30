"""Audit trail of officials' and operators' actions: who, what, when, from which office (apart from the log).

Each service keeps its own ``audit`` collection in its own database; records are only ever inserted. An
auditor (role ``auditor``) reads them at ``GET /v1/audit``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from pymongo import DESCENDING

from shared.deps import app_deps
from shared.http import error_responses
from shared.identity import AUDITOR, Principal, require_role


class AuditTrail:
    """Insert-only audit records in the service's own ``audit`` collection."""

    def __init__(self, db: Any, *, service: str) -> None:
        self.collection = db["audit"]
        self.service = service

    async def ensure_indexes(self) -> None:
        """Newest first, by actor and by office."""
        await self.collection.create_index([("at", DESCENDING)], name="at")
        await self.collection.create_index("actor", name="actor")

    async def record(
        self,
        who: Principal | str,
        action: str,
        target: str,
        *,
        details: dict[str, Any] | None = None,
        outcome: str = "ok",
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Write one record (``who`` is the token's principal, or a name such as ``cli:<user>``)."""
        doc = {
            "_id": str(uuid.uuid4()),
            "service": self.service,
            "actor": who.sub if isinstance(who, Principal) else who,
            "office": who.office if isinstance(who, Principal) else None,
            "roles": sorted(who.roles) if isinstance(who, Principal) else [],
            "action": action,
            "target": target,
            "details": details or {},
            "outcome": outcome,
            "at": at or datetime.now(UTC),
        }
        await self.collection.insert_one(doc)
        return doc

    async def records(self, *, actor: str | None, action: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
        """Records, newest first."""
        query: dict[str, Any] = {}
        if actor is not None:
            query["actor"] = actor
        if action is not None:
            query["action"] = action
        cursor = self.collection.find(query).sort("at", DESCENDING).skip(offset).limit(limit)
        found: list[dict[str, Any]] = await cursor.to_list(limit)
        return found


class HasAudit(Protocol):
    """A service's dependencies (``app.state.deps``) as the audit route reads them: its audit trail."""

    @property
    def audit(self) -> AuditTrail:
        """The service's audit trail."""
        ...


class AuditRecord(BaseModel):
    """One audited action."""

    id: str = Field(description="Record id.", examples=["5b0c…"])
    service: str = Field(description="Service that performed it.", examples=["routing"])
    actor: str = Field(description="Who (token `sub`, or `cli:<user>`).", examples=["van-hanh@P01.TTHCC"])
    office: str | None = Field(description="From which office (token `office`).", examples=["P01.TTHCC"])
    roles: list[str] = Field(description="Roles of the token.", examples=[["operator"]])
    action: str = Field(description="What.", examples=["office.set_status"])
    target: str = Field(description="On what.", examples=["00070.UBND"])
    details: dict[str, Any] = Field(description="Parameters of the action (no personal data).")
    outcome: str = Field(description="ok, or the refusal.", examples=["ok"])
    at: datetime = Field(description="When.", examples=["2026-11-22T08:00:00Z"])


class AuditPage(BaseModel):
    """Audit records, newest first."""

    items: list[AuditRecord]


def audit_router(service: str) -> APIRouter:
    """``GET /v1/audit`` for the auditor role."""
    router = APIRouter(prefix="/v1", tags=["audit"])

    @router.get(
        "/audit",
        response_model=AuditPage,
        summary="Audit trail of officials' and operators' actions (auditor role)",
        responses=error_responses(401, 403, 422),
    )
    async def audit(
        request: Request,
        actor: Annotated[str | None, Query(max_length=200, description="Only this actor.")] = None,
        action: Annotated[str | None, Query(max_length=100, description="Only this action.")] = None,
        limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 100,
        offset: Annotated[int, Query(ge=0, le=100_000, description="Records to skip.")] = 0,
        _auditor: Principal = require_role(AUDITOR, service=service, description="Auditor's JWT"),
    ) -> dict[str, Any]:
        deps: HasAudit = app_deps(request.app)
        trail = deps.audit
        rows = await trail.records(actor=actor, action=action, limit=limit, offset=offset)
        return {"items": [{**{k: v for k, v in r.items() if k != "_id"}, "id": r["_id"]} for r in rows]}

    return router
