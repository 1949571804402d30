"""Kafka plumbing: broker factory, CloudEvents publisher, consumers with explicit ack policy and a DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import aiokafka
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import OutOfOrderSequenceNumber, ProducerFenced, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError

from shared.envelope import CloudEvent
from shared.errors import INFRASTRUCTURE_ERRORS, PERMANENT_ERRORS, PermanentError
from shared.logging import get_logger
from shared.pii import scrub
from shared.settings import BaseServiceSettings
from shared.topics import DLQ_SUFFIX, Topics, dlq_of, event_type_of

log = get_logger(__name__)

EventHandler = Callable[[CloudEvent], Awaitable[None]]

DLQ_HEADER_PREFIX = "x-dlq-"


_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def kafka_ssl_context(settings: BaseServiceSettings) -> ssl.SSLContext:
    """TLS context for the brokers: the given CA (else the system's), an optional client certificate."""
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    context.check_hostname = settings.kafka_ssl_check_hostname
    if settings.kafka_ssl_certfile and settings.kafka_ssl_keyfile:
        context.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile)
    return context


def kafka_security(settings: BaseServiceSettings) -> BaseSecurity | None:
    """FastStream security object for ``KAFKA_SECURITY_PROTOCOL`` (None = plaintext without SASL)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    use_ssl = protocol.endswith("SSL")
    context = kafka_ssl_context(settings) if use_ssl else None
    if protocol.startswith("SASL_"):
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
        return _SASL[settings.kafka_sasl_mechanism](
            settings.kafka_sasl_username or "", password, ssl_context=context, use_ssl=use_ssl
        )
    return BaseSecurity(ssl_context=context, use_ssl=True)


def kafka_client_options(settings: BaseServiceSettings) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (producer, consumer, admin): servers and security."""
    return {"bootstrap_servers": settings.kafka_bootstrap_servers, **parse_security(kafka_security(settings))}


def make_broker(settings: BaseServiceSettings, *, registry: CollectorRegistry) -> KafkaBroker:
    """A FastStream Kafka broker whose producer is idempotent with ``acks=all``, traced and metered."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=kafka_security(settings),
        client_id=f"lienthong-{settings.service_name}",
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=15_000,
        graceful_timeout=10.0,
        # topics are created by ensure_topics / `lienthong topics create` with the configured replication and
        # retention; FastStream's own creation would make replication-factor-1 topics
        allow_auto_create_topics=False,
        middlewares=[
            KafkaTelemetryMiddleware(),
            KafkaPrometheusMiddleware(registry=registry, app_name=f"lienthong_{settings.service_name}"),
        ],
        logger=None,
    )


#: errors after which aiokafka's sender task is dead and the producer will never send again
_FATAL_PRODUCER_ERRORS = (OutOfOrderSequenceNumber, ProducerFenced)

_RESET_LOCKS: dict[int, asyncio.Lock] = {}


def _producer_is_dead(broker: KafkaBroker) -> bool:
    """True when the broker's aiokafka producer lost its sender task (it fails every send from now on)."""
    real = getattr(broker.config.producer, "_producer", None)
    sender = getattr(getattr(real, "producer", None), "_sender", None)
    task = getattr(sender, "sender_task", None)
    return task is not None and task.done()


async def reset_producer(broker: KafkaBroker, failed: Any) -> bool:
    """Replace a dead idempotent producer with a new one (new producer id, fresh sequence numbers).

    After a broker restart aiokafka's idempotent producer can meet ``OutOfOrderSequenceNumber``;
    its sender task then ends and every later send fails with the same error. Only a new producer
    recovers. ``failed`` is the producer state that failed, so concurrent callers reset it once.
    """
    lock = _RESET_LOCKS.setdefault(id(broker), asyncio.Lock())
    fast = broker.config.producer
    async with lock:
        if getattr(fast, "_producer", None) is not failed:
            return True  # another publisher already replaced it
        log.warning("kafka_producer_reset")
        with contextlib.suppress(Exception):
            await fast.disconnect()  # type: ignore[attr-defined]
        config = broker.config.broker_config
        await fast.connect(  # type: ignore[attr-defined]
            aiokafka.AIOKafkaProducer(**broker._connection_kwargs),
            serializer=config.fd_config._serializer,
            codec=config.broker_codec,
        )
        return True


async def publish_raw(broker: KafkaBroker, message: Any, **options: Any) -> None:
    """``broker.publish`` that survives a dead producer: replace it once and send again.

    A resend may duplicate a message the dead producer did deliver; consumers dedupe by ``ce_id``.
    """
    state = getattr(broker.config.producer, "_producer", None)
    try:
        await broker.publish(message, **options)
    except Exception as exc:
        if not (isinstance(exc, _FATAL_PRODUCER_ERRORS) or _producer_is_dead(broker)):
            raise
        await reset_producer(broker, state)
        await broker.publish(message, **options)


def topic_configs(settings: BaseServiceSettings, *, dead_letters: bool, replication_factor: int) -> dict[str, str]:
    """Broker configs of a new topic: explicit retention (long for DLQs) and min ISR 2 when replicated 3+."""
    retention = settings.kafka_dlq_retention_ms if dead_letters else settings.kafka_topic_retention_ms
    return {
        "retention.ms": str(retention),
        "min.insync.replicas": "2" if replication_factor >= 3 else "1",
        "cleanup.policy": "delete",
    }


async def ensure_topics(
    settings: BaseServiceSettings, topics: Sequence[str] = Topics.ALL, *, replication_factor: int | None = None
) -> None:
    """Create ``topics`` and their DLQs (prefixed) if missing; existing topics are left as they are.

    Replication factor and retention come from the settings unless ``replication_factor`` is given.
    """
    factor = replication_factor if replication_factor is not None else settings.kafka_topic_replication_factor
    names = [settings.topic(t) for t in topics] + [settings.topic(dlq_of(t)) for t in topics]
    admin = AIOKafkaAdminClient(**kafka_client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            new = [
                NewTopic(
                    n,
                    num_partitions=1 if (dlq := n.endswith(DLQ_SUFFIX)) else settings.kafka_topic_partitions,
                    replication_factor=factor,
                    topic_configs=topic_configs(settings, dead_letters=dlq, replication_factor=factor),
                )
                for n in missing
            ]
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
    finally:
        await admin.close()


class EventPublisher:
    """Publishes CloudEvents keyed by dossier id; the stored trace context becomes the span's parent."""

    def __init__(self, broker: KafkaBroker, settings: BaseServiceSettings) -> None:
        self._broker = broker
        self._settings = settings
        self.source = f"/lienthong/{settings.service_name}"

    def new_event(self, topic: str, *, subject: str | None, data: dict[str, Any], **extra: Any) -> CloudEvent:
        """An event of this service for ``topic`` (id and time assigned here, by the producer)."""
        return CloudEvent(source=self.source, type=event_type_of(topic), subject=subject, data=data, **extra)

    async def publish(self, topic: str, event: CloudEvent, *, key: str) -> None:
        """Send one event and wait for the broker's acknowledgement (all in-sync replicas)."""
        token = otel_context.attach(propagate.extract(event.trace_carrier())) if event.traceparent else None
        try:
            await publish_raw(
                self._broker,
                event.value(),
                topic=self._settings.topic(topic),
                key=key.encode(),
                headers=event.headers(),
            )
        finally:
            if token is not None:
                otel_context.detach(token)

    def producer_state(self) -> Any:
        """The producer in use now: pass it to :meth:`recover` after a failed :meth:`enqueue` batch."""
        return getattr(self._broker.config.producer, "_producer", None)

    async def enqueue(self, topic: str, event: CloudEvent, *, key: str) -> asyncio.Future[Any]:
        """Hand one event to the producer without waiting: the future resolves on the broker's acknowledgement.

        Events enqueued one after another for one key reach its partition in that order (the idempotent
        producer's sequence numbers: a later batch is refused when an earlier one failed).
        """
        token = otel_context.attach(propagate.extract(event.trace_carrier())) if event.traceparent else None
        try:
            future: asyncio.Future[Any] = await self._broker.publish(
                event.value(),
                topic=self._settings.topic(topic),
                key=key.encode(),
                headers=event.headers(),
                no_confirm=True,
            )
            return future
        finally:
            if token is not None:
                otel_context.detach(token)

    async def recover(self, failed: Any, error: BaseException) -> None:
        """After ``error`` from an enqueued send: replace the producer if it died (``failed`` = its state then)."""
        if isinstance(error, _FATAL_PRODUCER_ERRORS) or _producer_is_dead(self._broker):
            await reset_producer(self._broker, failed)


_DLQ_COUNTERS: dict[int, Counter] = {}


def _dead_letter_counter(registry: CollectorRegistry) -> Counter:
    """One DLQ counter per metrics registry, shared by every consumer of a service."""
    if id(registry) not in _DLQ_COUNTERS:
        _DLQ_COUNTERS[id(registry)] = Counter(
            "lienthong_dead_letters", "Messages sent to a DLQ", ["topic"], registry=registry
        )
    return _DLQ_COUNTERS[id(registry)]


class DeadLetters:
    """Sends a message that cannot be processed to ``<topic>.dlq`` with the error attached."""

    def __init__(self, broker: KafkaBroker, *, group_id: str, registry: CollectorRegistry | None = None) -> None:
        self._broker = broker
        self._group_id = group_id
        self._counter = _dead_letter_counter(registry) if registry is not None else None

    async def send(self, record: Any, error: BaseException, *, retryable: bool) -> None:
        """Publish the original key, value and headers plus ``x-dlq-*`` headers describing the failure."""
        headers = {
            k: (v.decode(errors="replace") if isinstance(v, bytes | bytearray) else str(v))
            for k, v in (record.headers or ())
            if not k.startswith(DLQ_HEADER_PREFIX)
        }
        headers.update(
            {
                f"{DLQ_HEADER_PREFIX}error": describe_error(error)[:2000] or type(error).__name__,
                f"{DLQ_HEADER_PREFIX}error-type": type(error).__name__,
                f"{DLQ_HEADER_PREFIX}retryable": "true" if retryable else "false",
                f"{DLQ_HEADER_PREFIX}original-topic": record.topic,
                f"{DLQ_HEADER_PREFIX}original-partition": str(record.partition),
                f"{DLQ_HEADER_PREFIX}original-offset": str(record.offset),
                f"{DLQ_HEADER_PREFIX}consumer-group": self._group_id,
                f"{DLQ_HEADER_PREFIX}failed-at": datetime.now(UTC).isoformat(),
            }
        )
        await publish_raw(self._broker, record.value, topic=dlq_of(record.topic), key=record.key, headers=headers)
        if self._counter is not None:
            self._counter.labels(topic=record.topic).inc()


def describe_error(error: BaseException) -> str:
    """The error without the input values it may quote (DLQ headers and logs must hold no personal data).

    Pydantic's message repeats each invalid input (``input_value='0912…'``): only field, message and type are
    kept; any other text is scrubbed of what looks like a citizen ID, phone number or e-mail.
    """
    if isinstance(error, ValidationError):
        problems = error.errors(include_input=False, include_url=False, include_context=False)
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in problems)
    return scrub(str(error))


def _backoff(attempt: int) -> float:
    return float(min(0.2 * (2**attempt), 5.0))


async def process_record(
    record: Any,
    handler: EventHandler,
    *,
    dead_letters: DeadLetters,
    max_attempts: int,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run ``handler`` on one Kafka record with the failure policy of docs/delivery-guarantees.md.

    Bad envelopes and permanent errors go to the DLQ at once; other errors are retried with
    backoff up to ``max_attempts`` and then dead-lettered; infrastructure outages are re-raised so
    the message is redelivered (never dead-lettered because the store or broker was down).
    """
    try:
        event = CloudEvent.from_kafka(record.headers or (), record.value)
    except PERMANENT_ERRORS as exc:
        log.warning("event_rejected", topic=record.topic, offset=record.offset, error=describe_error(exc))
        await dead_letters.send(record, exc, retryable=False)
        return
    attempt = 0
    while True:
        try:
            await handler(event)
            return
        except PERMANENT_ERRORS as exc:
            log.warning("event_dead_lettered", topic=record.topic, event_id=event.id, error=describe_error(exc))
            await dead_letters.send(record, exc, retryable=False)
            return
        except INFRASTRUCTURE_ERRORS as exc:
            log.warning(
                "event_infrastructure_unavailable", topic=record.topic, event_id=event.id, error=describe_error(exc)
            )
            await sleep(1.0)
            raise
        except Exception as exc:
            attempt += 1
            if attempt >= max_attempts:
                log.error(
                    "event_retries_exhausted",
                    topic=record.topic,
                    event_id=event.id,
                    attempts=attempt,
                    error=describe_error(exc),
                    trace="".join(traceback.format_tb(exc.__traceback__, limit=5)),  # frames, not the message
                )
                await dead_letters.send(record, exc, retryable=True)
                return
            log.warning(
                "event_retry", topic=record.topic, event_id=event.id, attempt=attempt, error=describe_error(exc)
            )
            await sleep(_backoff(attempt))


_tracer = trace.get_tracer("lienthong.broker")


def _record_context(record: Any) -> otel_context.Context:
    """The trace context a record carries in its ``traceparent``/``tracestate`` headers (empty without one)."""
    carrier = {
        k: (v.decode(errors="replace") if isinstance(v, bytes | bytearray) else str(v))
        for k, v in (record.headers or ())
        if k in ("traceparent", "tracestate")
    }
    return propagate.extract(carrier)


async def process_batch(
    records: Sequence[Any],
    handler: EventHandler,
    *,
    dead_letters: DeadLetters,
    max_attempts: int,
    concurrency: int,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run ``handler`` on a batch of records: keys concurrently, each key's records in order.

    Every record goes through :func:`process_record` (the same DLQ and retry rules as one at a time), in a
    consumer span of its own whose parent is the record's ``traceparent``. A key stops at its first error
    (its later records must not overtake it); the other keys finish, then the first error is raised so the
    whole batch is redelivered from each partition's earliest record (``AckPolicy.NACK_ON_ERROR``). Records
    that had succeeded come again and meet the consumers' dedupe by event id.
    """
    by_key: dict[Any, list[Any]] = {}
    for record in records:  # a batch lists each partition's records in offset order, and a key has one partition
        by_key.setdefault(record.key, []).append(record)
    gate = asyncio.Semaphore(max(concurrency, 1))

    async def one_key(keyed: list[Any]) -> None:
        async with gate:
            for record in keyed:
                with _tracer.start_as_current_span(
                    f"{record.topic} process",
                    context=_record_context(record),
                    kind=trace.SpanKind.CONSUMER,
                    attributes={
                        "messaging.system": "kafka",
                        "messaging.operation": "process",
                        "messaging.destination.name": record.topic,
                        "messaging.kafka.destination.partition": record.partition,
                        "messaging.kafka.message.offset": record.offset,
                    },
                ):
                    await process_record(
                        record, handler, dead_letters=dead_letters, max_attempts=max_attempts, sleep=sleep
                    )

    results = await asyncio.gather(*(one_key(keyed) for keyed in by_key.values()), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def _raw_body(message: Any) -> Any:
    """Keep the bodies as bytes: each envelope is parsed by ``process_record``.

    FastStream's default decoder parses a JSON body before any handler runs; a record whose
    ``content-type`` says JSON but whose body is not would fail there, be NACKed and redelivered
    forever, blocking its partition instead of reaching the DLQ.
    """
    return message.body


def subscribe(
    broker: KafkaBroker,
    settings: BaseServiceSettings,
    *,
    topic: str,
    group: str,
    handler: EventHandler,
    registry: CollectorRegistry | None = None,
    max_workers: int | None = None,
) -> Any:
    """Register a batch consumer with an explicit group id and ``NACK_ON_ERROR`` ack policy.

    Records come in batches of up to ``KAFKA_CONSUMER_BATCH_SIZE`` (:func:`process_batch`): up to
    ``max_workers`` (default ``KAFKA_CONSUMER_WORKERS``) dossier keys at once, each key in order. The offsets
    are committed only after every record of the batch was handled (or handed to the DLQ): at-least-once.
    """
    group_id = f"{settings.kafka_topic_prefix}lienthong.{settings.service_name}.{group}"
    dead_letters = DeadLetters(broker, group_id=group_id, registry=registry)
    if registry is not None:  # the series exists from the start, so rate() and alerts see the first one
        _dead_letter_counter(registry).labels(topic=settings.topic(topic))
    attempts = max(settings.kafka_consumer_retries, 1)
    workers = max_workers if max_workers is not None else settings.kafka_consumer_workers

    expected_type = event_type_of(topic)

    async def checked(event: CloudEvent) -> None:
        if event.type != expected_type:  # an unknown or misplaced event: the contract says one type per topic
            raise PermanentError(f"event type {event.type!r} does not belong on {topic} (expected {expected_type!r})")
        await handler(event)

    async def consume(message: KafkaMessage) -> None:
        await process_batch(
            message.raw_message,  # a batch subscriber's raw message is the tuple of records
            checked,
            dead_letters=dead_letters,
            max_attempts=attempts,
            concurrency=workers,
        )

    subscriber = broker.subscriber(
        settings.topic(topic),
        group_id=group_id,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=_raw_body,
        auto_offset_reset="earliest",
        batch=True,
        max_records=settings.kafka_consumer_batch_size,
        batch_timeout_ms=settings.kafka_consumer_batch_timeout_ms,
    )
    subscriber(consume)
    return subscriber
