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
from collections.abc import Callable
from typing import Any

from pymongo import ASCENDING

from shared.aio import wait_event
from shared.broker import EventPublisher
from shared.envelope import CloudEvent
from shared.errors import INFRASTRUCTURE_ERRORS
from shared.logging import get_logger
from shared.store import REVISION_FIELD, compare_and_set, update_document
from shared.telemetry import current_trace_headers

log = get_logger(__name__)

PENDING_FIELD = "outbox_pending"
#: true exactly while ``outbox_pending`` is not 0: the relay's sweep and the backlog gauge ask this equality,
#: an index look-up on both stores. FerretDB 1.24 turns ``{outbox_pending: {$ne: 0}}`` into a scan of the
#: whole table and evaluates ``$gt`` in Go after reading every row: with 100,000 finished dossiers stored
#: a sweep of resolution's cases took about a minute (the growth benchmark, docs/performance.md).
DUE_FIELD = "outbox_due"


def pending_fields(count: int) -> dict[str, Any]:
    """The pending count and its due flag, always written together (every writer of an outbox uses this)."""
    return {PENDING_FIELD: count, DUE_FIELD: count > 0}


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
        sets[DUE_FIELD] = True
    return merged


def new_document_outbox(*entries: dict[str, Any]) -> dict[str, Any]:
    """Outbox fields for a document being inserted together with its first events."""
    return {"outbox": {e["event"]["id"]: e for e in entries}, **pending_fields(len(entries))}


class OutboxRelay:
    """Publishes pending outbox entries of one collection, many documents per round.

    Writers call ``kick(doc_id, document=…)`` after their write: the relay publishes that document at once,
    from the document the writer just wrote when given (else it looks it up by ``_id``). A round hands every
    entry of up to ``batch_size`` documents to the producer without waiting (each document's entries in write
    order), waits for all acknowledgements together, then clears each fully acknowledged document by one
    compare-and-set of its own (concurrent single-document writes: never a bulk update, docs/adr/0003).
    A sweep over ``outbox_pending != 0`` runs at start and every ``sweep_interval`` seconds to catch anything
    a crash, an outage or another instance's writer left behind.
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
        #: documents to publish now: the newest written version a writer handed over, or None to look it up
        self._kicked: dict[Any, dict[str, Any] | None] = {}
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        #: told every document the relay wrote (its clearing), so a repository's snapshot stays current
        self._cleared_listeners: list[Callable[[dict[str, Any]], None]] = []
        #: set once a sweep by the old count query found the older documents all published (publish_pending)
        self._flagged_only = False

    def on_cleared(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener(document)`` with every document as the relay's clearing wrote it (new revision)."""
        self._cleared_listeners.append(listener)

    async def ensure_indexes(self) -> None:
        """Index the pending counter so a sweep reads only documents with something to send (MongoDB)."""
        await self._collection.create_index([(PENDING_FIELD, ASCENDING)], name="outbox_pending")
        await self._collection.create_index([(DUE_FIELD, ASCENDING)], name="outbox_due")

    def kick(self, doc_id: Any = None, *, document: dict[str, Any] | None = None) -> None:
        """Ask the relay to publish ``doc_id`` now (or to sweep, without an id).

        ``document`` is the version the caller just wrote (with its revision and outbox): the relay then
        skips the look-up. Of several kicks for one document the highest revision is kept; a kick without
        a document makes the relay read it.
        """
        if doc_id is not None:
            if doc_id not in self._kicked:
                self._kicked[doc_id] = document
            elif (kept := self._kicked[doc_id]) is not None:
                self._kicked[doc_id] = None if document is None else _newer(kept, document)
        self._wake.set()

    async def _read(self, doc_ids: list[Any]) -> list[dict[str, Any]]:
        """The current versions of ``doc_ids`` (single ``_id`` look-ups: FerretDB scans for ``$in``)."""
        gate = asyncio.Semaphore(self._concurrency)

        async def one(doc_id: Any) -> dict[str, Any] | None:
            async with gate:
                found: dict[str, Any] | None = await self._collection.find_one({"_id": doc_id})
                return found

        return [doc for doc in await asyncio.gather(*(one(i) for i in doc_ids)) if doc is not None]

    async def _send(self, doc: dict[str, Any]) -> None:
        """Enqueue one document's entries in write order, then wait for all their acknowledgements."""
        entries = sorted((doc.get("outbox") or {}).values(), key=lambda e: e["seq"])
        futures = [
            await self._publisher.enqueue(e["topic"], CloudEvent.model_validate(e["event"]), key=e["key"])
            for e in entries
        ]
        await asyncio.gather(*futures)

    async def _clear(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        """Unset exactly the entries of ``doc`` that were published; the document as written, or None."""
        published = set(doc.get("outbox") or {})

        def clear(current: dict[str, Any]) -> dict[str, Any]:
            outbox = current.get("outbox") or {}
            update: dict[str, Any] = {"$set": pending_fields(len(set(outbox) - published))}
            if gone := published & set(outbox):
                update["$unset"] = {f"outbox.{event_id}": "" for event_id in gone}
            return update

        # first against the version published (the usual case: nobody wrote meanwhile), then from a fresh read
        written = await compare_and_set(self._collection, doc, clear(doc))
        if written is None:
            written = await update_document(self._collection, doc["_id"], clear)
        if written is not None:
            for listener in self._cleared_listeners:
                listener(written)
        return written

    async def _relay(self, docs: list[dict[str, Any]]) -> int:
        """Publish the pending entries of ``docs`` in one round and clear those the broker acknowledged.

        A document whose send failed keeps its entries (the sweep after the error sends them again); the
        first failure is raised once every acknowledged document is cleared.
        """
        docs = [d for d in docs if d.get("outbox") or d.get(PENDING_FIELD) or d.get(DUE_FIELD)]
        if not docs:
            return 0
        producer = self._publisher.producer_state()
        sent = await asyncio.gather(*(self._send(d) for d in docs), return_exceptions=True)
        failure = next((r for r in sent if isinstance(r, BaseException)), None)
        done = [d for d, r in zip(docs, sent, strict=True) if not isinstance(r, BaseException)]
        gate = asyncio.Semaphore(self._concurrency)

        async def clear(doc: dict[str, Any]) -> None:
            async with gate:
                written = await self._clear(doc)
            if written is not None and written.get(PENDING_FIELD):
                self.kick(doc["_id"], document=written)  # a writer added entries meanwhile: send them next round

        cleared = await asyncio.gather(*(clear(d) for d in done), return_exceptions=True)
        count = sum(len(d.get("outbox") or {}) for d in done)
        self.published += count
        if failure is not None:
            await self._publisher.recover(producer, failure)
            raise failure
        for result in cleared:
            if isinstance(result, BaseException):
                raise result
        return count

    async def publish_kicked(self) -> int:
        """One round over the documents named by ``kick`` since the last one (at most ``batch_size``)."""
        batch = {i: self._kicked.pop(i) for i in list(self._kicked)[: self._batch_size]}
        given = [d for d in batch.values() if d is not None]
        return await self._relay(given + await self._read([i for i, d in batch.items() if d is None]))

    async def publish_pending(self) -> int:
        """Sweep: publish one batch of documents that still have pending events; the number of documents."""
        # by the due flag (an index look-up); until the first sweep of this process found nothing left, also by
        # the count, for documents written before the flag existed (`$ne`, not `$gt`: FerretDB evaluates `$gt`
        # in Go after reading every document, `$ne` in SQL)
        query = {DUE_FIELD: True} if self._flagged_only else {PENDING_FIELD: {"$ne": 0}}
        docs = await self._collection.find(query).limit(self._batch_size).to_list(self._batch_size)
        await self._relay(docs)
        if len(docs) < self._batch_size:
            self._flagged_only = True
        return len(docs)

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
                await wait_event(self._wake, self._poll_interval)
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


def _newer(kept: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Of two written versions of one document the one with the higher revision (the later one on a tie)."""
    return given if (given.get(REVISION_FIELD) or 0) >= (kept.get(REVISION_FIELD) or 0) else kept
