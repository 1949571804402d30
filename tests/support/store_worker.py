"""A second process racing the first on one store (tests/integration/shared/test_store_contract.py).

    python -m tests.support.store_worker URL DATABASE MODE N WORKER

Prints one JSON line: what this process achieved (values it saw, keys it inserted, claims it won).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient
from pymongo.errors import DuplicateKeyError

from shared.errors import WriteConflict
from shared.store import update_document


async def increment(collection: Any, n: int) -> list[int]:
    """``n`` concurrent increments of document "counter"; a client retries a conflict until applied."""

    async def one() -> int:
        while True:
            try:
                doc = await update_document(collection, "counter", {"$inc": {"n": 1}})
            except WriteConflict:
                continue
            assert doc is not None
            return int(doc["n"])

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def insert(collection: Any, n: int, worker: str) -> list[str]:
    """Insert documents "k0".."k{n-1}" concurrently; the keys this process got."""

    async def one(k: int) -> str | None:
        try:
            await collection.insert_one({"_id": f"k{k}", "by": worker})
        except DuplicateKeyError:
            return None
        return f"k{k}"

    return [key for key in await asyncio.gather(*(one(k) for k in range(n))) if key is not None]


async def claim(collection: Any, n: int, worker: str) -> int:
    """``n`` concurrent guarded claims of document "job"; how many of them this process won."""

    async def one(attempt: int) -> bool:
        while True:
            try:
                doc = await update_document(
                    collection,
                    "job",
                    {"$set": {"status": "claimed", "by": f"{worker}/{attempt}"}},
                    guard=lambda d: d["status"] == "new",
                )
            except WriteConflict:
                continue
            return doc is not None

    return sum(await asyncio.gather(*(one(a) for a in range(n))))


async def main(url: str, database: str, mode: str, n: int, worker: str) -> None:
    client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(url, tz_aware=True)
    try:
        collection = client[database][mode]
        result: Any
        if mode == "increment":
            result = await increment(collection, n)
        elif mode == "insert":
            result = await insert(collection, n, worker)
        else:
            result = await claim(collection, n, worker)
        print(json.dumps(result))
    finally:
        client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]))
