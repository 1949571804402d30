"""The batch consumer: keys at once, each key in order, errors held until the batch ends, a span per record."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pymongo.errors import ServerSelectionTimeoutError

from shared.broker import process_batch
from shared.envelope import CloudEvent
from shared.errors import PermanentError


@dataclass
class _Record:
    headers: list[tuple[str, bytes]]
    value: bytes | None
    key: bytes | None
    offset: int
    topic: str = "dossier.status.v1"
    partition: int = 0


@dataclass
class _FakeDeadLetters:
    sent: list[Any] = field(default_factory=list)

    async def send(self, record: Any, error: BaseException, *, retryable: bool) -> None:
        self.sent.append(record)


async def _no_sleep(_: float) -> None:
    return None


def _record(key: str, step: int, offset: int, *, traceparent: str | None = None) -> _Record:
    extra = {"traceparent": traceparent} if traceparent else {}
    event = CloudEvent(source="/lienthong/t", type="vn.lienthong.x", subject=key, data={"step": step}, **extra)
    return _Record([(k, v.encode()) for k, v in event.headers().items()], event.value(), key.encode(), offset)


async def test_each_key_in_order_keys_at_once() -> None:
    """Records of one key run one after another in offset order while other keys run meanwhile."""
    records = [_record(k, step, i * 2 + n) for i, step in enumerate(range(3)) for n, k in enumerate("ab")]
    running: set[str] = set()
    overlapped = False
    seen: dict[str, list[int]] = {"a": [], "b": []}

    async def handler(event: CloudEvent) -> None:
        nonlocal overlapped
        key = str(event.subject)
        assert key not in running, "two records of one key ran at once"
        running.add(key)
        overlapped = overlapped or len(running) > 1
        await asyncio.sleep(0.001)
        seen[key].append(event.data["step"])
        running.discard(key)

    await process_batch(records, handler, dead_letters=_FakeDeadLetters(), max_attempts=3, concurrency=4)  # type: ignore[arg-type]
    assert seen == {"a": [0, 1, 2], "b": [0, 1, 2]}
    assert overlapped, "the keys were processed one after another"


async def test_poison_record_is_dead_lettered_and_its_key_goes_on() -> None:
    """A permanent error sends that record to the DLQ (as one at a time would) and the key's next record runs."""
    records = [_record("a", 1, 0), _record("a", 2, 1)]
    handled: list[int] = []

    async def handler(event: CloudEvent) -> None:
        if event.data["step"] == 1:
            raise PermanentError("unknown procedure")
        handled.append(event.data["step"])

    dlq = _FakeDeadLetters()
    await process_batch(records, handler, dead_letters=dlq, max_attempts=3, concurrency=4, sleep=_no_sleep)  # type: ignore[arg-type]
    assert [r.offset for r in dlq.sent] == [0] and handled == [2]


async def test_outage_stops_its_key_and_is_raised_after_the_other_keys() -> None:
    """An infrastructure error stops that key's later records, lets the other keys finish, then is raised."""
    records = [_record("a", 1, 0), _record("b", 1, 1), _record("a", 2, 2), _record("b", 2, 3)]
    handled: list[tuple[str, int]] = []

    async def handler(event: CloudEvent) -> None:
        if event.subject == "a" and event.data["step"] == 1:
            raise ServerSelectionTimeoutError("down")
        await asyncio.sleep(0.001)
        handled.append((str(event.subject), event.data["step"]))

    dlq = _FakeDeadLetters()
    with pytest.raises(ServerSelectionTimeoutError):
        await process_batch(records, handler, dead_letters=dlq, max_attempts=3, concurrency=4, sleep=_no_sleep)  # type: ignore[arg-type]
    assert handled == [("b", 1), ("b", 2)] and dlq.sent == []


async def test_each_record_gets_a_consumer_span_under_its_own_traceparent() -> None:
    """The batch's records belong to their own traces: each handler runs in a span whose parent is its record's."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    parents = ["0af7651916cd43dd8448eb211c80319c", "4bf92f3577b34da6a3ce929d0e0e4736"]
    records = [
        _record(key, 1, n, traceparent=f"00-{trace_id}-b7ad6b7169203331-01")
        for n, (key, trace_id) in enumerate(zip("ab", parents, strict=True))
    ]
    in_handler: dict[str, str] = {}

    async def handler(event: CloudEvent) -> None:
        context = trace.get_current_span().get_span_context()
        in_handler[str(event.subject)] = format(context.trace_id, "032x")

    original = trace.get_tracer_provider()
    tracer = provider.get_tracer("test")
    import shared.broker as broker_module

    saved = broker_module._tracer
    broker_module._tracer = tracer
    try:
        await process_batch(records, handler, dead_letters=_FakeDeadLetters(), max_attempts=1, concurrency=2)  # type: ignore[arg-type]
    finally:
        broker_module._tracer = saved
    assert trace.get_tracer_provider() is original
    assert in_handler == {"a": parents[0], "b": parents[1]}
    spans = exporter.get_finished_spans()
    assert sorted(format(s.context.trace_id, "032x") for s in spans) == sorted(parents)
    assert all(s.kind is trace.SpanKind.CONSUMER and s.parent is not None for s in spans)
