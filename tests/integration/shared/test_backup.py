"""Dump and restore (shared/backup.py, `lienthong store dump|restore`) against the real store."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import Binary, Int64, decode_file_iter
from pymongo.errors import DuplicateKeyError

from shared.backup import dump_database, restore_database
from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client
from tests.support.infra import MONGO
from tests.support.service import drop_databases

LIENTHONG = Path(sys.executable).with_name("lienthong")
WHEN = datetime(2026, 11, 30, 7, 30, 15, 123000, tzinfo=UTC)


def _documents() -> list[dict[str, Any]]:
    return [
        {
            "_id": f"d{n}",
            "_rev": n,
            "code": f"00070.TTHCC-261130-{n:04d}",
            "received_at": WHEN,
            "count": Int64(2**40 + n),
            "ratio": n / 3,
            "blob": Binary(bytes(range(n, n + 16))),
            "history": [{"status": "received", "at": WHEN}, {"status": "accepted", "reason": None}],
            "applicant": {"full_name": "Trần Thị Bình", "address": {"ward_code": "00070"}},
        }
        for n in range(1, 8)
    ]


@pytest.fixture
async def database(isolation: str) -> AsyncIterator[tuple[Any, Any, str]]:
    """A client and a database of its own, dropped afterwards."""
    name = f"{isolation}_backup"
    client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
    try:
        yield client, client[name], name
    finally:
        client.close()
        await drop_databases(MONGO, name)


async def _fill(db: Any) -> None:
    await db["dossiers"].create_index("code", unique=True, name="code")
    await db["dossiers"].create_index([("received_at", -1), ("count", 1)], name="received_count")
    await db["dossiers"].insert_many(_documents())
    await db["counters"].insert_one({"_id": "c#1", "n": 1})


async def test_dump_drop_restore_gives_back_documents_and_indexes(
    database: tuple[Any, Any, str], tmp_path: Path
) -> None:
    """Every document comes back exactly (types included), the indexes too, and the unique one still refuses."""
    client, db, name = database
    await _fill(db)
    before = {c: await db[c].find({}, sort=[("_id", 1)]).to_list(None) for c in ("dossiers", "counters")}

    counts = await dump_database(db, tmp_path / name)
    assert counts == {"counters": 1, "dossiers": 7}
    # mongodump's layout: concatenated BSON and index metadata per collection
    assert len(list(decode_file_iter((tmp_path / name / "dossiers.bson").open("rb")))) == 7
    assert (tmp_path / name / "dossiers.metadata.json").is_file()

    await client.drop_database(name)
    assert await db.list_collection_names() == []
    assert await restore_database(db, tmp_path / name) == counts

    after = {c: await db[c].find({}, sort=[("_id", 1)]).to_list(None) for c in ("dossiers", "counters")}
    assert after == before
    assert isinstance(after["dossiers"][0]["count"], int) and after["dossiers"][0]["count"] == 2**40 + 1
    indexes = {i["name"]: i async for i in db["dossiers"].list_indexes()}
    assert set(indexes) >= {"_id_", "code", "received_count"}
    assert list(indexes["received_count"]["key"].items()) == [("received_at", -1), ("count", 1)]
    with pytest.raises(DuplicateKeyError):
        await db["dossiers"].insert_one({"_id": "other", "code": "00070.TTHCC-261130-0001"})


async def test_restoring_twice_keeps_what_is_there(database: tuple[Any, Any, str], tmp_path: Path) -> None:
    """Without --drop a document already present is left as it is; with it the dump replaces the collection."""
    _, db, name = database
    await _fill(db)
    await dump_database(db, tmp_path / name)
    await db["dossiers"].update_one({"_id": "d1"}, {"$set": {"changed": True}, "$inc": {"_rev": 1}})
    await db["dossiers"].insert_one({"_id": "extra", "code": "x"})

    assert await restore_database(db, tmp_path / name) == {"counters": 0, "dossiers": 0}
    assert (await db["dossiers"].find_one({"_id": "d1"}))["changed"] is True

    assert await restore_database(db, tmp_path / name, drop=True) == {"counters": 1, "dossiers": 7}
    assert await db["dossiers"].find_one({"_id": "extra"}) is None
    assert "changed" not in await db["dossiers"].find_one({"_id": "d1"})


async def test_cli_dumps_and_restores_a_service_database(database: tuple[Any, Any, str], tmp_path: Path) -> None:
    """`lienthong store dump --service intake` then `restore --drop` bring intake's database back."""
    client, db, name = database
    await _fill(db)
    env = {**os.environ, "MONGODB_URL": MONGO, "INTAKE_MONGODB_DATABASE": name}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(LIENTHONG), "store", *args], env=env, capture_output=True, text=True, timeout=120)

    dumped = cli("dump", "--out", str(tmp_path), "--service", "intake")
    assert dumped.returncode == 0, dumped.stderr
    assert f"{name}: 8 documents in 2 collections" in dumped.stdout
    await client.drop_database(name)
    restored = cli("restore", "--from", str(tmp_path), "--service", "intake", "--drop")
    assert restored.returncode == 0, restored.stderr
    assert await db["dossiers"].count_documents({}) == 7

    missing = cli("restore", "--from", str(tmp_path / "nowhere"), "--service", "intake")
    assert missing.returncode == 2 and "is missing" in missing.stderr
