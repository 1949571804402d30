"""Routing's collections: one route document per dossier (decisions, hand-offs, outbox) and office status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo import ASCENDING

from shared.store import update_document


class RoutingStore:
    """Repository over routing's own database."""

    def __init__(self, db: Any) -> None:
        self.routes = db["routes"]
        self.office_status = db["office_status"]

    async def ensure_indexes(self) -> None:
        """Parked dossiers and open dossiers per office are looked up by index."""
        await self.routes.create_index([("parked", ASCENDING)], name="parked")
        await self.routes.create_index([("open_at", ASCENDING)], name="open_at")

    async def insert_route(self, doc: dict[str, Any]) -> None:
        """First decision of a dossier (DuplicateKeyError when it was already routed)."""
        await self.routes.insert_one(doc)

    async def route(self, dossier_id: str) -> dict[str, Any] | None:
        """The route document of a dossier."""
        return await self.routes.find_one({"_id": dossier_id})

    async def update_route(
        self, dossier_id: str, update: dict[str, Any], *, guard: Callable[[dict[str, Any]], bool]
    ) -> bool:
        """One single-document update applied only if ``guard(route)`` holds; True when applied."""
        return await update_document(self.routes, dossier_id, update, guard=guard) is not None

    async def parked(self, limit: int = 500) -> list[dict[str, Any]]:
        """Dossiers waiting for a competent office."""
        return await self.routes.find({"parked": True}).limit(limit).to_list(limit)

    async def open_counts(self) -> dict[str, int]:
        """Open dossiers per office (the load), from the route documents."""
        rows = self.routes.aggregate(
            [{"$match": {"open_at": {"$ne": None}}}, {"$group": {"_id": "$open_at", "n": {"$sum": 1}}}]
        )
        return {row["_id"]: int(row["n"]) async for row in rows}

    async def statuses(self) -> dict[str, str]:
        """Operator-set office statuses (offices not listed are open)."""
        return {doc["_id"]: doc["status"] async for doc in self.office_status.find({})}

    async def set_status(self, office_code: str, status: str, at: Any) -> None:
        """Record an operator's status for an office."""
        await self.office_status.update_one(
            {"_id": office_code}, {"$set": {"status": status, "updated_at": at}}, upsert=True
        )
