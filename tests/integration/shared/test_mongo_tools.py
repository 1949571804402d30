"""MongoDB's own mongodump and mongorestore (100.18.0, deploy/local/mongo-tools.sh) against the real store.

What docs/operations.md#backup-and-restore promises: the production procedure's tools work on the local store, a
dump made by either mongodump or `lienthong store dump` restores with either mongorestore or `lienthong store
restore`, and what comes back is the same documents, byte for byte, with their indexes.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.errors import DuplicateKeyError

from shared.backup import dump_database, restore_database
from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client
from tests.integration.shared.test_backup import _fill
from tests.support.infra import MONGO, REPO
from tests.support.service import drop_databases

SCRIPT = REPO / "deploy" / "local" / "mongo-tools.sh"
COLLECTIONS = ("counters", "dossiers")
RAW = CodecOptions(document_class=RawBSONDocument)


def _tools() -> Path:
    """The folder with mongodump and mongorestore, built into the cache once; skips when no source can be had."""
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=900, cwd=REPO)
    if done.returncode in (2, 3):  # 2: no Go to build with, 3: no source to build from
        pytest.skip(f"mongodump/mongorestore cannot be obtained here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


@pytest.fixture(scope="module")
def tools() -> Path:
    return _tools()


def run(tools: Path, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tools / tool), "--uri", MONGO, *args], capture_output=True, text=True, timeout=300, env=dict(os.environ)
    )


@pytest.fixture
async def store(isolation: str) -> AsyncIterator[tuple[Any, str]]:
    """A client; the databases named ``<isolation>_*`` are dropped afterwards."""
    client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
    try:
        yield client, isolation
    finally:
        names = [n for n in await client.list_database_names() if n.startswith(f"{isolation}_")]
        client.close()
        await drop_databases(MONGO, *names)


async def _is_ferretdb(client: Any) -> bool:
    return "ferretdbVersion" in await client.admin.command("buildInfo")


async def _raw(db: Any) -> dict[str, list[bytes]]:
    """Every document of the test's collections as stored (raw BSON), by _id."""
    return {
        name: [doc.raw async for doc in db.get_collection(name, codec_options=RAW).find({}, sort=[("_id", 1)])]
        for name in COLLECTIONS
    }


async def _indexes(db: Any) -> dict[str, tuple[list[tuple[str, Any]], bool]]:
    return {
        index["name"]: (list(index["key"].items()), bool(index.get("unique")))
        async for index in db["dossiers"].list_indexes()
    }


def _restore_args(source: str, target: str, folder: Path, *, indexes: bool) -> list[str]:
    """mongorestore of the database ``source`` dumped in ``folder`` (its ``<database>/`` folder) into ``target``."""
    return [
        f"--nsFrom={source}.*",
        f"--nsTo={target}.*",
        *([] if indexes else ["--noIndexRestore"]),
        f"--dir={folder.parent}",
    ]


async def test_mongodump_then_mongorestore_into_a_fresh_database(
    tools: Path, store: tuple[Any, str], tmp_path: Path
) -> None:
    """mongodump of a database, mongorestore into a fresh one: the same bytes, the same indexes, the unique one
    still refusing. On FerretDB 1.24 mongorestore's index specs are refused (it sends the legacy `ns` option on
    every index), so there the documents come from mongorestore --noIndexRestore and the indexes from
    `lienthong store restore` of the same dump, which adds only what is missing."""
    client, prefix = store
    source, target = client[f"{prefix}_src"], client[f"{prefix}_dst"]
    await _fill(source)
    dumped = run(tools, "mongodump", f"--db={source.name}", f"--out={tmp_path}")
    assert dumped.returncode == 0, dumped.stderr
    folder = tmp_path / source.name
    assert {p.name for p in folder.iterdir()} >= {
        f"{c}.{kind}" for c in COLLECTIONS for kind in ("bson", "metadata.json")
    }

    if await _is_ferretdb(client):
        refused = run(tools, "mongorestore", *_restore_args(source.name, f"{prefix}_full", folder, indexes=True))
        assert refused.returncode != 0 and 'Index option "ns" is unknown' in refused.stderr, (
            "FerretDB now takes mongorestore's index specs: restore with indexes and drop the work-around"
        )
        restored = run(tools, "mongorestore", *_restore_args(source.name, target.name, folder, indexes=False))
        assert restored.returncode == 0, restored.stderr
        assert await restore_database(target, folder) == {"counters": 0, "dossiers": 0}, "documents were there"
    else:
        restored = run(tools, "mongorestore", *_restore_args(source.name, target.name, folder, indexes=True))
        assert restored.returncode == 0, restored.stderr
    assert "8 document(s) restored successfully. 0 document(s) failed" in restored.stderr

    assert await _raw(target) == await _raw(source)
    assert await _indexes(target) == await _indexes(source)
    assert (await _indexes(target))["code"] == ([("code", 1)], True)
    with pytest.raises(DuplicateKeyError):
        await target["dossiers"].insert_one({"_id": "other", "code": "00070.TTHCC-261130-0001"})


async def test_each_tool_restores_what_the_other_dumped(store: tuple[Any, str], tools: Path, tmp_path: Path) -> None:
    """`lienthong store dump` restored by mongorestore, and mongodump restored by `lienthong store restore`: the same
    bytes both ways (the indexes too where the store takes mongorestore's)."""
    client, prefix = store
    ferretdb = await _is_ferretdb(client)
    source = client[f"{prefix}_src"]
    await _fill(source)

    ours = tmp_path / "ours" / source.name
    assert await dump_database(source, ours) == {"counters": 1, "dossiers": 7}
    by_mongorestore = client[f"{prefix}_by_mongorestore"]
    restored = run(tools, "mongorestore", *_restore_args(source.name, by_mongorestore.name, ours, indexes=not ferretdb))
    assert restored.returncode == 0, restored.stderr
    assert await _raw(by_mongorestore) == await _raw(source)
    if not ferretdb:
        assert await _indexes(by_mongorestore) == await _indexes(source)

    dumped = run(tools, "mongodump", f"--db={source.name}", f"--out={tmp_path / 'theirs'}")
    assert dumped.returncode == 0, dumped.stderr
    by_lienthong = client[f"{prefix}_by_lienthong"]
    assert await restore_database(by_lienthong, tmp_path / "theirs" / source.name) == {"counters": 1, "dossiers": 7}
    assert await _raw(by_lienthong) == await _raw(source)
    assert await _indexes(by_lienthong) == await _indexes(source)
