"""The life of one notification (one message on one channel for one change) and the rules that steer it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from shared.aggregate import EventRecorder, Unchanged
from shared.events import DEFAULT_CHANNEL_PREFERENCES, DeliveryStatus, NotificationDelivery
from shared.topics import Topics

if TYPE_CHECKING:
    from services.notify.domain.view import Change, DossierView

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


S = NotificationStatus

#: what a late contact releases: waiting for it, or "created" (a consumer of another topic may have inserted
#: one before it could see the contact)
AWAITING_RELEASE = frozenset({S.WAITING_CONTACT, S.CREATED})


@dataclass
class Notification(EventRecorder):
    """One message on one channel about one change; its status guard is checked inside every write."""

    id: str  # "<event id>:<channel>": inserted once per change and channel
    dossier_id: str
    dossier_code: str
    event_id: str
    channel: str
    kind: str  # template kind
    context: dict[str, str]
    template_version: str
    created_at: datetime
    status: NotificationStatus = NotificationStatus.CREATED
    attempts: int = 0  # claims taken so far; the next claim must be attempt ``attempts + 1``
    waiting_since: datetime | None = None  # waiting for the contact since (it times out to suppressed)
    send_after: datetime | None = None  # a deferred message goes no earlier
    deferred_for: str | None = None  # quiet_hours | retry | shutdown
    reference: str | None = None  # random, kept across attempts: the provider's idempotency key
    claimed_at: datetime | None = None
    provider: str | None = None
    detail: str | None = None
    finished_at: datetime | None = None
    sent: SentDetails | None = None

    @classmethod
    def for_change(
        cls, change: Change, channel: str, *, context: dict[str, str], template_version: str, now: datetime
    ) -> Notification:
        """The one notification of ``change`` on ``channel`` (its id makes a redelivery insert nothing)."""
        return cls(
            id=f"{change.event_id}:{channel}",
            dossier_id=change.dossier_id,
            dossier_code=change.code,
            event_id=change.event_id,
            channel=channel,
            kind=change.message_kind,
            context=context,
            template_version=template_version,
            created_at=now,
        )

    @property
    def claimable(self) -> bool:
        """True when nobody has sent (or is sending) this notification yet."""
        return self.status in CLAIMABLE

    @property
    def awaiting_receipt(self) -> bool:
        """True when the provider took the message and a delivery receipt should follow."""
        return self.status == S.SENT and self.sent is not None and self.sent.awaiting_receipt

    def due(self, now: datetime) -> bool:
        """A deferred message may go only once its time has come; the others whenever claimable."""
        return self.status != S.DEFERRED or self.send_after is None or self.send_after <= now

    # -- transitions (each raises Unchanged when its guard no longer holds) --------------------------------
    def wait_for_contact(self, now: datetime) -> None:
        """created → waiting_contact: the change came before the receipt event with the contact."""
        if self.status != S.CREATED:
            raise Unchanged
        self.status, self.waiting_since = S.WAITING_CONTACT, now

    def defer(self, until: datetime, why: str, *, detail: str | None = None, retrying: bool = False) -> None:
        """Hold the message until ``until`` (quiet hours from a claimable state; retry/hand-back from sending)."""
        if (self.status != S.SENDING) if retrying else not self.claimable:
            raise Unchanged
        self.status, self.send_after, self.deferred_for = S.DEFERRED, until, why
        if detail is not None:
            self.detail = detail

    def start_sending(self, now: datetime, *, attempt: int, reference: str) -> None:
        """claimable → sending for the holder of attempt ``attempt``'s claim; the side effect follows this write."""
        if not self.claimable or self.attempts != attempt - 1:
            raise Unchanged
        self.status, self.claimed_at, self.reference = S.SENDING, now, reference
        self.attempts += 1

    def finish(
        self,
        status: NotificationStatus,
        now: datetime,
        *,
        expected: frozenset[NotificationStatus],
        provider: str | None = None,
        detail: str | None = None,
        sent: SentDetails | None = None,
    ) -> None:
        """Store the outcome (sent, delivered, failed, suppressed) and record its ``notification.delivery.v1``."""
        if self.status not in expected:
            raise Unchanged
        self.status, self.detail, self.finished_at = status, detail, now
        self.provider = provider or self.provider
        if sent is not None:
            self.sent = sent
        elif self.sent is not None and self.sent.awaiting_receipt:
            self.sent = SentDetails(**{**self.sent.__dict__, "awaiting_receipt": False})
        record_delivery(self, self.channel, delivery_status(status), self.provider, self.attempts, detail, now)

    def receipt(self, delivered: bool, now: datetime, *, detail: str | None = None) -> None:
        """The provider's delivery receipt: sent (awaiting one) → delivered | failed."""
        if not self.awaiting_receipt:
            raise Unchanged
        self.finish(S.DELIVERED if delivered else S.FAILED, now, expected=frozenset({S.SENT}), detail=detail)


@dataclass(frozen=True)
class SentDetails:
    """What the provider said when it took the message."""

    sent_at: datetime
    encoding: str | None = None  # SMS only
    segments: int | None = None
    provider_message_id: str | None = None
    awaiting_receipt: bool = False


class _Delivered(Protocol):
    id: str
    dossier_id: str
    dossier_code: str
    event_id: str

    def record(self, topic: str, data: NotificationDelivery, *, key: str, subject: str | None = None) -> None: ...


def record_delivery(
    aggregate: _Delivered,
    channel: str,
    status: DeliveryStatus,
    provider: str | None,
    attempts: int,
    detail: str | None,
    now: datetime,
) -> None:
    """Record the ``notification.delivery.v1`` of a message's (or a webhook delivery's) outcome, keyed by dossier."""
    aggregate.record(
        Topics.NOTIFICATION_DELIVERY,
        NotificationDelivery(
            notification_id=aggregate.id,
            dossier_id=aggregate.dossier_id,
            dossier_code=aggregate.dossier_code,
            channel=channel,
            status=status,
            provider=provider,
            source_event_id=aggregate.event_id,  # the dossier event this message (or webhook) told of
            attempts=attempts,
            detail=detail,
            occurred_at=now,
        ),
        key=aggregate.dossier_id,
        subject=aggregate.dossier_code,
    )


def can_claim(notification: Notification) -> bool:
    """True when nobody has sent (or is sending) this notification yet."""
    return notification.claimable


def awaits_receipt(notification: Notification) -> bool:
    """True when the provider took the message and a delivery receipt should follow."""
    return notification.awaiting_receipt


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


def stuck(notification: Notification, *, now: datetime, sending_timeout: float, receipt_timeout: float) -> str | None:
    """Why a notification should be marked failed by the sweeper, or None when it is fine."""
    if notification.status == NotificationStatus.SENDING:
        claimed = notification.claimed_at
        if claimed is not None and claimed <= now - timedelta(seconds=sending_timeout):
            return "outcome unknown: sending did not finish in time"
    sent = notification.sent
    if notification.awaiting_receipt and sent is not None and sent.sent_at <= now - timedelta(seconds=receipt_timeout):
        return "no delivery receipt in time"
    return None


def releasable(view: DossierView, notifications: list[Notification]) -> list[Notification]:
    """What waits for the late contact, in the order of the dossier's timeline (so of the citizen's messages).

    A channel is held back while the message of the change that brought the contact is wanted on it but not
    yet stored: its consumer is between writing the contact and storing that message (it releases the rest
    itself next), or died there (its redelivery does).
    """
    position = {entry.event_id: i for i, entry in enumerate(view.timeline)}
    stored = {n.id for n in notifications}
    receipt_events = [entry.event_id for entry in view.timeline if entry.kind == "received"]
    held = {
        channel
        for channel in MESSAGE_CHANNELS
        if wants(view.preferences, channel) and any(f"{e}:{channel}" not in stored for e in receipt_events)
    }
    waiting = [n for n in notifications if n.status in AWAITING_RELEASE and n.channel not in held]
    return sorted(waiting, key=lambda n: position.get(n.event_id, len(position)))
