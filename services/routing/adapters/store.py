"""Routing's collections: one route document per dossier (decisions, hand-offs, outbox) and office status."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from pymongo import ASCENDING
from pymongo.errors import BulkWriteError

from shared.outbox import PENDING_FIELD
from shared.store import update_document

DUPLICATE_KEY = 11000
T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Groups concurrent single-document writes into one store command.

    FerretDB/SQLite pays a transaction per write command: 10 documents in one ``insert_many`` cost
    about what one ``insert_one`` does, so writes arriving together (one per consumer worker) share one.
    """

    def __init__(self, write_many: Callable[[list[T]], Awaitable[list[R]]], *, max_batch: int = 256) -> None:
        self._write_many = write_many
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Write ``item`` with whatever else is waiting; its own result."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(), name="routing-write-batch")
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the other workers of this tick join the batch
        while self._pending:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            try:
                results = await self._write_many([item for item, _ in batch])
            except Exception as exc:  # every waiter sees the failure (its message is retried)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


class RoutingStore:
    """Repository over routing's own database."""

    def __init__(self, db: Any) -> None:
        self.routes = db["routes"]
        self.office_status = db["office_status"]
        self._inserts: Batcher[dict[str, Any], bool] = Batcher(self._insert_many)
        self.published = db["published_events"]
        self._published: dict[str, str] = {}  # event id -> dossier id, published and not logged yet
        self._clearing = asyncio.Lock()

    async def _insert_many(self, docs: list[dict[str, Any]]) -> list[bool]:
        try:
            await self.routes.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            duplicates = {e["index"] for e in errors}
            return [i not in duplicates for i in range(len(docs))]
        return [True] * len(docs)

    def mark_published(self, event_id: str, dossier_id: str) -> None:
        """Note that routing published a first decision itself; written to the publication log in bulk."""
        self._published[event_id] = dossier_id

    async def flush_published(self) -> int:
        """Write the noted publications with one ``insert_many``; how many were written."""
        async with self._clearing:
            batch, self._published = self._published, {}
            if not batch:
                return 0
            docs = [{"_id": event_id, "dossier_id": dossier_id} for event_id, dossier_id in batch.items()]
            try:
                await self.published.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                    self._published = {**batch, **self._published}  # try again next time
                    raise
            except Exception:
                self._published = {**batch, **self._published}
                raise
            return len(batch)

    async def is_published(self, event_id: str) -> bool:
        """True when routing logged ``event_id`` as published (noted or written)."""
        return event_id in self._published or await self.published.find_one({"_id": event_id}) is not None

    async def unpublished_first_decisions(self) -> list[str]:
        """Routes whose first decision is still in the outbox and not in the publication log (a crash left it)."""
        waiting = {
            doc["first_event_id"]: doc["_id"]
            async for doc in self.routes.find({PENDING_FIELD: 0}, {"first_event_id": 1, "outbox": 1})
            if doc.get("first_event_id") in (doc.get("outbox") or {})
        }
        logged = {doc["_id"] async for doc in self.published.find({}, {"_id": 1})}
        return [dossier_id for event_id, dossier_id in waiting.items() if event_id not in logged]

    async def ensure_indexes(self) -> None:
        """Parked dossiers, open dossiers per office and dossier codes are looked up by index."""
        await self.routes.create_index([("parked", ASCENDING)], name="parked")
        await self.routes.create_index([("open_at", ASCENDING)], name="open_at")
        await self.routes.create_index([("code", ASCENDING)], name="code")

    async def insert_route(self, doc: dict[str, Any]) -> bool:
        """First decision of a dossier, batched with concurrent ones; False when it was already routed."""
        return await self._inserts.submit(doc)

    async def route(self, dossier_id: str) -> dict[str, Any] | None:
        """The route document of a dossier."""
        doc: dict[str, Any] | None = await self.routes.find_one({"_id": dossier_id})
        return doc

    async def route_by_code(self, code: str) -> dict[str, Any] | None:
        """The route document of a dossier by its code (mã hồ sơ)."""
        doc: dict[str, Any] | None = await self.routes.find_one({"code": code})
        return doc

    async def update_route(
        self, dossier_id: str, update: dict[str, Any], *, guard: Callable[[dict[str, Any]], bool]
    ) -> bool:
        """One single-document update applied only if ``guard(route)`` holds; True when applied."""
        return await update_document(self.routes, dossier_id, update, guard=guard) is not None

    async def parked(self, limit: int = 500) -> list[dict[str, Any]]:
        """Dossiers waiting for a competent office."""
        docs: list[dict[str, Any]] = await self.routes.find({"parked": True}).limit(limit).to_list(limit)
        return docs

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
