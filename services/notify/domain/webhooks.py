"""Signed webhook deliveries for app back ends: body, signature and the retry schedule (pure)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

#: Fields that never leave notify in a webhook (personal data and the citizen's secret).
PRIVATE_FIELDS = frozenset({"contact", "tracking_token_sha256", "notify"})

#: Documented backoff table (seconds before retry n); NOTIFY_WEBHOOK_BACKOFF overrides it.
DEFAULT_BACKOFF: tuple[float, ...] = (10, 30, 120, 600, 3600, 21600)


def webhook_body(
    *, event_id: str, event_type: str, subject: str | None, time: str, data: dict[str, Any]
) -> dict[str, Any]:
    """The JSON POSTed to a subscriber: the CloudEvent without personal data."""
    return {
        "id": event_id,
        "type": event_type,
        "subject": subject,
        "time": time,
        "data": {k: v for k, v in data.items() if k not in PRIVATE_FIELDS},
    }


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">`` (the timestamp defeats replays of old bodies)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes) -> bool:
    """True when ``header`` is a valid signature of ``body`` (what a subscriber does)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return False
    return hmac.compare_digest(sign(secret, int(parts["t"]), body), header)
