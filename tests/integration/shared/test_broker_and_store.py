"""Shared plumbing against the real Kafka broker and the real Mongo-wire store."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry import trace
from prometheus_client import CollectorRegistry
from pymongo.errors import DuplicateKeyError

from shared.aggregate import EventRecorder
from shared.broker import EventPublisher, ensure_topics, make_broker, subscribe
from shared.dlq import list_dead_letters, replay_dead_letters
from shared.envelope import CloudEvent
from shared.outbox import DUE_FIELD, PENDING_FIELD, OutboxRelay, new_document_outbox, outbox_entry, with_outbox
from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client, update_document
from shared.telemetry import setup_tracing
from shared.topics import Topics
from shared.unit_of_work import MongoAggregates
from tests.support.commands import Commands
from tests.support.kafka import collect, drain, produce_event, produce_raw
from tests.support.service import drop_databases
from tests.support.waiting import eventually


@pytest.fixture
async def settings(base_settings: dict[str, str], isolation: str) -> Any:
    """Settings isolated by topic prefix and database, with the topics created."""
    s = BaseServiceSettings(**base_settings, service_name="sharedtest", mongodb_database=f"{isolation}_shared")
    await ensure_topics(s)
    yield s
    await drop_databases(s.mongodb_url, s.mongodb_database)


async def test_envelope_round_trip_through_the_broker(settings: BaseServiceSettings) -> None:
    """Produced with the shared publisher, consumed by another group: every ce_* header and traceparent parse."""
    setup_tracing(service="sharedtest", otlp_endpoint=None)
    broker = make_broker(settings, registry=CollectorRegistry())
    await broker.start()
    try:
        publisher = EventPublisher(broker, settings)
        event = publisher.new_event(Topics.DOSSIER_RECEIVED, subject="00004.TTHCC-261122-0001", data={"n": "Hồ sơ"})
        with trace.get_tracer("test").start_as_current_span("post_dossier") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            await publisher.publish(Topics.DOSSIER_RECEIVED, event.model_copy(update={}), key="dossier-1")
    finally:
        await broker.stop()
    (record,) = await collect(
        settings.kafka_bootstrap_servers,
        settings.topic(Topics.DOSSIER_RECEIVED),
        count=1,
        group_id=f"{settings.kafka_topic_prefix}other-group",
    )
    headers = {k: v.decode() for k, v in record.headers}
    for name in ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "traceparent"):
        assert headers.get(name), f"header {name} missing"
    assert headers["content-type"] == "application/json"
    assert record.key == b"dossier-1"
    parsed = CloudEvent.from_kafka(record.headers, record.value)
    assert parsed.id == event.id and parsed.type == "vn.lienthong.dossier.received.v1"
    assert parsed.source == "/lienthong/sharedtest" and parsed.data == {"n": "Hồ sơ"}
    assert parsed.traceparent is not None and parsed.traceparent.split("-")[1] == trace_id


async def test_publisher_replaces_a_dead_idempotent_producer(settings: BaseServiceSettings) -> None:
    """After OutOfOrderSequenceNumber aiokafka's producer fails every send; the publisher must start a new one.

    A Kafka restart caused exactly this in the fault test: one service's outbox could no longer publish.
    The producer is poisoned the way aiokafka's own sender does it (``fail_all`` on the accumulator).
    """
    from aiokafka.errors import OutOfOrderSequenceNumber

    broker = make_broker(settings, registry=CollectorRegistry())
    await broker.start()
    try:
        publisher = EventPublisher(broker, settings)
        first = publisher.new_event(Topics.DOSSIER_RECEIVED, subject="a", data={"n": 1})
        await publisher.publish(Topics.DOSSIER_RECEIVED, first, key="k")
        dead = broker.config.producer._producer.producer  # type: ignore[attr-defined]
        dead._message_accumulator.fail_all(OutOfOrderSequenceNumber())
        with pytest.raises(OutOfOrderSequenceNumber):
            await broker.publish(b"x", topic=settings.topic(Topics.DOSSIER_RECEIVED), key=b"k")
        second = publisher.new_event(Topics.DOSSIER_RECEIVED, subject="b", data={"n": 2})
        await publisher.publish(Topics.DOSSIER_RECEIVED, second, key="k")
        assert broker.config.producer._producer.producer is not dead  # type: ignore[attr-defined]
    finally:
        await broker.stop()
    records = await collect(
        settings.kafka_bootstrap_servers, settings.topic(Topics.DOSSIER_RECEIVED), count=2, group_id="g-reset"
    )
    assert [CloudEvent.from_kafka(r.headers, r.value).id for r in records] == [first.id, second.id]


async def test_poison_message_goes_to_dlq_and_next_message_flows(settings: BaseServiceSettings) -> None:
    """Poison lands in the DLQ with its error, the next record is still handled; replay re-drives it once."""
    handled: list[CloudEvent] = []

    async def handler(event: CloudEvent) -> None:
        handled.append(event)

    broker = make_broker(settings, registry=CollectorRegistry())
    subscribe(broker, settings, topic=Topics.DOSSIER_ROUTED, group="poison-test", handler=handler)
    await broker.start()
    topic = settings.topic(Topics.DOSSIER_ROUTED)
    good = CloudEvent(source="/lienthong/test", type="vn.lienthong.dossier.routed.v1", subject="C", data={"ok": 1})
    try:
        await produce_raw(settings.kafka_bootstrap_servers, topic, b"\x00not an event", key=b"d1")
        # says JSON, is not: must not stop in the framework's decoder (that would block the partition)
        await produce_raw(
            settings.kafka_bootstrap_servers,
            topic,
            b"{not json",
            key=b"d1",
            headers={"content-type": "application/json"},
        )
        await produce_event(settings.kafka_bootstrap_servers, topic, good, key="d1")
        await eventually(lambda: _result(handled), until=lambda h: len(h) == 1)
    finally:
        await broker.stop()
    assert handled[0].id == good.id
    letters = await list_dead_letters(settings, Topics.DOSSIER_ROUTED)
    assert len(letters) == 2
    assert all("ce_specversion" in letter.error and letter.error_type == "EnvelopeError" for letter in letters)
    assert letters[0].original_topic == topic and letters[0].value == b"\x00not an event"
    assert letters[1].value == b"{not json"

    replayed = await replay_dead_letters(settings, Topics.DOSSIER_ROUTED)
    assert len(replayed) == 2
    assert await replay_dead_letters(settings, Topics.DOSSIER_ROUTED) == [], "a second replay must not re-drive"
    records = await collect(settings.kafka_bootstrap_servers, topic, count=5)
    assert [r.value for r in records[-2:]] == [b"\x00not an event", b"{not json"]
    assert not any(k.startswith("x-dlq-") for k, _ in records[-1].headers)


async def _result(value: Any) -> Any:
    return value


async def test_store_crud_and_unique_index(settings: BaseServiceSettings) -> None:
    """Insert, read, update and delete through motor; a unique index refuses a duplicate."""
    client = make_mongo_client(settings)
    try:
        coll = client[settings.mongodb_database]["things"]
        await coll.create_index("code", unique=True)
        await coll.insert_one({"_id": "a", "code": "X-1", "n": 1})
        assert (await coll.find_one({"_id": "a"}))["code"] == "X-1"
        updated = await coll.find_one_and_update({"_id": "a"}, {"$inc": {"n": 1}}, return_document=True)
        assert updated["n"] == 2
        with pytest.raises(DuplicateKeyError):
            await coll.insert_one({"_id": "b", "code": "X-1"})
        await coll.delete_one({"_id": "a"})
        assert await coll.count_documents({}) == 0
    finally:
        client.close()


async def test_outbox_relay_publishes_in_order_and_clears_entries(settings: BaseServiceSettings) -> None:
    """Events written with the document are published by the relay in write order and removed from the outbox."""
    client = make_mongo_client(settings)
    broker = make_broker(settings, registry=CollectorRegistry())
    await broker.start()
    publisher = EventPublisher(broker, settings)
    coll = client[settings.mongodb_database]["aggregates"]
    relay = OutboxRelay(coll, publisher, poll_interval=0.1)
    await relay.ensure_indexes()
    dossier = str(uuid.uuid4())
    first = publisher.new_event(Topics.DOSSIER_STATUS, subject="C", data={"step": 1})
    second = publisher.new_event(Topics.DOSSIER_STATUS, subject="C", data={"step": 2})
    await coll.insert_one(
        {"_id": dossier, **new_document_outbox(outbox_entry(Topics.DOSSIER_STATUS, first, key=dossier))}
    )
    await coll.update_one(
        {"_id": dossier}, with_outbox({"$set": {"s": 2}}, outbox_entry(Topics.DOSSIER_STATUS, second, key=dossier))
    )
    relay.start()
    try:
        records = await collect(settings.kafka_bootstrap_servers, settings.topic(Topics.DOSSIER_STATUS), count=2)
        assert [CloudEvent.from_kafka(r.headers, r.value).data["step"] for r in records] == [1, 2]

        async def doc() -> Any:
            return await coll.find_one({"_id": dossier})

        final = await eventually(doc, until=lambda d: d[PENDING_FIELD] == 0)
        assert final["outbox"] == {}
    finally:
        await relay.stop()
        await broker.stop()
        client.close()


@dataclass
class Step(EventRecorder):
    """An aggregate recording one status event per step."""

    id: str
    n: int = 0

    def step(self) -> None:
        self.n += 1
        self.record(Topics.DOSSIER_STATUS, {"n": self.n}, key=self.id, subject=self.id)


class StepMapper:
    def to_document(self, aggregate: Step) -> dict[str, Any]:
        return {"_id": aggregate.id, "n": aggregate.n}

    def from_document(self, document: Any) -> Step:
        return Step(document["_id"], document["n"])


async def test_two_batch_relays_publish_every_write_in_order_and_clear_the_outboxes(
    settings: BaseServiceSettings,
) -> None:
    """Two relays on one collection, fed the documents just written: each key's events arrive in write order
    (duplicates allowed) and every outbox ends empty, even when a relay is handed a version that is stale."""
    client = make_mongo_client(settings)
    broker = make_broker(settings, registry=CollectorRegistry())
    await broker.start()
    publisher = EventPublisher(broker, settings)
    coll = client[settings.mongodb_database]["steps"]
    relays = [OutboxRelay(coll, publisher, poll_interval=0.1, batch_size=7) for _ in range(2)]
    await relays[0].ensure_indexes()
    for relay in relays:
        relay.start()
    repos = [MongoAggregates(coll, StepMapper(), source="/lienthong/test", relay=relay) for relay in relays]
    ids = [str(uuid.uuid4()) for _ in range(12)]
    steps = 4
    try:
        for n, doc_id in enumerate(ids):
            await repos[n % 2].add(Step(doc_id))
        stale = {doc_id: await coll.find_one({"_id": doc_id}) for doc_id in ids[:3]}

        async def advance(doc_id: str) -> None:
            for n in range(steps):
                await repos[n % 2].change(doc_id, Step.step)  # alternate relays: both hold versions of it

        await asyncio.gather(*(advance(i) for i in ids))
        for doc_id, old in stale.items():  # an old version handed over late: its entries are long gone
            relays[0].kick(doc_id, document=old)

        async def pending() -> list[Any]:
            return await coll.find({PENDING_FIELD: {"$ne": 0}}).to_list(None)

        await eventually(pending, until=lambda docs: docs == [])  # all cleared, so all acknowledged by Kafka
        records = await drain(settings.kafka_bootstrap_servers, settings.topic(Topics.DOSSIER_STATUS))
        firsts: dict[str, list[int]] = {}
        for record in records:
            event = CloudEvent.from_kafka(record.headers, record.value)
            seen = firsts.setdefault(str(event.subject), [])
            if event.data["n"] not in seen:
                seen.append(event.data["n"])
        assert firsts == {i: list(range(1, steps + 1)) for i in ids}
        assert all(doc["outbox"] == {} for doc in await coll.find({}).to_list(None))
    finally:
        for relay in relays:
            await relay.stop()
        await broker.stop()
        client.close()


async def test_a_snapshot_follows_the_relays_clearing(settings: BaseServiceSettings) -> None:
    """The relay's clearing is a write (a new revision): a repository keeping snapshots learns it, so the next
    change of a document whose events were just published is still one write, with no read before it."""
    commands = Commands()
    client = make_mongo_client(settings, event_listeners=[commands])
    broker = make_broker(settings, registry=CollectorRegistry())
    await broker.start()
    publisher = EventPublisher(broker, settings)
    coll = client[settings.mongodb_database]["snapshot_steps"]
    relay = OutboxRelay(coll, publisher, poll_interval=0.1)
    repo = MongoAggregates(coll, StepMapper(), source="/lienthong/test", relay=relay, snapshots=10)
    doc_id = str(uuid.uuid4())
    relay.start()
    try:
        assert await repo.add(Step(doc_id))
        await repo.change(doc_id, Step.step)

        async def doc() -> Any:
            return await coll.find_one({"_id": doc_id})

        await eventually(doc, until=lambda d: d[PENDING_FIELD] == 0)  # published and cleared by the relay
        commands.names.clear()
        outcome = await repo.change(doc_id, Step.step)
        spent = list(commands.names)  # before the relay (woken by this change) sends anything
        assert outcome.applied
        assert spent == ["findAndModify"], spent  # no read and no refused write: the snapshot is current
        await eventually(doc, until=lambda d: d[PENDING_FIELD] == 0 and d["n"] == 2)
    finally:
        await relay.stop()
        await broker.stop()
        client.close()


async def test_the_sweep_finds_pending_documents_by_the_due_flag_and_older_ones_once(
    settings: BaseServiceSettings,
) -> None:
    """A document a writer left pending (no kick: a crash) is found by the sweep through ``outbox_due``; one
    written before that flag existed (count only) by the first sweep of the process; both end cleared."""
    client = make_mongo_client(settings)
    broker = make_broker(settings, registry=CollectorRegistry())
    await broker.start()
    publisher = EventPublisher(broker, settings)
    coll = client[settings.mongodb_database]["swept"]
    relay = OutboxRelay(coll, publisher)
    await relay.ensure_indexes()
    flagged, older = str(uuid.uuid4()), str(uuid.uuid4())
    events = {
        doc_id: publisher.new_event(Topics.DOSSIER_STATUS, subject=doc_id, data={"doc": doc_id})
        for doc_id in (flagged, older)
    }
    await coll.insert_one(
        {"_id": flagged, **new_document_outbox(outbox_entry(Topics.DOSSIER_STATUS, events[flagged], key=flagged))}
    )
    legacy = new_document_outbox(outbox_entry(Topics.DOSSIER_STATUS, events[older], key=older))
    del legacy[DUE_FIELD]
    await coll.insert_one({"_id": older, **legacy})
    try:
        assert (await coll.find_one({"_id": flagged}))[DUE_FIELD] is True
        assert await relay.publish_pending() == 2  # the first sweep also asks the count
        docs = {d["_id"]: d async for d in coll.find({})}
        assert all(d[PENDING_FIELD] == 0 and d[DUE_FIELD] is False and d["outbox"] == {} for d in docs.values())
        again = with_outbox({}, outbox_entry(Topics.DOSSIER_STATUS, events[older], key=older))
        assert await update_document(coll, older, again) is not None  # a writer's compare-and-set
        assert await relay.publish_pending() == 1  # later sweeps: by the flag
        records = await collect(settings.kafka_bootstrap_servers, settings.topic(Topics.DOSSIER_STATUS), count=3)
        assert sorted(CloudEvent.from_kafka(r.headers, r.value).data["doc"] for r in records) == sorted(
            [flagged, older, older]
        )
    finally:
        await broker.stop()
        client.close()


async def test_topics_are_created_with_explicit_retention(settings: BaseServiceSettings) -> None:
    """ensure_topics sets retention.ms on event topics and a longer one on DLQs (not the broker's 7-day default)."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        topic, dlq = settings.topic(Topics.DOSSIER_RECEIVED), settings.topic(f"{Topics.DOSSIER_RECEIVED}.dlq")
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic), ConfigResource(ConfigResourceType.TOPIC, dlq)]
        )
    finally:
        await admin.close()
    found: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.resources:
            found[resource[3]] = {entry[0]: entry[1] for entry in resource[4]}
    assert found[topic]["retention.ms"] == str(settings.kafka_topic_retention_ms)
    assert found[dlq]["retention.ms"] == str(settings.kafka_dlq_retention_ms)
    assert int(found[dlq]["retention.ms"]) > int(found[topic]["retention.ms"])
