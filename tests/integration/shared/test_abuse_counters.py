"""Abuse counters in the real store: two instances count into one window, exactly, even concurrently."""

from __future__ import annotations

import asyncio
from typing import Any

from limits import parse

from shared.abuse import WindowCounters
from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client
from tests.support.service import drop_databases


async def test_two_instances_share_one_exact_count(base_settings: dict[str, Any], isolation: str) -> None:
    """60 concurrent events split over two instances count 60 (a $inc counter document lost most on FerretDB);
    past the limit nothing more is stored; a later window starts from zero."""
    settings = BaseServiceSettings(**base_settings, mongodb_database=f"{isolation}_abuse")
    client = make_mongo_client(settings)
    clock = [1_000_000.0]
    try:
        db = client[settings.mongodb_database]
        a, b = WindowCounters(db, clock=lambda: clock[0]), WindowCounters(db, clock=lambda: clock[0])
        await a.ensure_indexes()
        limit = parse("100/minute")
        counts = await asyncio.gather(*((a if i % 2 else b).count("track", "client-1", limit) for i in range(60)))
        assert max(n for n, _ in counts) == 60
        assert (await b.count("track", "client-1", limit, add=0))[0] == 60
        small = parse("3/minute")
        seen = [(await a.count("verify", "client-1", small))[0] for _ in range(6)]
        assert seen == [1, 2, 3, 4, 4, 4]  # nothing stored past limit + 1
        assert await db["abuse_counters"].count_documents({"k": {"$regex": "^verify"}}) == 4
        clock[0] += 60
        assert (await a.count("verify", "client-1", small))[0] == 1
    finally:
        client.close()
        await drop_databases(settings.mongodb_url, settings.mongodb_database)
