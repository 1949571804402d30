"""Routing's store: the route of each dossier (an aggregate, through the unit of work) and office statuses.

The route document keeps today's shape (``_id`` = dossier id, ``code``, ``received``, ``chain``,
``chain_step``, ``decisions``, ``handoffs`` by decision id, ``tried_offices``, ``open_at``, ``parked``); the
unit of work adds ``_rev``, ``outbox``/``outbox_pending`` and the bounded ``seen_events``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pymongo import ASCENDING
from pymongo.errors import BulkWriteError

from services.routing.domain.offices import OfficeStatus
from services.routing.domain.route import Handoff, Route, RouteDecision
from shared.events import DossierReceived, RouteOutcome
from shared.outbox import OutboxRelay, pending_fields
from shared.store import update_document
from shared.unit_of_work import OUTBOX_FIELD, MongoAggregates

#: documents kept as last read or written, so the next change of one is one write (docs/adr/0005):
#: the status events of a dossier come soon after its route, on the same key's partition
ROUTE_SNAPSHOTS = 2000

SOURCE = "/lienthong/routing"
#: the log of first decisions routing once published itself (before the shared relay was its one path)
PUBLISHED_LOG = "published_events"
DUPLICATE_KEY = 11000
T = TypeVar("T")
R = TypeVar("R")


def _utc(value: datetime) -> datetime:
    """Stored dates come back in UTC; a client without ``tz_aware`` gives them naive."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


class Batcher(Generic[T, R]):
    """Groups concurrent single-document writes into one store command.

    The store pays a transaction per write command: 10 documents in one ``insert_many`` cost about what one
    ``insert_one`` does, so the first decisions arriving together (one per consumer worker) share one.
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

    def __init__(self, db: Any, *, relay: OutboxRelay | None = None, snapshots: int = ROUTE_SNAPSHOTS) -> None:
        super().__init__(db["routes"], RouteMapper(), source=SOURCE, relay=relay, snapshots=snapshots)
        self._inserts: Batcher[dict[str, Any], bool] = Batcher(self._insert_many)

    async def insert_document(self, doc: dict[str, Any]) -> bool:
        """A new route, in one ``insert_many`` with the others arriving meanwhile; False when it exists."""
        return await self._inserts.submit(doc)

    async def _insert_many(self, docs: list[dict[str, Any]]) -> list[bool]:
        try:
            await self.collection.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            duplicates = {e["index"] for e in errors}
            return [i not in duplicates for i in range(len(docs))]
        return [True] * len(docs)

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

    async def retire_published_log(self) -> int:
        """Once, on the first start after the upgrade: routes of the old own publication path join the relay's.

        That path inserted routes with ``outbox_pending: 0`` and a ``first_event_id`` it published itself and
        logged in ``published_events``, leaving the entry in the outbox. A logged first event leaves the outbox
        (else the unit of work's next commit would count it pending and the relay send it again); one not
        logged (a crash came in between) is counted pending, so the relay's start-up sweep sends it.
        Returns how many routes were upgraded; the log is dropped after.
        """
        db = self.collection.database
        if PUBLISHED_LOG not in await db.list_collection_names():
            return 0
        logged = {doc["_id"] async for doc in db[PUBLISHED_LOG].find({}, {"_id": 1})}

        def upgrade(current: dict[str, Any]) -> dict[str, Any]:
            outbox = set(current.get(OUTBOX_FIELD) or {})
            gone = {current["first_event_id"]} & outbox & logged
            return {
                "$unset": {"first_event_id": "", **{f"{OUTBOX_FIELD}.{event_id}": "" for event_id in gone}},
                "$set": pending_fields(len(outbox - gone)),
            }

        upgraded = 0
        async for doc in self.collection.find({"first_event_id": {"$exists": True}}, {"_id": 1}):
            upgraded += await update_document(self.collection, doc["_id"], upgrade) is not None
        await db[PUBLISHED_LOG].drop()
        return upgraded

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
