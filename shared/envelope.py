"""CloudEvents 1.0 envelope over Kafka, binary content mode (headers ``ce_*``, value = JSON data)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
_TRACE_HEADERS = ("traceparent", "tracestate")


class EnvelopeError(ValueError):
    """A Kafka record is not a valid LienThong CloudEvent; not retryable (goes to the DLQ)."""


class CloudEvent(BaseModel):
    """One event as it travels on a topic: the context attributes plus the JSON ``data``."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), description="Producer-assigned idempotency key.")
    source: str = Field(description="/lienthong/<service>")
    type: str = Field(description="vn.lienthong.<topic>")
    subject: str | None = Field(default=None, description="Dossier code.")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    specversion: str = SPEC_VERSION
    datacontenttype: str = CONTENT_TYPE
    traceparent: str | None = None
    tracestate: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        """Kafka headers for binary mode, including W3C trace context when present."""
        headers = {
            "ce_specversion": self.specversion,
            "ce_id": self.id,
            "ce_source": self.source,
            "ce_type": self.type,
            "ce_time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "content-type": self.datacontenttype,
        }
        if self.subject is not None:
            headers["ce_subject"] = self.subject
        if self.traceparent:
            headers["traceparent"] = self.traceparent
        if self.tracestate:
            headers["tracestate"] = self.tracestate
        return headers

    def value(self) -> bytes:
        """The record value: ``data`` as compact UTF-8 JSON."""
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":"), default=str).encode()

    @classmethod
    def from_kafka(cls, headers: Mapping[str, Any] | Iterable[tuple[str, Any]], value: bytes | None) -> CloudEvent:
        """Parse a Kafka record in binary mode; raise :class:`EnvelopeError` when it is not one."""
        raw = dict(headers.items()) if isinstance(headers, Mapping) else dict(headers)
        text = {k: (v.decode() if isinstance(v, bytes | bytearray) else str(v)) for k, v in raw.items()}
        missing = [h for h in ("ce_specversion", "ce_id", "ce_source", "ce_type") if not text.get(h)]
        if missing:
            raise EnvelopeError(f"missing CloudEvents headers: {', '.join(missing)}")
        if text["ce_specversion"] != SPEC_VERSION:
            raise EnvelopeError(f"unsupported specversion {text['ce_specversion']!r}")
        try:
            data = json.loads(value or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EnvelopeError(f"value is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise EnvelopeError("value must be a JSON object")
        try:
            time = datetime.fromisoformat(text["ce_time"]) if text.get("ce_time") else datetime.now(UTC)
        except ValueError as exc:
            raise EnvelopeError(f"ce_time is not RFC 3339: {text['ce_time']!r}") from exc
        return cls(
            id=text["ce_id"],
            source=text["ce_source"],
            type=text["ce_type"],
            subject=text.get("ce_subject"),
            time=time,
            datacontenttype=text.get("content-type", CONTENT_TYPE),
            traceparent=text.get("traceparent"),
            tracestate=text.get("tracestate"),
            data=data,
        )

    def trace_carrier(self) -> dict[str, str]:
        """W3C trace headers of this event, for ``opentelemetry.propagate.extract``."""
        return {h: v for h in _TRACE_HEADERS if (v := getattr(self, h))}
