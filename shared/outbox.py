"""Single-document outbox: events are written inside the aggregate's own update and relayed to Kafka.

A state change and the events it causes are one conditional write on one document (FerretDB has no
multi-document transactions; docs/adr/0001). Pending events live under ``outbox.<event id>`` with a
counter ``outbox_pending`` that the relay's sweep queries. The relay publishes and then unsets exactly
the entries it published, by compare-and-set on the document's version (docs/adr/0003), so an entry a
writer adds meanwhile stays pending; a crash in between re-publishes, so consumers dedupe by ``ce_id``.
Any number of relays (one per instance) may run: the worst case is an event published twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from pymongo import ASCENDING

from shared.broker import EventPublisher
from shared.envelope import CloudEvent
from shared.errors import INFRASTRUCTURE_ERRORS
from shared.logging import get_logger
from shared.store import compare_and_set, update_document
from shared.telemetry import current_trace_headers

log = get_logger(__name__)

PENDING_FIELD = "outbox_pending"


def outbox_entry(topic: str, event: CloudEvent, *, key: str) -> dict[str, Any]:
    """The stored form of one pending event, stamped with the current trace context."""
    if event.traceparent is None:
        event = event.model_copy(update=current_trace_headers())
    return {
        "topic": topic,
        "key": key,
        "seq": time.time_ns(),
        "event": event.model_dump(mode="json"),
    }


def with_outbox(update: dict[str, Any], *entries: dict[str, Any]) -> dict[str, Any]:
    """Return ``update`` extended so that the same single-document write also stores ``entries``."""
    merged = {op: dict(fields) for op, fields in update.items()}
    sets = merged.setdefault("$set", {})
    for entry in entries:
        sets[f"outbox.{entry['event']['id']}"] = entry
    if entries:
        inc = merged.setdefault("$inc", {})
        inc[PENDING_FIELD] = inc.get(PENDING_FIELD, 0) + len(entries)
    return merged


def new_document_outbox(*entries: dict[str, Any]) -> dict[str, Any]:
    """Outbox fields for a document being inserted together with its first events."""
    return {"outbox": {e["event"]["id"]: e for e in entries}, PENDING_FIELD: len(entries)}


class OutboxRelay:
    """Publishes pending outbox entries of one collection.

    Writers call ``kick(doc_id)`` after their update: the relay publishes that document at once
    (looked up by ``_id``, cheap on every store). A sweep over ``outbox_pending != 0`` runs at start and
    every ``sweep_interval`` seconds to catch anything a crash, an outage or another instance's writer
    left behind.
    """

    def __init__(
        self,
        collection: Any,
        publisher: EventPublisher,
        *,
        poll_interval: float = 0.5,
        sweep_interval: float = 60.0,
        batch_size: int = 200,
        concurrency: int = 16,
    ) -> None:
        self._collection = collection
        self._publisher = publisher
        self._poll_interval = poll_interval
        self._sweep_interval = sweep_interval
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._wake = asyncio.Event()
        self._kicked: set[Any] = set()
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    async def ensure_indexes(self) -> None:
        """Index the pending counter so a sweep reads only documents with something to send (MongoDB)."""
        await self._collection.create_index([(PENDING_FIELD, ASCENDING)], name="outbox_pending")

    def kick(self, doc_id: Any = None) -> None:
        """Ask the relay to publish ``doc_id`` now (or to sweep, without an id)."""
        if doc_id is not None:
            self._kicked.add(doc_id)
        self._wake.set()

    async def _publish_document(self, doc_id: Any) -> int:
        """Publish every pending event of one document in write order, then clear exactly those."""
        doc = await self._collection.find_one({"_id": doc_id})
        entries = sorted(((doc or {}).get("outbox") or {}).values(), key=lambda e: e["seq"])
        if doc is None or (not entries and not doc.get(PENDING_FIELD)):
            return 0
        for entry in entries:
            event = CloudEvent.model_validate(entry["event"])
            await self._publisher.publish(entry["topic"], event, key=entry["key"])
        published = {e["event"]["id"] for e in entries}

        def clear(current: dict[str, Any]) -> dict[str, Any]:
            outbox = current.get("outbox") or {}
            update: dict[str, Any] = {"$set": {PENDING_FIELD: len(set(outbox) - published)}}
            if gone := published & set(outbox):
                update["$unset"] = {f"outbox.{event_id}": "" for event_id in gone}
            return update

        # first try against the version just read (the usual case: nobody wrote meanwhile)
        if await compare_and_set(self._collection, doc, clear(doc)) is None:
            await update_document(self._collection, doc_id, clear)
        self.published += len(entries)
        return len(entries)

    async def _publish_many(self, doc_ids: list[Any]) -> int:
        """Publish several documents concurrently (each document's own events stay in order)."""
        gate = asyncio.Semaphore(self._concurrency)

        async def one(doc_id: Any) -> int:
            async with gate:
                return await self._publish_document(doc_id)

        return sum(await asyncio.gather(*(one(i) for i in doc_ids)))

    async def publish_kicked(self) -> int:
        """Publish the documents named by ``kick`` since the last run."""
        ids, self._kicked = self._kicked, set()
        return await self._publish_many(list(ids))

    async def publish_pending(self) -> int:
        """Sweep: publish one batch of documents that still have pending events."""
        docs = (
            # `$ne` rather than `$gt`: FerretDB evaluates `$gt` in Go after reading every document, `$ne` in SQL
            await self._collection.find({PENDING_FIELD: {"$ne": 0}}, {"_id": 1})
            .limit(self._batch_size)
            .to_list(self._batch_size)
        )
        return await self._publish_many([doc["_id"] for doc in docs])

    async def run(self) -> None:
        """Relay until cancelled; outages of Kafka or the store only delay publication."""
        next_sweep = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.publish_kicked()
                if loop.time() >= next_sweep:
                    while await self.publish_pending() >= self._batch_size:
                        pass
                    next_sweep = loop.time() + self._sweep_interval
            except asyncio.CancelledError:
                raise
            except INFRASTRUCTURE_ERRORS as exc:
                log.warning("outbox_relay_unavailable", error=str(exc))
                next_sweep = 0.0  # kicked ids may be lost with the failed batch: sweep once back
            except Exception as exc:
                log.error("outbox_relay_failed", error=str(exc), error_type=type(exc).__name__)
                next_sweep = 0.0
            if not self._kicked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval)
                self._wake.clear()

    def start(self) -> None:
        """Start the relay loop as a background task."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop the loop; pending entries stay in the store for the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
