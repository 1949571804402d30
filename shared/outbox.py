"""Single-document outbox: events are written inside the aggregate's own update and relayed to Kafka.

A state change and the events it causes are one ``update_one``/``find_one_and_update`` on one
document (FerretDB has no multi-document transactions). Pending events live under ``outbox.<event id>``
with a counter ``outbox_pending`` that the relay queries through an index. The relay publishes and then
unsets each entry; a crash in between re-publishes it later, so consumers dedupe by ``ce_id``.
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
from shared.locks import document_lock
from shared.logging import get_logger
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
    """Publishes pending outbox entries of one collection; ``kick()`` after a write, a sweep every interval."""

    def __init__(
        self,
        collection: Any,
        publisher: EventPublisher,
        *,
        poll_interval: float = 0.5,
        batch_size: int = 200,
    ) -> None:
        self._collection = collection
        self._publisher = publisher
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    async def ensure_indexes(self) -> None:
        """Index the pending counter so a sweep reads only documents with something to send."""
        await self._collection.create_index([(PENDING_FIELD, ASCENDING)], name="outbox_pending")

    def kick(self) -> None:
        """Ask the relay to run now instead of waiting for the next sweep."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch of pending events in per-document order; return how many were sent."""
        docs = (
            await self._collection.find({PENDING_FIELD: {"$gt": 0}}, {"outbox": 1})
            .limit(self._batch_size)
            .to_list(self._batch_size)
        )
        published = 0
        for doc in docs:
            entries = sorted((doc.get("outbox") or {}).values(), key=lambda e: e["seq"])
            for entry in entries:
                event = CloudEvent.model_validate(entry["event"])
                await self._publisher.publish(entry["topic"], event, key=entry["key"])
            done = {e["event"]["id"] for e in entries}
            async with document_lock(self._collection, doc["_id"]):
                fresh = await self._collection.find_one({"_id": doc["_id"]}, {"outbox": 1})
                remaining = set((fresh or {}).get("outbox") or {}) - done
                update: dict[str, Any] = {"$set": {PENDING_FIELD: len(remaining)}}
                if done:
                    update["$unset"] = {f"outbox.{event_id}": "" for event_id in done}
                await self._collection.update_one({"_id": doc["_id"]}, update)
            published += len(done)
        self.published += published
        return published

    async def run(self) -> None:
        """Relay until cancelled; outages of Kafka or the store only delay publication."""
        while True:
            try:
                while await self.publish_pending() >= self._batch_size:
                    pass
            except asyncio.CancelledError:
                raise
            except INFRASTRUCTURE_ERRORS as exc:
                log.warning("outbox_relay_unavailable", error=str(exc))
            except Exception as exc:
                log.error("outbox_relay_failed", error=str(exc), error_type=type(exc).__name__)
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
