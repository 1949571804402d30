"""The store's contract, on the real store: the local FerretDB/PostgreSQL, or a MongoDB given by MONGODB_URL.

The same tests run unchanged on both; only the proof of index use reads each store's own statistics.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.settings import BaseServiceSettings
from shared.store import REVISION_FIELD, make_mongo_client, update_document
from tests.support.infra import DATA, MONGO, REPO, postgres_rows
from tests.support.service import drop_databases
from tests.support.waiting import eventually

PROCESSES = 2


@pytest.fixture
async def database(isolation: str) -> AsyncIterator[Any]:
    """A database of its own on the real store."""
    name = f"{isolation}_contract"
    client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
    yield client[name]
    client.close()
    await drop_databases(MONGO, name)


async def _race(database: Any, mode: str, n: int) -> list[Any]:
    """Run ``mode`` in PROCESSES processes at once (n operations each); what each reported."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.store_worker",
            MONGO,
            database.name,
            mode,
            str(n),
            f"w{i}",
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for i in range(PROCESSES)
    ]
    outputs = await asyncio.gather(*(p.communicate() for p in procs))
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
    return [json.loads(out) for out, _ in outputs]


async def test_concurrent_conditional_updates_from_two_processes_lose_nothing(database: Any) -> None:
    """200 compare-and-set increments of one document from two processes: 200 distinct values, final 200."""
    await database["increment"].insert_one({"_id": "counter", "n": 0})
    seen = [value for values in await _race(database, "increment", 100) for value in values]
    doc = await database["increment"].find_one({"_id": "counter"})
    assert sorted(seen) == list(range(1, 201)), "every increment saw its own value: none lost, none doubled"
    assert doc["n"] == 200 and doc[REVISION_FIELD] == 200


async def test_unique_inserts_under_a_race(database: Any) -> None:
    """Two processes insert the same 50 keys at once: each key is inserted exactly once."""
    won = [key for keys in await _race(database, "insert", 50) for key in keys]
    assert sorted(won) == sorted(f"k{k}" for k in range(50))
    assert await database["insert"].count_documents({}) == 50


async def test_a_guard_that_no_longer_holds_is_not_applied(database: Any) -> None:
    """40 concurrent guarded claims of one job from two processes: exactly one wins."""
    await database["claim"].insert_one({"_id": "job", "status": "new"})
    assert sum(await _race(database, "claim", 20)) == 1
    doc = await database["claim"].find_one({"_id": "job"})
    assert doc["status"] == "claimed" and doc[REVISION_FIELD] == 1


async def test_update_function_sees_the_document_it_changes(database: Any) -> None:
    """An update computed from the document is recomputed after a lost race (no stale read is written)."""
    await database["fn"].insert_one({"_id": "d", "items": []})

    async def append(i: int) -> None:
        await update_document(database["fn"], "d", lambda doc: {"$set": {"items": [*doc["items"], i]}})

    await asyncio.gather(*(append(i) for i in range(30)))
    doc = await database["fn"].find_one({"_id": "d"})
    assert sorted(doc["items"]) == list(range(30))


async def _is_ferretdb(database: Any) -> bool:
    return "ferretdbVersion" in await database.client.admin.command("buildInfo")


async def test_lookups_use_the_indexes_at_20000_documents(database: Any) -> None:
    """At 20,000 documents, look-ups by _id and by an indexed field, and updates, read through indexes only."""
    collection = database["docs"]
    await collection.create_index("code", name="code")
    for start in range(0, 20_000, 2_000):
        await collection.insert_many(
            [{"_id": f"d{i}", "code": f"C{i}", "office": f"O{i % 50}"} for i in range(start, start + 2_000)]
        )
    if not await _is_ferretdb(database):  # MongoDB: the query planner says so itself
        for query in ({"_id": "d123"}, {"code": "C4567"}):
            plan = json.dumps((await collection.find(query).explain())["queryPlanner"]["winningPlan"])
            assert "COLLSCAN" not in plan, plan
        return
    if not (DATA / "postgres.password").exists():
        pytest.skip("FerretDB not started by deploy/local/infra.sh here: its PostgreSQL statistics are not reachable")

    async def scans() -> tuple[int, int]:
        rows = await asyncio.to_thread(
            postgres_rows,
            "SELECT seq_scan, idx_scan FROM pg_stat_user_tables "
            f"WHERE schemaname = '{database.name}' AND relname LIKE 'docs\\_%'",
        )
        assert len(rows) == 1, rows
        return int(rows[0][0]), int(rows[0][1] or 0)

    # PostgreSQL 15 publishes an idle backend's counters up to PGSTAT_IDLE_INTERVAL (10 s) after its last
    # query: wait until the set-up's scans (the index builds) are in, i.e. no change for 12 s
    settled = [await scans()]
    while len(settled) < 20 and (len(settled) < 7 or len(set(settled[-7:])) > 1):
        await asyncio.sleep(2)
        settled.append(await scans())
    seq_before, idx_before = settled[-1]
    for i in range(0, 20_000, 100):
        assert (await collection.find_one({"_id": f"d{i}"}))["code"] == f"C{i}"
        assert (await collection.find_one({"code": f"C{i + 1}"}))["_id"] == f"d{i + 1}"
    for i in range(50):
        assert await update_document(collection, f"d{i * 7}", {"$set": {"seen": True}}) is not None
    await eventually(scans, until=lambda s: s[1] >= idx_before + 400, timeout=15)
    await asyncio.sleep(11)  # the counters of every backend that served the look-ups are in by now
    seq_after, _ = await scans()
    assert seq_after == seq_before, "no look-up or update scanned the table"
