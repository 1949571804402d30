"""Routing's collections: one route document per dossier (decisions, hand-offs, outbox) and office status."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import BulkWriteError

from shared.store import update_document

DUPLICATE_KEY = 11000


class InsertBatcher:
    """Groups concurrent single-document inserts into one ``insert_many``.

    FerretDB/SQLite pays a transaction per write command: 10 documents in one ``insert_many`` cost
    about what one ``insert_one`` does, so inserts arriving together (one per consumer worker) share it.
    """

    def __init__(self, collection: Any, *, max_batch: int = 256) -> None:
        self._collection = collection
        self._max_batch = max_batch
        self._pending: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def insert(self, doc: dict[str, Any]) -> bool:
        """Insert ``doc``; False when a document with its ``_id`` already exists."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((doc, future))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(), name="routing-insert-batch")
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the other workers of this tick join the batch
        while self._pending:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            try:
                inserted = await self._insert_many([doc for doc, _ in batch])
            except Exception as exc:  # every waiter sees the failure and its message is retried
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), ok in zip(batch, inserted, strict=True):
                if not future.done():
                    future.set_result(ok)

    async def _insert_many(self, docs: list[dict[str, Any]]) -> list[bool]:
        try:
            await self._collection.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            duplicates = {e["index"] for e in errors}
            return [i not in duplicates for i in range(len(docs))]
        return [True] * len(docs)


class RoutingStore:
    """Repository over routing's own database."""

    def __init__(self, db: Any) -> None:
        self.routes = db["routes"]
        self.office_status = db["office_status"]
        self._inserts = InsertBatcher(self.routes)

    async def ensure_indexes(self) -> None:
        """Parked dossiers and open dossiers per office are looked up by index."""
        await self.routes.create_index([("parked", ASCENDING)], name="parked")
        await self.routes.create_index([("open_at", ASCENDING)], name="open_at")

    async def insert_route(self, doc: dict[str, Any]) -> bool:
        """First decision of a dossier, batched with concurrent ones; False when it was already routed."""
        return await self._inserts.insert(doc)

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
