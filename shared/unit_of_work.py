"""The unit of work: an aggregate, its outgoing events and the event it consumed, in one conditional write.

A repository maps an aggregate to and from its document (a :class:`DocumentMapper` per aggregate, in the
service's ``adapters/``); :class:`MongoAggregates` owns everything else in the document:

- ``_rev``, the store revision: every commit is ``find_one_and_replace({_id, _rev: r}, … _rev: r + 1)``,
  atomic on MongoDB and on the local FerretDB through its revision trigger (docs/adr/0003). A lost race is
  retried from a fresh read, re-running the domain call on the fresh aggregate, a bounded number of times.
- ``outbox`` / ``outbox_pending``: the recorded events, stored in the same write and published by the
  shared :class:`~shared.outbox.OutboxRelay` (the one publication path, docs/adr/0001).
- ``seen_events``: the ids of the last :data:`SEEN_LIMIT` Kafka events this aggregate consumed, written
  in the same commit as their effect. Bounded: a redelivery is of an event the consumer had not yet
  committed its offset for — one of the few newest for this key, since a partition is consumed in order —
  so a short window suffices; an id that fell out of it meets the aggregate's own transition rules (a
  status it is already past, a decision already counted), which refuse it as :class:`Unchanged`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import fields
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, OperationFailure

from shared.aggregate import EventRecorder, Outcome, Recorded, Unchanged
from shared.envelope import CloudEvent
from shared.errors import WriteConflict
from shared.outbox import DUE_FIELD, PENDING_FIELD, OutboxRelay, outbox_entry, pending_fields
from shared.store import REVISION_FIELD, SEALED_FIELD, WRITE_ATTEMPTS, LostRace, conditional_retries, is_write_conflict
from shared.topics import event_type_of

#: consumed event ids kept per aggregate (see the module docstring for why a window is enough)
SEEN_LIMIT = 32
SEEN_FIELD = "seen_events"
OUTBOX_FIELD = "outbox"
#: fields of a document that belong to the unit of work, never to a mapper
STORE_FIELDS = frozenset({REVISION_FIELD, OUTBOX_FIELD, PENDING_FIELD, DUE_FIELD, SEEN_FIELD, SEALED_FIELD})

A = TypeVar("A", bound=EventRecorder)


def flat_document(aggregate: Any, *, skip: Collection[str] = ()) -> dict[str, Any]:
    """A dataclass aggregate's fields by name (``id`` as ``_id``, enum members as their values), for mappers
    whose documents are flat; the fields in ``skip`` are the mapper's to write."""
    doc: dict[str, Any] = {}
    for f in fields(aggregate):
        if f.name not in skip:
            value = getattr(aggregate, f.name)
            doc["_id" if f.name == "id" else f.name] = value.value if isinstance(value, Enum) else value
    return doc


def flat_arguments(cls: type, doc: Mapping[str, Any], *, skip: Collection[str] = ()) -> dict[str, Any]:
    """The constructor arguments of dataclass ``cls`` a flat document holds (``_id`` as ``id``); a field the
    document lacks (older shapes) is left out, to take its default; the fields in ``skip`` are the mapper's."""
    arguments: dict[str, Any] = {}
    for f in fields(cls):
        key = "_id" if f.name == "id" else f.name
        if f.name not in skip and key in doc:
            arguments[f.name] = doc[key]
    return arguments


R = TypeVar("R")


def _copied(value: Any) -> Any:
    """A copy of a stored document's containers (dicts, lists, tuples); leaves are immutable BSON values.

    What ``copy.deepcopy`` does for these documents at a fraction of its cost (no memo, no reductions): it
    was the largest single CPU item of intake's filing path once snapshots were on (docs/performance.md).
    """
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_copied(item) for item in value)
    return value


class DocumentMapper(Protocol[A]):
    """Maps one aggregate type to its stored document and back (no store-owned field on either side)."""

    def to_document(self, aggregate: A) -> dict[str, Any]:
        """The aggregate's state as a document, with its ``_id``."""
        ...

    def from_document(self, document: Mapping[str, Any]) -> A:
        """The aggregate a stored document holds."""
        ...


class MongoAggregates(Generic[A]):
    """A repository of one aggregate type on one collection: ``get``, ``add``, ``change``, queries."""

    def __init__(
        self,
        collection: Any,
        mapper: DocumentMapper[A],
        *,
        source: str,
        relay: OutboxRelay | None = None,
        seen_limit: int = SEEN_LIMIT,
        snapshots: int = 0,
    ) -> None:
        self.collection = collection
        self.mapper = mapper
        self.source = source
        self.relay = relay
        self.seen_limit = seen_limit
        #: the documents this process last read or wrote, newest last (at most ``snapshots``; 0: none kept)
        self._snapshots: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._snapshot_limit = snapshots
        if snapshots and relay is not None:
            relay.on_cleared(self._cleared)  # the relay's clearing is a write too: keep the snapshot current

    # -- snapshots: the next change of a document this process just read or wrote starts without a read ----

    def _remember(self, doc: Mapping[str, Any]) -> None:
        if self._snapshot_limit:
            self._snapshots[doc["_id"]] = _copied(dict(doc))
            self._snapshots.move_to_end(doc["_id"])
            while len(self._snapshots) > self._snapshot_limit:
                self._snapshots.popitem(last=False)

    def _cleared(self, doc: Mapping[str, Any]) -> None:
        """The relay wrote ``doc`` (published entries cleared): a kept snapshot of an older revision follows it."""
        kept = self._snapshots.get(doc["_id"])
        if kept is not None and (doc.get(REVISION_FIELD) or 0) > (kept.get(REVISION_FIELD) or 0):
            self._remember(doc)

    def _snapshot(self, aggregate_id: str) -> dict[str, Any] | None:
        found = self._snapshots.get(aggregate_id)
        return _copied(found) if found is not None else None

    # -- reading ---------------------------------------------------------------------------------------

    async def get(self, aggregate_id: str) -> A | None:
        """The aggregate with that id, or None."""
        doc = await self.collection.find_one({"_id": aggregate_id})
        if doc is None:
            return None
        self._remember(doc)
        return self.mapper.from_document(doc)

    async def find(
        self, query: Mapping[str, Any], *, sort: list[tuple[str, int]] | None = None, limit: int = 0
    ) -> list[A]:
        """Aggregates matching a store query (the service's repository builds the query)."""
        cursor = self.collection.find(dict(query), sort=sort, limit=limit)
        return [self.mapper.from_document(doc) async for doc in cursor]

    # -- writing ---------------------------------------------------------------------------------------

    def _envelopes(self, recorded: list[Recorded]) -> list[tuple[CloudEvent, dict[str, Any]]]:
        out = []
        for item in recorded:
            event = CloudEvent(source=self.source, type=event_type_of(item.topic), subject=item.subject, data=item.data)
            out.append((event, outbox_entry(item.topic, event, key=item.key)))
        return out

    def _state(self, aggregate: A) -> dict[str, Any]:
        state = self.mapper.to_document(aggregate)
        if owned := STORE_FIELDS & state.keys():
            raise ValueError(f"a mapper never writes the unit of work's fields: {sorted(owned)}")
        return state

    async def add(self, aggregate: A, *, consumed: str | None = None) -> bool:
        """Insert a new aggregate with its recorded events (published by the relay); False if its id exists."""
        events = self._envelopes(aggregate.pull_events())
        doc = self._state(aggregate)
        doc[REVISION_FIELD] = 0
        doc[OUTBOX_FIELD] = {event.id: entry for event, entry in events}
        doc.update(pending_fields(len(events)))
        doc[SEEN_FIELD] = [consumed] if consumed else []
        if not await self.insert_document(doc):
            return False
        self._remember(doc)
        if events and self.relay is not None:
            self.relay.kick(doc["_id"], document=doc)  # the relay publishes from it without reading it back
        return True

    async def insert_document(self, doc: dict[str, Any]) -> bool:
        """Insert one complete new document; False when its ``_id`` exists (a repository may batch these)."""
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def change(self, aggregate_id: str, fn: Callable[[A], R], *, consumed: str | None = None) -> Outcome[A, R]:
        """Load the aggregate, apply ``fn`` to it, commit state + events + ``consumed`` in one write.

        ``fn`` raises :class:`Unchanged` when its rule says there is nothing to do (nothing is written);
        domain errors it raises reach the caller unchanged. On a lost race ``fn`` runs again on a freshly
        loaded aggregate. Raises :class:`WriteConflict` after :data:`WRITE_ATTEMPTS` lost races.

        With snapshots kept, a document this process just read or wrote is changed without reading it
        again: the write is conditional on the snapshot's revision, so a snapshot another writer made stale
        only costs that write; and a snapshot never decides "nothing to do" (that is judged on a fresh read).
        """
        if (known := self._snapshot(aggregate_id)) is not None:
            try:
                done = await self._attempt(aggregate_id, fn, consumed, known=known)
            except Exception:  # a lost race, or a domain error judged on a stale snapshot: read and judge afresh
                done = None
            if done is not None and (done.applied or done.duplicate):
                return done
            self._snapshots.pop(aggregate_id, None)
        try:
            async for attempt in conditional_retries():
                with attempt:
                    return await self._attempt(aggregate_id, fn, consumed)
        except LostRace as exc:
            raise WriteConflict(f"{self.collection.name}/{aggregate_id}: lost {WRITE_ATTEMPTS} races") from exc
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def _attempt(
        self, aggregate_id: str, fn: Callable[[A], R], consumed: str | None, *, known: dict[str, Any] | None = None
    ) -> Outcome[A, R]:
        doc = known if known is not None else await self.collection.find_one({"_id": aggregate_id})
        if doc is None or doc.get(SEALED_FIELD):
            return Outcome(None)  # absent, or sealed for its move to the archive (shared/lifecycle.py)
        aggregate = self.mapper.from_document(doc)
        seen: list[str] = list(doc.get(SEEN_FIELD) or [])
        if consumed is not None and consumed in seen:
            return Outcome(aggregate, duplicate=True)
        before = self._state(aggregate)
        try:
            result = fn(aggregate)
        except Unchanged:
            return Outcome(aggregate)
        events = self._envelopes(aggregate.pull_events())
        state = self._state(aggregate)
        if not events and state == before:
            return Outcome(aggregate, result)  # nothing changed: no write (and no need to remember `consumed`)
        outbox = dict(doc.get(OUTBOX_FIELD) or {})
        outbox.update({event.id: entry for event, entry in events})
        if consumed is not None:
            seen = [*seen, consumed][-self.seen_limit :]
        revision = doc.get(REVISION_FIELD)
        replacement = {
            **state,
            REVISION_FIELD: (revision or 0) + 1,
            OUTBOX_FIELD: outbox,
            **pending_fields(len(outbox)),
            SEEN_FIELD: seen,
        }
        try:
            written = await self.collection.find_one_and_replace(
                {"_id": aggregate_id, REVISION_FIELD: revision}, replacement, return_document=ReturnDocument.AFTER
            )
        except OperationFailure as exc:
            if not is_write_conflict(exc):
                raise
            written = None
        if written is None:
            raise LostRace
        self._remember(written)
        if events and self.relay is not None:
            self.relay.kick(aggregate_id, document=written)
        return Outcome(aggregate, result, applied=True, events=[event for event, _ in events])
