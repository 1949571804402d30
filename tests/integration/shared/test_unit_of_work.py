"""The unit of work's contract on the real store (local FerretDB/PostgreSQL, or MongoDB given by MONGODB_URL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from shared.aggregate import EventRecorder, Unchanged
from shared.errors import WriteConflict
from shared.settings import BaseServiceSettings
from shared.store import REVISION_FIELD, make_mongo_client
from shared.unit_of_work import SEEN_FIELD, MongoAggregates
from tests.support.commands import Commands
from tests.support.infra import MONGO
from tests.support.service import drop_databases


@dataclass
class Counter(EventRecorder):
    """A tiny aggregate: a count that may not pass a limit, recording an event per step."""

    id: str
    count: int = 0
    limit: int = 1000

    def step(self) -> int:
        if self.count >= self.limit:
            raise Unchanged
        self.count += 1
        self.record("dossier.status.v1", {"count": self.count}, key=self.id, subject=self.id)
        return self.count


class CounterMapper:
    def to_document(self, aggregate: Counter) -> dict[str, Any]:
        return {"_id": aggregate.id, "count": aggregate.count, "limit": aggregate.limit}

    def from_document(self, document: Mapping[str, Any]) -> Counter:
        return Counter(document["_id"], document["count"], document["limit"])


@pytest.fixture
async def counters(isolation: str) -> AsyncIterator[MongoAggregates[Counter]]:
    """A repository of counters on a database of its own."""
    name = f"{isolation}_uow"
    client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
    yield MongoAggregates(client[name]["counters"], CounterMapper(), source="/lienthong/test")
    client.close()
    await drop_databases(MONGO, name)


async def test_state_events_and_consumed_id_are_one_write(counters: MongoAggregates[Counter]) -> None:
    """A change stores state, its event in the outbox and the consumed id together; a redelivery does nothing."""
    assert await counters.add(Counter("c1"))
    outcome = await counters.change("c1", Counter.step, consumed="evt-1")
    assert outcome.applied and outcome.result == 1 and len(outcome.events) == 1
    doc = await counters.collection.find_one({"_id": "c1"})
    assert doc["count"] == 1 and doc[REVISION_FIELD] == 1 and doc[SEEN_FIELD] == ["evt-1"]
    assert doc["outbox_pending"] == 1 and doc["outbox"][outcome.events[0].id]["event"]["data"] == {"count": 1}
    again = await counters.change("c1", Counter.step, consumed="evt-1")
    assert again.duplicate and not again.applied
    assert (await counters.get("c1")) == Counter("c1", 1)


async def test_add_refuses_an_existing_id(counters: MongoAggregates[Counter]) -> None:
    """Two inserts of one id: the second says False and leaves the first."""
    assert await counters.add(Counter("c2", 5))
    assert not await counters.add(Counter("c2", 9))
    assert (await counters.get("c2")) == Counter("c2", 5)


async def test_concurrent_changes_lose_nothing_and_rules_hold(counters: MongoAggregates[Counter]) -> None:
    """60 concurrent steps on a counter limited to 40: exactly 40 applied, 40 events, 20 refused by the rule."""
    await counters.add(Counter("c3", limit=40))
    outcomes = await asyncio.gather(*(counters.change("c3", Counter.step) for _ in range(60)), return_exceptions=True)
    conflicts = [o for o in outcomes if isinstance(o, WriteConflict)]
    assert not conflicts
    applied = [o for o in outcomes if not isinstance(o, BaseException) and o.applied]
    assert sorted(o.result for o in applied) == list(range(1, 41))
    doc = await counters.collection.find_one({"_id": "c3"})
    assert doc["count"] == 40 and doc["outbox_pending"] == 40


async def test_consumed_ids_are_bounded(counters: MongoAggregates[Counter]) -> None:
    """The consumed-id window keeps the newest ids only, so no document grows for its aggregate's life."""
    counters.seen_limit = 5
    await counters.add(Counter("c4"))
    for i in range(12):
        await counters.change("c4", Counter.step, consumed=f"e{i}")
    doc = await counters.collection.find_one({"_id": "c4"})
    assert doc[SEEN_FIELD] == [f"e{i}" for i in range(7, 12)]


async def test_a_mapper_cannot_write_store_fields(counters: MongoAggregates[Counter]) -> None:
    """The revision and outbox belong to the unit of work: a mapper that writes one is refused."""

    class Sneaky(CounterMapper):
        def to_document(self, aggregate: Counter) -> dict[str, Any]:
            return {**super().to_document(aggregate), REVISION_FIELD: 99}

    sneaky = MongoAggregates(counters.collection, Sneaky(), source="/lienthong/test")
    with pytest.raises(ValueError, match="_rev"):
        await sneaky.add(Counter("c5"))


async def test_a_repository_may_take_over_the_insert(counters: MongoAggregates[Counter]) -> None:
    """``add`` builds the whole new document (state, revision, outbox, consumed id) and hands it to
    ``insert_document``, which a repository may override (routing batches concurrent inserts); False passes on."""
    handed: list[dict[str, Any]] = []

    class Recording(MongoAggregates[Counter]):
        async def insert_document(self, doc: dict[str, Any]) -> bool:
            handed.append(doc)
            return await super().insert_document(doc)

    repository = Recording(counters.collection, CounterMapper(), source="/lienthong/test")
    counter = Counter("c9")
    counter.step()
    assert await repository.add(counter, consumed="e1")
    assert not await repository.add(Counter("c9"))
    first = handed[0]
    assert (first["count"], first[REVISION_FIELD], first[SEEN_FIELD], first["outbox_pending"]) == (1, 0, ["e1"], 1)
    assert len(handed) == 2 and (await counters.get("c9")) == Counter("c9", 1)


async def test_snapshots_spare_the_read_and_two_instances_stay_correct(isolation: str) -> None:
    """With snapshots, a change of what this process just wrote is one write; another instance's write makes the
    snapshot stale, which costs one refused write and a fresh read, never a lost update or a stale verdict."""
    name = f"{isolation}_uow_snap"
    commands = Commands()
    client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO), event_listeners=[commands])
    other_client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
    try:
        mine = MongoAggregates(client[name]["counters"], CounterMapper(), source="/t", snapshots=10)
        other = MongoAggregates(other_client[name]["counters"], CounterMapper(), source="/t", snapshots=10)
        assert await mine.add(Counter("s1", limit=3))
        commands.names.clear()
        assert (await mine.change("s1", Counter.step)).result == 1
        assert (await mine.change("s1", Counter.step)).result == 2
        assert commands.names == ["findAndModify", "findAndModify"], "no read before either write"
        assert (await other.change("s1", Counter.step)).result == 3  # the other instance: mine is stale now
        commands.names.clear()
        refused = await mine.change("s1", Counter.step)  # the limit holds on the fresh read, not the snapshot
        assert not refused.applied and refused.aggregate == Counter("s1", 3, 3)
        assert commands.names == ["findAndModify", "find"]
        doc = await mine.collection.find_one({"_id": "s1"})
        assert doc["count"] == 3 and doc["outbox_pending"] == 3
    finally:
        client.close()
        other_client.close()
        await drop_databases(MONGO, name)
