"""CloudEvents binary-mode envelope: headers out, parse back, reject what is not an event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.envelope import CloudEvent, EnvelopeError


def _event(**kw: object) -> CloudEvent:
    return CloudEvent(
        source="/lienthong/intake",
        type="vn.lienthong.dossier.received.v1",
        subject="C-1",
        data={"x": "ở"},
        **kw,
    )  # type: ignore[arg-type]


def test_round_trip_keeps_every_attribute() -> None:
    """Every context attribute and the data survive headers + value and parse back equal."""
    event = _event(traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    headers = [(k, v.encode()) for k, v in event.headers().items()]
    parsed = CloudEvent.from_kafka(headers, event.value())
    assert parsed == event
    assert dict(headers)["ce_specversion"] == b"1.0"
    assert dict(headers)["content-type"] == b"application/json"


def test_time_is_rfc3339_utc() -> None:
    """ce_time is written in UTC with a Z suffix."""
    event = _event(time=datetime(2027, 2, 3, 3, 0, tzinfo=UTC))
    assert event.headers()["ce_time"] == "2027-02-03T03:00:00Z"


@pytest.mark.parametrize(
    ("headers", "value", "message"),
    [
        ({"ce_id": "1", "ce_source": "s", "ce_type": "t"}, b"{}", "ce_specversion"),
        ({"ce_specversion": "0.3", "ce_id": "1", "ce_source": "s", "ce_type": "t"}, b"{}", "specversion"),
        ({"ce_specversion": "1.0", "ce_id": "1", "ce_source": "s", "ce_type": "t"}, b"not json", "not JSON"),
        ({"ce_specversion": "1.0", "ce_id": "1", "ce_source": "s", "ce_type": "t"}, b"[1]", "JSON object"),
        (
            {"ce_specversion": "1.0", "ce_id": "1", "ce_source": "s", "ce_type": "t", "ce_time": "yesterday"},
            b"{}",
            "RFC 3339",
        ),
    ],
)
def test_invalid_records_are_rejected(headers: dict[str, str], value: bytes, message: str) -> None:
    """Records that are not LienThong CloudEvents raise EnvelopeError naming the problem."""
    with pytest.raises(EnvelopeError, match=message):
        CloudEvent.from_kafka(headers, value)
