"""Dead-letter queues: list what is in ``<topic>.dlq`` and replay it to the original topic once fixed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.broker import DLQ_HEADER_PREFIX, kafka_client_options
from shared.settings import BaseServiceSettings
from shared.topics import DLQ_SUFFIX, dlq_of

REPLAY_GROUP = "lienthong.dlq-replayer"


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered record: where it sat, why it failed, and its CloudEvents id."""

    partition: int
    offset: int
    key: str | None
    event_id: str | None
    error: str
    error_type: str
    original_topic: str
    headers: dict[str, str] = field(repr=False)
    value: bytes = field(repr=False)


def _decode_headers(raw: Any) -> dict[str, str]:
    return {k: v.decode(errors="replace") if isinstance(v, bytes) else str(v) for k, v in raw or ()}


def _to_dead_letter(record: Any, dlq_topic: str) -> DeadLetter:
    headers = _decode_headers(record.headers)
    return DeadLetter(
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode(errors="replace") if record.key else None,
        event_id=headers.get("ce_id"),
        error=headers.get(f"{DLQ_HEADER_PREFIX}error", ""),
        error_type=headers.get(f"{DLQ_HEADER_PREFIX}error-type", ""),
        original_topic=headers.get(f"{DLQ_HEADER_PREFIX}original-topic", dlq_topic.removesuffix(DLQ_SUFFIX)),
        headers=headers,
        value=record.value or b"",
    )


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """Partitions of ``topic`` from fresh cluster metadata (empty when the topic does not exist)."""
    cluster = await consumer._client.fetch_all_metadata()
    return [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]


async def _drain(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> list[Any]:
    """Read every record up to the end offsets seen at the start (new arrivals wait for the next run)."""
    end = await consumer.end_offsets(partitions)
    records: list[Any] = []
    while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
        batch = await consumer.getmany(timeout_ms=1000)
        for tp, items in batch.items():
            records.extend(r for r in items if r.offset < end[tp])
    return records


async def list_dead_letters(settings: BaseServiceSettings, topic: str) -> list[DeadLetter]:
    """Everything currently in the DLQ of ``topic`` (read-only: no offsets are committed)."""
    dlq = settings.topic(dlq_of(topic))
    consumer = AIOKafkaConsumer(**kafka_client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _partitions(consumer, dlq)
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        return [_to_dead_letter(r, dlq) for r in await _drain(consumer, partitions)]
    finally:
        await consumer.stop()


async def replay_dead_letters(settings: BaseServiceSettings, topic: str) -> list[DeadLetter]:
    """Re-publish not-yet-replayed DLQ records of ``topic`` to their original topic, each exactly once.

    Progress is the committed offset of the replayer's consumer group, committed after each record
    is acknowledged by the broker; the original ``ce_id`` is kept so consumers still deduplicate.
    """
    dlq = settings.topic(dlq_of(topic))
    consumer = AIOKafkaConsumer(
        dlq,
        **kafka_client_options(settings),
        group_id=f"{settings.kafka_topic_prefix}{REPLAY_GROUP}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(**kafka_client_options(settings), enable_idempotence=True, acks="all")
    await consumer.start()
    await producer.start()
    replayed: list[DeadLetter] = []
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
        partitions = sorted(consumer.assignment(), key=lambda tp: tp.partition)
        for record in await _drain(consumer, partitions):
            letter = _to_dead_letter(record, dlq)
            headers = [(k, v.encode()) for k, v in letter.headers.items() if not k.startswith(DLQ_HEADER_PREFIX)]
            await producer.send_and_wait(letter.original_topic, letter.value, key=record.key, headers=headers)
            await consumer.commit({TopicPartition(record.topic, record.partition): record.offset + 1})
            replayed.append(letter)
    finally:
        await producer.stop()
        await consumer.stop()
    return replayed
