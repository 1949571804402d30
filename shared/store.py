"""MongoDB (motor) client factory: the one place clients are created."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from pymongo import ReturnDocument

from shared.locks import document_lock
from shared.settings import BaseServiceSettings


def make_mongo_client(settings: BaseServiceSettings, **overrides: Any) -> AsyncIOMotorClient[Any]:
    """A motor client with short server-selection time-outs so readiness reflects reality quickly."""
    options: dict[str, Any] = {
        "serverSelectionTimeoutMS": 3000,
        "connectTimeoutMS": 3000,
        "socketTimeoutMS": 10000,
        "tz_aware": True,
        "appname": f"lienthong-{settings.service_name}",
        **overrides,
    }
    return AsyncIOMotorClient(settings.mongodb_url, **options)


def service_database(client: AsyncIOMotorClient[Any], settings: BaseServiceSettings) -> Any:
    """This service's own database (a service never reads another's); writes queued when configured."""
    database: AsyncIOMotorDatabase[Any] = client[settings.mongodb_database]
    return SerialisedDatabase(database) if settings.mongodb_serialise_writes else database


async def ping(client: AsyncIOMotorClient[Any]) -> bool:
    """True when the store answers a ping."""
    try:
        await client.admin.command("ping")
    except Exception:  # any failure means "not reachable" for readiness
        return False
    return True


async def update_document(
    collection: Any,
    doc_id: Any,
    update: dict[str, Any],
    *,
    guard: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any] | None:
    """Apply ``update`` to one document if ``guard(document)`` holds; the updated document, or None.

    Runs under the document's in-process lock (docs/adr/0002). The filter is ``{_id}`` alone and the
    write is ``findAndModify``: on FerretDB 1.24 that is the one update path that uses the ``_id``
    index (``update_one`` and any extra filter key scan the whole collection — measured 1 ms vs
    16 ms per update at 2,000 documents).
    """
    async with document_lock(collection, doc_id):
        if guard is not None:
            current = await collection.find_one({"_id": doc_id})
            if current is None or not guard(current):
                return None
        result: dict[str, Any] | None = await collection.find_one_and_update(
            {"_id": doc_id}, update, return_document=ReturnDocument.AFTER
        )
        return result


_WRITES = (
    "find_one_and_update",
    "find_one_and_replace",
    "find_one_and_delete",
    "update_one",
    "update_many",
    "replace_one",
    "delete_one",
    "delete_many",
    "bulk_write",
)


class SerialisedCollection:
    """A collection whose updates and deletes take one lock per database (reads and inserts pass straight through).

    FerretDB keeps each database in one SQLite file with a single writer; concurrent read-modify-write
    updates wait in SQLite's busy handler, which sleeps in steps up to 100 ms. Queuing them in the process
    keeps each at its few milliseconds (docs/adr/0002). Inserts are left concurrent: FerretDB
    takes them well (200 concurrent intake posts: 31/s with inserts queued, ~60/s without; docs/performance.md).
    """

    def __init__(self, collection: Any, lock: asyncio.Lock) -> None:
        self._collection = collection
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._collection, name)
        if name not in _WRITES:
            return attr

        async def serialised(*args: Any, **kwargs: Any) -> Any:
            async with self._lock:
                return await attr(*args, **kwargs)

        return serialised


class SerialisedDatabase:
    """A database handing out :class:`SerialisedCollection` objects that share one write lock."""

    def __init__(self, database: Any) -> None:
        self._database = database
        self._lock = asyncio.Lock()

    def __getitem__(self, name: str) -> SerialisedCollection:
        return SerialisedCollection(self._database[name], self._lock)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._database, name)
