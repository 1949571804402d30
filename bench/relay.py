"""Pipeline baseline: a raw aiokafka relay with the same number of hops and one store update per hop.

Messages of the same size as a dossier event go topic 0 → consumer 1 (one ``update_one`` upsert) → topic 1 →
consumer 2 (update) → topic 2 → consumer 3 (update) → done. Same broker, same store, idempotent acks=all
producers, offsets committed after each batch: the plumbing without any of LienThong's code.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from motor.motor_asyncio import AsyncIOMotorClient

PAYLOAD = "x" * 900  # about the size of a dossier.received.v1 value


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))], 1)


async def _relay(
    kafka: str, mongo: str, *, n: int, hops: int, partitions: int, on_progress: Callable[[int], None] | None
) -> dict[str, Any]:
    run = f"relay{uuid.uuid4().hex[:6]}"
    topics = [f"{run}.h{i}" for i in range(hops + 1)]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics])
    finally:
        await admin.close()
    client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(mongo)
    db = client[f"bench_{run}"]
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=True, acks="all")
    await producer.start()
    arrivals: dict[str, float] = {}
    done = asyncio.Event()

    async def hop(i: int) -> None:
        consumer = AIOKafkaConsumer(
            topics[i],
            bootstrap_servers=kafka,
            group_id=f"{run}.g{i}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        coll = db[f"hop{i}"]
        try:
            while not done.is_set():
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for r in records:
                        msg = json.loads(r.value)
                        await coll.update_one({"_id": msg["id"]}, {"$set": {"hop": i}}, upsert=True)
                        await producer.send_and_wait(topics[i + 1], r.value, key=r.key)
                if batch:
                    await consumer.commit()
        finally:
            await consumer.stop()

    async def sink() -> None:
        consumer = AIOKafkaConsumer(
            topics[hops], bootstrap_servers=kafka, group_id=f"{run}.sink", auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            while len(arrivals) < n:
                batch = await consumer.getmany(timeout_ms=200)
                now = time.time()
                for records in batch.values():
                    for r in records:
                        arrivals[json.loads(r.value)["id"]] = now - json.loads(r.value)["sent"]
                if on_progress:
                    on_progress(len(arrivals))
        finally:
            done.set()
            await consumer.stop()

    workers = [asyncio.create_task(hop(i)) for i in range(hops)]
    sinking = asyncio.create_task(sink())
    await asyncio.sleep(3)  # group joins
    start = time.time()
    for _ in range(n):
        value = json.dumps({"id": str(uuid.uuid4()), "sent": time.time(), "data": PAYLOAD}).encode()
        await producer.send(topics[0], value, key=value[8:44])
    await producer.flush()
    await sinking
    elapsed = time.time() - start
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    await producer.stop()
    await client.drop_database(f"bench_{run}")
    client.close()
    lat = [s * 1000 for s in arrivals.values()]
    return {
        "messages": n,
        "hops": hops,
        "seconds": round(elapsed, 2),
        "throughput_mps": round(n / elapsed, 1),
        "p50_ms": _pct(lat, 50),
        "p95_ms": _pct(lat, 95),
        "p99_ms": _pct(lat, 99),
    }


def run_relay(
    kafka: str, mongo: str, *, n: int, hops: int = 3, partitions: int = 3, on_progress: Callable[[int], None] | None
) -> dict[str, Any]:
    """Run the raw relay once and return its throughput and latency percentiles."""
    return asyncio.run(_relay(kafka, mongo, n=n, hops=hops, partitions=partitions, on_progress=on_progress))
