"""Dump and restore one database over the wire protocol, in mongodump's directory layout.

``<dir>/<collection>.bson`` holds the documents as concatenated BSON, exactly as stored (raw, no
re-encoding), and ``<dir>/<collection>.metadata.json`` the indexes in canonical Extended JSON — the files
``mongodump --out`` writes and ``mongorestore --dir`` reads (tests/integration/shared/test_mongo_tools.py restores
each one's dump with the other). It works on FerretDB (the local store, where MongoDB's tools are usually not at hand:
docs/operations.md) and on MongoDB alike. Like mongodump without ``--oplog``,
a dump of a database that is being written is not a point-in-time snapshot: stop the writers, or accept
that each document is as it was when its collection was read.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, BinaryIO

from bson import decode_file_iter
from bson.codec_options import CodecOptions
from bson.json_util import CANONICAL_JSON_OPTIONS, dumps, loads
from bson.raw_bson import RawBSONDocument
from pymongo import IndexModel
from pymongo.errors import BulkWriteError

RAW = CodecOptions(document_class=RawBSONDocument)
DUPLICATE_KEY = 11000
#: documents per insert on restore
BATCH = 500
#: index options copied on restore (the rest, e.g. ``v`` and ``ns``, are the server's)
_INDEX_OPTIONS = ("unique", "sparse", "expireAfterSeconds", "partialFilterExpression", "collation")


async def dump_database(db: Any, folder: Path) -> dict[str, int]:
    """Write every collection of ``db`` into ``folder``: documents per collection."""
    _make_folder(folder)
    counts: dict[str, int] = {}
    for name in sorted(await db.list_collection_names()):
        collection = db.get_collection(name, codec_options=RAW)
        count = 0
        with _open(folder / f"{name}.bson", "wb") as out:
            async for doc in collection.find({}, sort=[("_id", 1)]):
                out.write(doc.raw)
                count += 1
        indexes = [dict(index) async for index in db[name].list_indexes()]
        for index in indexes:
            index.pop("ns", None)
        metadata = {"indexes": indexes, "uuid": "", "collectionName": name, "type": "collection", "options": {}}
        _write_text(folder / f"{name}.metadata.json", dumps(metadata, json_options=CANONICAL_JSON_OPTIONS))
        counts[name] = count
    return counts


async def restore_database(db: Any, folder: Path, *, drop: bool = False) -> dict[str, int]:
    """Restore every collection dumped in ``folder`` into ``db``: documents inserted per collection.

    Indexes come first, so a unique index guards the documents as they arrive. A document whose ``_id``
    exists already is left as it is (like mongorestore without ``--drop``).
    """
    counts: dict[str, int] = {}
    for name, metadata in _metadata_of(folder):
        if drop:
            await db.drop_collection(name)
        if name not in await db.list_collection_names():
            await db.create_collection(name)
        # only the missing ones: FerretDB 1.24 fails createIndexes of several indexes that all exist
        existing = {index["name"] async for index in db[name].list_indexes()}
        models = [_index_model(index) for index in metadata.get("indexes", []) if index["name"] not in existing]
        if models:
            await db[name].create_indexes(models)
        counts[name] = await _insert_all(db.get_collection(name, codec_options=RAW), folder / f"{name}.bson")
    return counts


def _index_model(index: dict[str, Any]) -> IndexModel:
    keys = [(field, _direction(direction)) for field, direction in index["key"].items()]
    options = {option: index[option] for option in _INDEX_OPTIONS if option in index}
    return IndexModel(keys, name=index["name"], **options)


def _direction(value: Any) -> Any:
    """1 / -1 as integers (Extended JSON may give 1.0); text, hashed and other kinds unchanged."""
    return int(value) if isinstance(value, (int, float)) else value


async def _insert_all(collection: Any, path: Path) -> int:
    inserted = 0
    with _open(path, "rb") as source:
        batch: list[RawBSONDocument] = []
        for doc in decode_file_iter(source, codec_options=RAW):
            batch.append(doc)
            if len(batch) >= BATCH:
                inserted += await _insert_batch(collection, batch)
                batch = []
        if batch:
            inserted += await _insert_batch(collection, batch)
    return inserted


async def _insert_batch(collection: Any, batch: list[RawBSONDocument]) -> int:
    # documents already there are left out first: FerretDB 1.24 fails a whole unordered insert_many
    # whose every document is a duplicate (a panic in its reply), where MongoDB reports each one
    ids = [doc["_id"] for doc in batch]
    present = {doc["_id"] async for doc in collection.find({"_id": {"$in": ids}}, projection={"_id": 1})}
    batch = [doc for doc in batch if doc["_id"] not in present]
    if not batch:
        return 0
    try:
        await collection.insert_many(batch, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return len(batch) - len(errors)  # the others are there already
    return len(batch)  # (pymongo lists no inserted ids for raw documents)


# file system helpers: small, synchronous (a dump is an operator's command, not a request path)


def _make_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)


def _open(path: Path, mode: str) -> BinaryIO:
    """A dump file; a collection dumped without documents may have none (mongodump writes an empty one)."""
    if mode == "rb" and not path.is_file():
        return io.BytesIO()
    return path.open(mode)  # type: ignore[return-value]


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _metadata_of(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    """Collection name and metadata of every ``*.metadata.json`` in a dump folder."""
    return [
        (path.name.removesuffix(".metadata.json"), loads(path.read_text(encoding="utf-8")))
        for path in sorted(folder.glob("*.metadata.json"))
    ]
