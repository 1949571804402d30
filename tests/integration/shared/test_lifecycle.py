"""Archiving and erasure (shared/lifecycle.py) on the real store: moves once, loses no concurrent write."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.lifecycle import (
    ARCHIVED_REV_FIELD,
    ERASED,
    ERASED_AT_FIELD,
    CollectionLifecycle,
    PersonalFields,
    ServiceLifecycle,
    archive_finished,
    dossiers_of_citizen,
    erase_personal_data,
)
from shared.settings import BaseServiceSettings
from shared.store import REVISION_FIELD, SEALED_FIELD, make_mongo_client, update_document
from shared.unit_of_work import MongoAggregates
from tests.support.infra import MONGO
from tests.support.service import drop_databases

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=400)
#: between seal and delete: far longer than one write's read → update gap, short for a test
GRACE = 0.5


def _finished_at(doc: Mapping[str, Any]) -> datetime | None:
    return doc.get("finished_at") if doc.get("status") == "done" else None


LIFECYCLE = ServiceLifecycle(
    service="test",
    collections=(
        CollectionLifecycle(
            name="items",
            finished_filter={"status": "done"},
            finished_at=_finished_at,
            dossier_field="_id",
            personal=PersonalFields(remove=("person.phone_enc", "person.id_hash"), pseudonymise=("person.name",)),
        ),
    ),
    citizen_index=("items", "person.id_hash"),
)


@pytest.fixture
async def db(isolation: str) -> AsyncIterator[Any]:
    """A database of its own on the real store."""
    name = f"{isolation}_lifecycle"
    client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
    try:
        yield client[name]
    finally:
        client.close()
        await drop_databases(MONGO, name)


def _item(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "_id": f"item-{n}",
        REVISION_FIELD: 0,
        "status": "done",
        "finished_at": OLD,
        "n": 0,
        "person": {"name": f"Nguyễn Văn {n}", "phone_enc": f"v1.enc{n}", "id_hash": f"h{n % 2}"},
        **fields,
    }


async def test_only_old_finished_published_documents_move_and_only_once(db: Any) -> None:
    """Finished long ago and published: moved; recent, open or with pending events: stay; a rerun moves none."""
    await db["items"].insert_many(
        [
            _item(1),
            _item(2, finished_at=NOW - timedelta(days=3)),
            _item(3, status="open"),
            _item(4, outbox_pending=1),
        ]
    )
    first = await archive_finished(db, LIFECYCLE, before=NOW - timedelta(days=365), grace=GRACE)
    assert first.moved == {"items": 1}
    assert sorted([d["_id"] async for d in db["items"].find({})]) == ["item-2", "item-3", "item-4"]
    archived = await db["items_archive"].find_one({"_id": "item-1"})
    # copied at the revision of its seal (0 + 1), and outside the compare-and-set scheme from then on
    assert archived is not None and archived[ARCHIVED_REV_FIELD] == 1 and REVISION_FIELD not in archived
    assert SEALED_FIELD not in archived
    assert archived["person"]["name"] == "Nguyễn Văn 1"

    again = await archive_finished(db, LIFECYCLE, before=NOW - timedelta(days=365), grace=GRACE)
    assert again.moved == {"items": 0}
    assert await db["items_archive"].count_documents({}) == 1


async def test_concurrent_writers_and_archivers_lose_nothing(db: Any) -> None:
    """Writers increment while two archivers move: each item ends in one place holding every applied write."""
    items = 30
    await db["items"].insert_many([_item(n) for n in range(items)])
    applied = dict.fromkeys((f"item-{n}" for n in range(items)), 0)

    async def writer() -> None:
        for _ in range(60):
            doc_id = f"item-{random.randrange(items)}"
            if await update_document(db["items"], doc_id, {"$inc": {"n": 1}}) is not None:
                applied[doc_id] += 1

    async def archiver() -> None:
        for _ in range(3):
            await archive_finished(db, LIFECYCLE, before=NOW, grace=GRACE)

    await asyncio.gather(writer(), writer(), archiver(), archiver())
    await archive_finished(db, LIFECYCLE, before=NOW, grace=GRACE)  # whatever a busy race left live moves now

    live = {d["_id"]: d async for d in db["items"].find({})}
    archived = {d["_id"]: d async for d in db["items_archive"].find({})}
    assert not live, f"left live: {sorted(live)}"
    assert set(archived) == set(applied)
    lost = {k: (applied[k], archived[k]["n"]) for k in applied if archived[k]["n"] != applied[k]}
    assert not lost, f"writes lost or invented (applied, archived): {lost}"
    assert sum(applied.values()) > 0, "the writers must have raced the archivers"


async def test_erasure_reaches_live_and_archived_documents_and_is_idempotent(db: Any) -> None:
    """A citizen's documents, live or archived, lose their personal fields; the rest stays; a rerun changes none."""
    await db["items"].insert_many([_item(1), _item(2), _item(3, status="open")])
    await archive_finished(db, LIFECYCLE, before=NOW, grace=GRACE)  # items 1 and 2 move, 3 (open) stays

    ids = await dossiers_of_citizen(db, LIFECYCLE, "h1")  # items 1 and 3 share the hash h1
    assert sorted(ids) == ["item-1", "item-3"]
    changed = await erase_personal_data(db, LIFECYCLE, ids, now=NOW)
    assert changed == {"items": 1, "items_archive": 1}

    for collection, doc_id in (("items", "item-3"), ("items_archive", "item-1")):
        doc = await db[collection].find_one({"_id": doc_id})
        assert doc["person"] == {"name": ERASED}, doc
        assert doc[ERASED_AT_FIELD] == NOW
        assert doc["status"] and doc["finished_at"], "the record itself stays"
    untouched = await db["items_archive"].find_one({"_id": "item-2"})
    assert untouched["person"]["name"] == "Nguyễn Văn 2" and untouched["person"]["phone_enc"] == "v1.enc2"

    assert await dossiers_of_citizen(db, LIFECYCLE, "h1") == []
    assert await erase_personal_data(db, LIFECYCLE, ids, now=NOW) == {"items": 0, "items_archive": 0}


async def test_writers_treat_a_sealed_document_as_gone(db: Any) -> None:
    """While a document is sealed for its move, update_document and the unit of work write nothing to it."""
    from tests.integration.shared.test_unit_of_work import Counter, CounterMapper

    await db["counters"].insert_one({"_id": "c1", REVISION_FIELD: 3, SEALED_FIELD: True, "count": 1, "limit": 9})
    assert await update_document(db["counters"], "c1", {"$inc": {"count": 1}}) is None
    outcome = await MongoAggregates(db["counters"], CounterMapper(), source="/lienthong/test").change(
        "c1", Counter.step
    )
    assert outcome.aggregate is None and not outcome.applied
    stored = await db["counters"].find_one({"_id": "c1"})
    assert stored["count"] == 1 and stored[REVISION_FIELD] == 3
