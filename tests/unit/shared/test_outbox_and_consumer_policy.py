"""Outbox update merging and the consumer failure policy (retry, DLQ, infrastructure hold)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from pymongo.errors import ServerSelectionTimeoutError

from shared.broker import process_record
from shared.envelope import CloudEvent
from shared.errors import PermanentError
from shared.outbox import DUE_FIELD, PENDING_FIELD, new_document_outbox, outbox_entry, with_outbox
from shared.reference.offices import OfficeKind, office_code, parse_office_code
from shared.settings import BaseServiceSettings
from shared.topics import Topics, dlq_of


def _event() -> CloudEvent:
    return CloudEvent(source="/lienthong/t", type="vn.lienthong.x", subject="C", data={"a": 1})


def test_with_outbox_adds_entries_and_counter_to_the_same_update() -> None:
    """The state change, the pending events and the counter form one update document."""
    e1, e2 = _event(), _event()
    update = with_outbox(
        {"$set": {"status": "accepted"}, "$inc": {"version": 1}},
        outbox_entry(Topics.DOSSIER_STATUS, e1, key="d"),
        outbox_entry(Topics.DOSSIER_STATUS, e2, key="d"),
    )
    assert update["$set"]["status"] == "accepted"
    assert set(update["$set"]) == {"status", f"outbox.{e1.id}", f"outbox.{e2.id}", DUE_FIELD}
    assert update["$set"][DUE_FIELD] is True  # the sweep's index look-up finds it
    assert update["$inc"] == {"version": 1, PENDING_FIELD: 2}


def test_new_document_outbox() -> None:
    """An inserted document carries its first events and the pending count."""
    e = _event()
    fields = new_document_outbox(outbox_entry(Topics.DOSSIER_RECEIVED, e, key="d"))
    assert fields[PENDING_FIELD] == 1 and fields["outbox"][e.id]["key"] == "d"


def test_topic_prefix_and_dlq_names() -> None:
    """Physical topic names carry the configured prefix; DLQ names add .dlq once."""
    settings = BaseServiceSettings(kafka_topic_prefix="t1.")
    assert settings.topic(Topics.DOSSIER_ROUTED) == "t1.dossier.routed.v1"
    assert dlq_of(dlq_of("a")) == "a.dlq"


def test_office_codes_round_trip_and_reject_nonsense() -> None:
    """Office codes parse back to unit and kind; wrong shapes are refused."""
    code = office_code("01", OfficeKind.PROVINCE_DEPARTMENT_JUSTICE)
    assert code == "P01.STP" and parse_office_code(code).level == "province"
    for bad in ("00004", "00004.XYZ", "P01.UBND", "00004.STP"):
        with pytest.raises(ValueError):
            parse_office_code(bad)


@dataclass
class _Record:
    headers: list[tuple[str, bytes]]
    value: bytes | None
    topic: str = "dossier.received.v1"
    partition: int = 0
    offset: int = 7
    key: bytes | None = b"d"


@dataclass
class _FakeDeadLetters:
    sent: list[tuple[Any, BaseException, bool]] = field(default_factory=list)

    async def send(self, record: Any, error: BaseException, *, retryable: bool) -> None:
        self.sent.append((record, error, retryable))


async def _no_sleep(_: float) -> None:
    return None


def _record() -> _Record:
    event = _event()
    return _Record([(k, v.encode()) for k, v in event.headers().items()], event.value())


async def test_poison_record_goes_to_dlq_without_calling_handler() -> None:
    """A record that is not a CloudEvent is dead-lettered at once; the handler never runs."""
    calls: list[CloudEvent] = []

    async def handler(event: CloudEvent) -> None:
        calls.append(event)

    dlq = _FakeDeadLetters()
    await process_record(_Record([], b"garbage"), handler, dead_letters=dlq, max_attempts=3, sleep=_no_sleep)  # type: ignore[arg-type]
    assert calls == [] and len(dlq.sent) == 1 and dlq.sent[0][2] is False


async def test_permanent_error_dead_letters_at_once() -> None:
    """PermanentError is not retried."""
    attempts = 0

    async def handler(_: CloudEvent) -> None:
        nonlocal attempts
        attempts += 1
        raise PermanentError("unknown procedure")

    dlq = _FakeDeadLetters()
    await process_record(_record(), handler, dead_letters=dlq, max_attempts=3, sleep=_no_sleep)  # type: ignore[arg-type]
    assert attempts == 1 and len(dlq.sent) == 1


async def test_transient_error_is_retried_then_succeeds() -> None:
    """An unexpected error is retried with backoff and the message is not dead-lettered if it then works."""
    attempts = 0

    async def handler(_: CloudEvent) -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError("flaky")

    dlq = _FakeDeadLetters()
    await process_record(_record(), handler, dead_letters=dlq, max_attempts=3, sleep=_no_sleep)  # type: ignore[arg-type]
    assert attempts == 3 and dlq.sent == []


async def test_exhausted_retries_go_to_dlq() -> None:
    """After max_attempts failures the message goes to the DLQ marked retryable."""

    async def handler(_: CloudEvent) -> None:
        raise RuntimeError("bug")

    dlq = _FakeDeadLetters()
    await process_record(_record(), handler, dead_letters=dlq, max_attempts=3, sleep=_no_sleep)  # type: ignore[arg-type]
    assert len(dlq.sent) == 1 and dlq.sent[0][2] is True


async def test_store_outage_is_not_dead_lettered() -> None:
    """When the store is down the error propagates (message redelivered), nothing goes to the DLQ."""

    async def handler(_: CloudEvent) -> None:
        raise ServerSelectionTimeoutError("down")

    dlq = _FakeDeadLetters()
    with pytest.raises(ServerSelectionTimeoutError):
        await process_record(_record(), handler, dead_letters=dlq, max_attempts=3, sleep=_no_sleep)  # type: ignore[arg-type]
    assert dlq.sent == []
