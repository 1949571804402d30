"""Read and write real Kafka topics from tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.envelope import CloudEvent
from shared.settings import BaseServiceSettings


async def collect(
    bootstrap: str, topic: str, *, count: int, timeout: float = 20.0, group_id: str | None = None
) -> list[Any]:
    """Consume ``topic`` from the beginning until ``count`` records arrived (or fail after ``timeout``)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=group_id is not None,
    )
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for items in batch.values():
                records.extend(items)
    finally:
        await consumer.stop()
    if len(records) < count:
        raise AssertionError(f"expected {count} records on {topic}, got {len(records)} within {timeout}s")
    return records


async def drain(bootstrap: str, topic: str, *, idle: float = 3.0, timeout: float = 60.0) -> list[Any]:
    """Every record of ``topic`` from the beginning, read until none came for ``idle`` seconds."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    try:
        while time.monotonic() - quiet_since < idle and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for items in batch.values():
                records.extend(items)
                quiet_since = time.monotonic()
    finally:
        await consumer.stop()
    return records


async def collect_events(bootstrap: str, topic: str, *, count: int, timeout: float = 20.0) -> list[CloudEvent]:
    """Like :func:`collect`, parsed as CloudEvents."""
    return [
        CloudEvent.from_kafka(r.headers, r.value) for r in await collect(bootstrap, topic, count=count, timeout=timeout)
    ]


async def produce_raw(
    bootstrap: str,
    topic: str,
    value: bytes,
    *,
    key: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Produce one raw record (for poison messages and hand-made events)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, value, key=key, headers=[(k, v.encode()) for k, v in (headers or {}).items()]
        )
    finally:
        await producer.stop()


async def produce_event(bootstrap: str, topic: str, event: CloudEvent, *, key: str) -> None:
    """Produce a CloudEvent in binary mode, as a service would."""
    await produce_raw(bootstrap, topic, event.value(), key=key.encode(), headers=event.headers())


async def publish(
    settings: BaseServiceSettings, topic: str, data: Any, *, source: str, event: CloudEvent | None = None
) -> CloudEvent:
    """Produce the payload ``data`` of a dossier on ``topic`` as ``/lienthong/<source>`` would (or ``event`` again)."""
    event = event or CloudEvent(
        source=f"/lienthong/{source}",
        type=f"vn.lienthong.{topic}",
        subject=data.dossier_code,
        data=data.model_dump(mode="json"),
    )
    await produce_event(settings.kafka_bootstrap_servers, settings.topic(topic), event, key=data.dossier_id)
    return event


def run(coro: Any) -> Any:
    """Run a coroutine from sync code."""
    return asyncio.run(coro)
