"""What intake's API key cache saves per request, on the real store (a timing script, never a test).

Compares ``handlers.authenticate`` without the cache (look-up of the active key by the hash of its secret, then the
office resolved from reference data) and with it (one read by primary key: was the key revoked since?), with
1,000 keys in the collection, warm-up excluded, the two measured in alternating rounds so that drift in the
machine's load hits both alike.

    MONGODB_URL=mongodb://127.0.0.1:27017 .venv/bin/python -m bench.api_key_cache [--rounds 10] [--per-round 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.intake import handlers
from services.intake.adapters.key_cache import TtlKeyCache
from services.intake.adapters.repositories import MongoApiKeys
from services.intake.domain.office import office_of
from services.intake.settings import IntakeSettings
from shared.store import make_mongo_client

RESULTS = Path(__file__).parent / "results"


async def _timed(n: int, call: Any) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


async def measure(rounds: int, per_round: int, keys_in_store: int) -> dict[str, Any]:
    """Uncached vs cached key checks against a database of their own (dropped afterwards)."""
    settings = IntakeSettings()
    client = make_mongo_client(settings)
    name = f"bench_keys_{uuid.uuid4().hex[:8]}"
    try:
        keys = MongoApiKeys(client[name])
        await keys.ensure_indexes()
        now = datetime.now(UTC)
        secrets = [(await handlers.create_api_key("00070.TTHCC", keys=keys, now=now))[1] for _ in range(keys_in_store)]
        secret = secrets[len(secrets) // 2]
        uncached, cached = TtlKeyCache(0), TtlKeyCache(3600)
        assert await handlers.authenticate(secret, keys=keys, cache=cached) is not None  # warms the cache

        async def without() -> None:
            await handlers.authenticate(secret, keys=keys, cache=uncached)

        async def with_cache() -> None:
            await handlers.authenticate(secret, keys=keys, cache=cached)

        await _timed(per_round, without)  # warm-up of connections and FerretDB's plans, not counted
        await _timed(per_round, with_cache)
        a: list[float] = []
        b: list[float] = []
        for _ in range(rounds):
            a += await _timed(per_round, without)
            b += await _timed(per_round, with_cache)
        start = time.perf_counter()
        for _ in range(10_000):
            office_of("00070.TTHCC")
        office_us = (time.perf_counter() - start) / 10_000 * 1e6
    finally:
        await client.drop_database(name)
        client.close()
    before, after = _summary(a), _summary(b)
    return {
        "what": "intake API key check per request: without vs with the verified-key cache",
        "store": settings.mongodb_url.split("@")[-1],
        "keys_in_store": keys_in_store,
        "samples_each": len(a),
        "without_cache": before,
        "with_cache": after,
        "saved_median_ms": round(before["median_ms"] - after["median_ms"], 3),
        "saved_share_of_check": round(1 - after["median_ms"] / before["median_ms"], 3),
        "office_of_us": round(office_us, 2),
    }


def main() -> None:
    """Measure and print; write bench/results/<time>-api-key-cache.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--keys", type=int, default=1000)
    args = parser.parse_args()
    result = asyncio.run(measure(args.rounds, args.per_round, args.keys))
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M")
    (RESULTS / f"{stamp}-api-key-cache.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
