"""What notify's use cases need from outside: repositories, senders, clocks, live feeds (implemented in adapters/)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.notify.domain.deliveries import WebhookDelivery
from services.notify.domain.notifications import Notification, NotificationStatus
from services.notify.domain.view import DossierView
from shared.aggregate import Aggregates


@dataclass(frozen=True)
class SmsMessage:
    """One SMS to send."""

    to: str
    text: str
    dossier_code: str
    event_id: str
    notification_id: str
    reference: str = ""  # random; the gateway's receipt names it, and it is the idempotency key


@dataclass(frozen=True)
class Accepted:
    """A provider took the message; ``awaits_receipt`` when a delivery receipt will follow."""

    provider: str
    provider_message_id: str | None
    awaits_receipt: bool


class Notifications(Aggregates[Notification], Protocol):
    """The notifications (adapters.repositories.NotificationRepository, or an in-memory one in unit tests)."""

    async def by_reference(self, reference: str) -> Notification | None:
        """The notification an SMS gateway knows by our random ``reference``."""
        ...

    async def in_status(self, status: NotificationStatus, limit: int = 200) -> list[Notification]:
        """Notifications in one status (the workers' scans)."""
        ...

    async def pending_of(self, dossier_id: str, status: NotificationStatus) -> list[Notification]:
        """One dossier's notifications in one status (a citizen's opt-out suppresses them)."""
        ...

    async def awaiting_receipt(self, limit: int = 200) -> list[Notification]:
        """Sent messages whose provider's delivery receipt has not come yet."""
        ...

    async def of_dossier(self, dossier_id: str, limit: int = 500) -> list[Notification]:
        """Every notification of a dossier."""
        ...

    async def claim(self, claim_id: str, at: datetime, *, stale_before: datetime) -> bool:
        """True for exactly one caller of ``claim_id`` across instances (stale claims are taken over)."""
        ...


class WebhookDeliveries(Aggregates[WebhookDelivery], Protocol):
    """Webhook deliveries (adapters.repositories.DeliveryRepository)."""

    async def due(self, now: datetime, limit: int = 100) -> list[WebhookDelivery]:
        """Pending deliveries whose next attempt is due, oldest first."""
        ...

    async def of_subscription(
        self, subscription_id: str, status: str | None, limit: int = 500
    ) -> list[WebhookDelivery]:
        """Deliveries of one subscription (optionally in one status), oldest first."""
        ...


class Subscriptions(Protocol):
    """App back ends' webhook subscriptions (adapters.repositories.MongoSubscriptions)."""

    async def add(self, doc: dict[str, Any]) -> None:
        """Store a new subscription."""

    async def get(self, subscription_id: str) -> dict[str, Any] | None:
        """One subscription."""

    async def deactivate(self, subscription_id: str, at: datetime) -> bool:
        """Stop deliveries to it; False when unknown."""

    async def active(self) -> list[dict[str, Any]]:
        """Subscriptions that receive deliveries."""


class DossierViews(Aggregates[DossierView], Protocol):
    """The citizens' dossier views (adapters.repositories.ViewRepository)."""

    async def by_code(self, code: str) -> DossierView | None:
        """The view of the dossier with this code."""
        ...

    async def to_release(self, limit: int = 100) -> list[DossierView]:
        """Views whose contact came after notifications that may still wait for it (``release_pending``)."""
        ...


class SmsSender(Protocol):
    """The SMS port (adapters.sms.FailoverSender over the configured providers)."""

    async def send(self, message: SmsMessage) -> Accepted:
        """Hand the SMS to a provider or raise."""
        ...


class EmailSender(Protocol):
    """The e-mail port (adapters.email.SmtpSender)."""

    async def send(self, *, to: str, subject: str, text: str) -> None:
        """Send one e-mail or raise."""


class WebhookClient(Protocol):
    """The outgoing webhook port (adapters.webhooks.HttpWebhookClient)."""

    async def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> int:
        """POST one delivery; the HTTP status, or raise when unreachable."""
        ...

    async def check(self, url: str) -> str:
        """The address ``url`` may be delivered to now; ValueError with the reason when it may not."""
        ...


class LiveFeed(Protocol):
    """In-process fan-out to SSE streams (adapters.live.LiveUpdates)."""

    def publish(self, dossier_id: str, entry: dict[str, Any]) -> None:
        """Push a timeline entry to the dossier's live listeners."""

    def listen(self, dossier_id: str) -> asyncio.Queue[dict[str, Any]]:
        """A queue that receives every new entry of the dossier."""
        ...

    def stop(self, dossier_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop delivering to ``queue``."""


class StreamGuard(Protocol):
    """Caps on open SSE streams (adapters.live.StreamSlots)."""

    def take(self, dossier_id: str, client: str) -> tuple[str, str, object]:
        """A slot for a new stream, or raise (429) when too many are open."""
        ...

    def release(self, slot: tuple[str, str, object]) -> None:
        """Give the slot back (idempotent)."""


class TrackingLogPrinter(Protocol):
    """Prints the dossier's tracking log form, Mẫu 06 (adapters.papers.TrackingLogForms)."""

    async def tracking_log_pdf(
        self, dossier: dict[str, Any], timeline: list[dict[str, Any]], *, tracking_page_url: str
    ) -> bytes:
        """The form as PDF."""
        ...


class OutcomeCounter(Protocol):
    """Counts notification outcomes (adapters.metrics.NotifyMetrics)."""

    def outcome(self, *, channel: str, provider: str | None, outcome: str) -> None:
        """Count one outcome."""
        ...
