"""Operational metrics read at scrape time: consumer lag, DLQ depth, outbox backlog, dependencies, process.

The figures an operator alerts on (deploy/prometheus/alerts.yml, runbook in docs/operations.md) are gauges
refreshed when ``/metrics`` is scraped, at most every ``min_interval`` seconds, each source bounded in time:
a slow broker or store makes the scrape show the last values and ``lienthong_metrics_refresh_errors_total``
grow, never hang the endpoint.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from shared.broker import kafka_client_options
from shared.dlq import REPLAY_GROUP
from shared.logging import get_logger
from shared.outbox import DUE_FIELD
from shared.settings import BaseServiceSettings

log = get_logger(__name__)

Refresh = Callable[[], Awaitable[None]]

#: pending documents read to find the oldest pending event (the count itself is exact)
OLDEST_SCAN_LIMIT = 1000


def counter(
    registry: CollectorRegistry, name: str, documentation: str, labels: list[str] | tuple[str, ...] = ()
) -> Counter:
    """A counter family on ``registry`` (``name`` without ``_total``), labelled by ``labels`` in order."""
    return Counter(name, documentation, labels, registry=registry)


def gauge(
    registry: CollectorRegistry, name: str, documentation: str, labels: list[str] | tuple[str, ...] = ()
) -> Gauge:
    """A gauge family on ``registry``, labelled by ``labels`` in order."""
    return Gauge(name, documentation, labels, registry=registry)


def register_process_metrics(registry: CollectorRegistry) -> None:
    """CPU, memory, open files, start time, GC and Python version (``process_*``, ``python_*``)."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)


class OperationalMetrics:
    """Gauges refreshed on scrape; sources register an async ``refresh`` each."""

    def __init__(self, registry: CollectorRegistry, *, min_interval: float = 10.0, timeout: float = 5.0) -> None:
        self.registry = registry
        self.min_interval = min_interval
        self.timeout = timeout
        self._sources: list[tuple[str, Refresh]] = []
        self._last = float("-inf")
        self._lock = asyncio.Lock()
        self.errors = counter(
            registry, "lienthong_metrics_refresh_errors", "Failed refreshes of a scrape-time metric source", ["source"]
        )

    def add(self, name: str, refresh: Refresh) -> None:
        """Refresh ``name`` before a scrape (at most every ``min_interval`` seconds)."""
        self._sources.append((name, refresh))
        self.errors.labels(source=name)

    async def refresh(self, *, force: bool = False) -> None:
        """Run every source concurrently, each within ``timeout``; failures are counted and logged."""
        async with self._lock:
            if not force and time.monotonic() - self._last < self.min_interval:
                return
            await asyncio.gather(*(self._one(name, source) for name, source in self._sources))
            self._last = time.monotonic()

    async def _one(self, name: str, refresh: Refresh) -> None:
        try:
            async with asyncio.timeout(self.timeout):  # not wait_for: it can lose a cancellation (shared/aio.py)
                await refresh()
        except Exception as exc:  # a metric source must never break the scrape
            self.errors.labels(source=name).inc()
            log.warning("metrics_refresh_failed", source=name, error_type=type(exc).__name__, error=str(exc)[:200])


class KafkaOffsets:
    """Consumer lag per group and partition, and DLQ depth, from the broker's offsets.

    Lag is read per consumer group from the group's committed offsets (not from this process's
    assignment), so it keeps growing in the metrics even when every consumer of the group has died.
    """

    def __init__(
        self,
        settings: BaseServiceSettings,
        registry: CollectorRegistry,
        *,
        subscriptions: Callable[[], Sequence[tuple[str, str]]],
        dead_letter_topics: Callable[[], Sequence[str]],
    ) -> None:
        self._settings = settings
        self._subscriptions = subscriptions
        self._dead_letter_topics = dead_letter_topics
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self.lag = gauge(
            registry,
            "lienthong_kafka_consumer_lag",
            "Records of a partition not yet committed by the consumer group",
            ["group", "topic", "partition"],
        )
        self.dlq_depth = gauge(
            registry, "lienthong_dlq_depth", "Dead letters retained in a DLQ and not yet replayed", ["topic"]
        )

    async def _clients(self) -> tuple[AIOKafkaConsumer, AIOKafkaAdminClient]:
        if self._consumer is None or self._admin is None:
            consumer = AIOKafkaConsumer(**kafka_client_options(self._settings), enable_auto_commit=False)
            admin = AIOKafkaAdminClient(**kafka_client_options(self._settings))
            await consumer.start()
            try:
                await admin.start()
            except Exception:
                await consumer.stop()
                raise
            self._consumer, self._admin = consumer, admin
        return self._consumer, self._admin

    async def close(self) -> None:
        """Stop the clients (service shutdown)."""
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            await self._admin.close()
        self._consumer = self._admin = None

    async def _partitions(self, consumer: AIOKafkaConsumer, topics: set[str]) -> list[TopicPartition]:
        cluster = await consumer._client.fetch_all_metadata()
        return [TopicPartition(t, p) for t in sorted(topics) for p in sorted(cluster.partitions_for_topic(t) or ())]

    async def _committed(self, admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, int]:
        offsets = await admin.list_consumer_group_offsets(group)
        return {tp: meta.offset for tp, meta in offsets.items()}

    async def refresh(self) -> None:
        """Read end, beginning and committed offsets; set lag and DLQ depth."""
        try:
            await self._refresh()
        except Exception:
            await self.close()  # a broken connection is rebuilt on the next scrape
            raise

    async def _refresh(self) -> None:
        consumer, admin = await self._clients()
        subscriptions = list(self._subscriptions())
        dlqs = set(self._dead_letter_topics())
        partitions = await self._partitions(consumer, {t for t, _ in subscriptions} | dlqs)
        if not partitions:
            return
        end = await consumer.end_offsets(partitions)
        beginning = await consumer.beginning_offsets(partitions)
        lag: dict[tuple[str, str, int], int] = {}
        for topic, group in subscriptions:
            committed = await self._committed(admin, group)
            for tp in (p for p in partitions if p.topic == topic):
                done = committed.get(tp, -1)
                lag[(group, topic, tp.partition)] = max(0, end[tp] - (done if done >= 0 else beginning[tp]))
        replayed = await self._committed(admin, f"{self._settings.kafka_topic_prefix}{REPLAY_GROUP}") if dlqs else {}
        depth: dict[str, int] = dict.fromkeys(dlqs, 0)
        for tp in (p for p in partitions if p.topic in dlqs):
            start = max(beginning[tp], replayed.get(tp, -1))
            depth[tp.topic] += max(0, end[tp] - start)
        self.lag.clear()
        for (group, topic, partition), value in lag.items():
            self.lag.labels(group=group, topic=topic, partition=str(partition)).set(value)
        for topic, value in depth.items():
            self.dlq_depth.labels(topic=topic).set(value)


class OutboxBacklog:
    """Documents with unpublished outbox events, and the age of the oldest such event, per collection."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._collections: list[Any] = []
        self.pending = gauge(
            registry,
            "lienthong_outbox_pending_documents",
            "Documents whose outbox holds events not yet published",
            ["collection"],
        )
        self.oldest = gauge(
            registry,
            "lienthong_outbox_oldest_pending_seconds",
            "Age of the oldest unpublished outbox event (0 when none)",
            ["collection"],
        )

    def watch(self, collection: Any) -> None:
        """Report on ``collection`` (an outbox-carrying collection of this service)."""
        self._collections.append(collection)
        self.pending.labels(collection=collection.name)
        self.oldest.labels(collection=collection.name)

    async def refresh(self) -> None:
        """Count pending documents and find the oldest pending event among the first ones."""
        for collection in self._collections:
            query = {DUE_FIELD: True}  # an index look-up; `outbox_pending > 0` is a scan on FerretDB (outbox.py)
            count = await collection.count_documents(query)
            oldest_ns: int | None = None
            if count:
                docs = await collection.find(query, {"outbox": 1}).limit(OLDEST_SCAN_LIMIT).to_list(OLDEST_SCAN_LIMIT)
                seqs = [e.get("seq", 0) for d in docs for e in (d.get("outbox") or {}).values() if e.get("seq")]
                oldest_ns = min(seqs) if seqs else None
            self.pending.labels(collection=collection.name).set(count)
            age = max(0.0, time.time() - oldest_ns / 1e9) if oldest_ns else 0.0
            self.oldest.labels(collection=collection.name).set(age)


class Dependencies:
    """``lienthong_dependency_up{dependency}``: 1 when Kafka / the store answered the last check."""

    def __init__(self, registry: CollectorRegistry, checks: dict[str, Callable[[], Awaitable[bool]]]) -> None:
        self._checks = checks
        self.up = gauge(
            registry, "lienthong_dependency_up", "1 when the dependency answered its readiness check", ["dependency"]
        )
        for name in checks:
            self.up.labels(dependency=name).set(0)

    async def refresh(self) -> None:
        """Run each readiness check."""
        for name, check in self._checks.items():
            self.up.labels(dependency=name).set(1 if await check() else 0)
