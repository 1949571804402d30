"""The life of one notification (one message on one channel for one change) and the rules that steer it."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.events import DEFAULT_CHANNEL_PREFERENCES, DeliveryStatus

#: Channels a citizen can be told on by message; "app" is served by tracking (SSE) and webhooks.
MESSAGE_CHANNELS: tuple[str, ...] = ("sms", "email")

#: Preferences assumed until the receipt event brings the citizen's own (the one shared definition).
DEFAULT_PREFERENCES = DEFAULT_CHANNEL_PREFERENCES


class NotificationStatus(StrEnum):
    """created → sending → sent → delivered | failed; or waiting_contact / deferred before sending; suppressed."""

    CREATED = "created"  # inserted once per (event, channel); nothing sent yet
    WAITING_CONTACT = "waiting_contact"  # the change arrived before the receipt event with the contact
    DEFERRED = "deferred"  # quiet hours, or a retry after every provider failed
    SENDING = "sending"  # claimed: the side effect is under way (a crash here is swept to failed)
    SENT = "sent"  # a provider accepted it; final unless a delivery receipt is awaited
    DELIVERED = "delivered"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # opted out, no address, channel not configured


#: States from which a sender may claim the notification (the status guard before any side effect).
CLAIMABLE = frozenset({NotificationStatus.CREATED, NotificationStatus.WAITING_CONTACT, NotificationStatus.DEFERRED})


def can_claim(notification: dict[str, Any]) -> bool:
    """True when nobody has sent (or is sending) this notification yet."""
    return notification.get("status") in CLAIMABLE


def awaits_receipt(notification: dict[str, Any]) -> bool:
    """True when the provider took the message and a delivery receipt should follow."""
    return notification.get("status") == NotificationStatus.SENT and bool(notification.get("awaiting_receipt"))


def wants(preferences: dict[str, Any] | None, channel: str) -> bool:
    """Whether the citizen chose ``channel`` (an opted-out channel is never used)."""
    chosen = {**DEFAULT_PREFERENCES, **(preferences or {})}
    return bool(chosen.get(channel))


def backoff_delay(attempts: int, backoff: list[float]) -> timedelta | None:
    """Wait before the next try after ``attempts`` failed ones; None when the table is spent."""
    if attempts > len(backoff):
        return None
    return timedelta(seconds=backoff[attempts - 1])


def delivery_status(status: NotificationStatus) -> DeliveryStatus:
    """The published outcome for a stored status."""
    return {
        NotificationStatus.SENT: DeliveryStatus.SENT,
        NotificationStatus.DELIVERED: DeliveryStatus.DELIVERED,
        NotificationStatus.FAILED: DeliveryStatus.FAILED,
        NotificationStatus.SUPPRESSED: DeliveryStatus.SUPPRESSED,
    }[status]


def stuck(notification: dict[str, Any], *, now: datetime, sending_timeout: float, receipt_timeout: float) -> str | None:
    """Why a notification should be marked failed by the sweeper, or None when it is fine."""
    if notification.get("status") == NotificationStatus.SENDING:
        claimed = notification.get("claimed_at")
        if claimed is not None and claimed <= now - timedelta(seconds=sending_timeout):
            return "outcome unknown: sending did not finish in time"
    if awaits_receipt(notification):
        sent = notification.get("sent_at")
        if sent is not None and sent <= now - timedelta(seconds=receipt_timeout):
            return "no delivery receipt in time"
    return None
