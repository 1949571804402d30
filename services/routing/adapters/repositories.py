"""Routing's store: the route of each dossier (an aggregate, through the unit of work) and office statuses.

The route document keeps today's shape (``_id`` = dossier id, ``code``, ``received``, ``chain``,
``chain_step``, ``decisions``, ``handoffs`` by decision id, ``tried_offices``, ``open_at``, ``parked``); the
unit of work adds ``_rev``, ``outbox``/``outbox_pending`` and the bounded ``seen_events``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING

from services.routing.domain.offices import OfficeStatus
from services.routing.domain.route import Handoff, Route, RouteDecision
from shared.events import DossierReceived, RouteOutcome
from shared.outbox import OutboxRelay
from shared.unit_of_work import MongoAggregates

SOURCE = "/lienthong/routing"


def _utc(value: datetime) -> datetime:
    """Stored dates come back in UTC; a client without ``tz_aware`` gives them naive."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


class RouteMapper:
    """A :class:`Route` to its document and back."""

    def to_document(self, route: Route) -> dict[str, Any]:
        """The route's state as today's route document."""
        return {
            "_id": route.dossier_id,
            "code": route.code,
            # routing keeps no contact data (the sealed contact is for notify only)
            "received": route.received.model_dump(mode="json", exclude={"contact"}),
            "chain": list(route.chain),
            "chain_step": route.chain_step,
            "decisions": [
                {
                    "decision_id": d.decision_id,
                    "outcome": d.outcome.value,
                    "office_code": d.office_code,
                    "procedure_code": d.procedure_code,
                    "chain_step": d.chain_step,
                    "rule_id": d.rule_id,
                    "reason": d.reason,
                    "decided_at": d.decided_at,
                }
                for d in route.decisions
            ],
            "handoffs": {
                decision_id: {
                    "office_code": h.office_code,
                    "sent_at": h.sent_at,
                    **({"received_at": h.received_at} if h.received_at is not None else {}),
                    **({"returned_at": h.returned_at} if h.returned_at is not None else {}),
                }
                for decision_id, h in route.handoffs.items()
            },
            "tried_offices": list(route.tried_offices),
            "open_at": route.open_at,
            "parked": route.parked,
        }

    def from_document(self, doc: Mapping[str, Any]) -> Route:
        """The route a stored document holds."""
        return Route(
            dossier_id=doc["_id"],
            code=doc["code"],
            received=DossierReceived.model_validate(doc["received"]),
            chain=list(doc["chain"]),
            chain_step=int(doc.get("chain_step", 0)),
            decisions=[
                RouteDecision(
                    decision_id=d["decision_id"],
                    outcome=RouteOutcome(d["outcome"]),
                    office_code=d["office_code"],
                    procedure_code=d["procedure_code"],
                    chain_step=int(d["chain_step"]),
                    rule_id=d["rule_id"],
                    reason=d["reason"],
                    decided_at=_utc(d["decided_at"]),
                )
                for d in doc.get("decisions", [])
            ],
            handoffs={
                decision_id: Handoff(
                    office_code=h["office_code"],
                    sent_at=_utc(h["sent_at"]),
                    received_at=_maybe_utc(h.get("received_at")),
                    returned_at=_maybe_utc(h.get("returned_at")),
                )
                for decision_id, h in (doc.get("handoffs") or {}).items()
            },
            tried_offices=list(doc.get("tried_offices", [])),
            open_at=doc.get("open_at"),
            parked=bool(doc.get("parked", False)),
        )


class MongoRoutes(MongoAggregates[Route]):
    """Routes in the ``routes`` collection, committed with their ``dossier.routed.v1`` events (the relay sends)."""

    def __init__(self, db: Any, *, relay: OutboxRelay | None = None) -> None:
        super().__init__(db["routes"], RouteMapper(), source=SOURCE, relay=relay)

    async def by_code(self, code: str) -> Route | None:
        """The route of the dossier with that code."""
        found = await self.find({"code": code}, limit=1)
        return found[0] if found else None

    async def parked(self, *, limit: int = 500) -> list[Route]:
        """Routes waiting for a competent office."""
        return await self.find({"parked": True}, limit=limit)

    async def open_counts(self) -> dict[str, int]:
        """Open dossiers per office, grouped in the store."""
        rows = self.collection.aggregate(
            [{"$match": {"open_at": {"$ne": None}}}, {"$group": {"_id": "$open_at", "n": {"$sum": 1}}}]
        )
        return {row["_id"]: int(row["n"]) async for row in rows}

    async def ensure_indexes(self) -> None:
        """Parked dossiers, open dossiers per office and dossier codes are looked up by index."""
        await self.collection.create_index([("parked", ASCENDING)], name="parked")
        await self.collection.create_index([("open_at", ASCENDING)], name="open_at")
        await self.collection.create_index([("code", ASCENDING)], name="code")


class MongoOfficeStatuses:
    """Operators' office statuses in ``office_status`` (``_id`` = office code; not an aggregate, no events)."""

    def __init__(self, db: Any) -> None:
        self.collection = db["office_status"]

    async def all(self) -> dict[str, OfficeStatus]:
        """Every status set (offices not listed are open)."""
        return {doc["_id"]: OfficeStatus(doc["status"]) async for doc in self.collection.find({})}

    async def set(self, code: str, status: OfficeStatus, *, at: datetime) -> None:
        """Record an operator's status (last writer wins: a status is a setting, not a transition)."""
        await self.collection.update_one(
            {"_id": code}, {"$set": {"status": status.value, "updated_at": at}}, upsert=True
        )
