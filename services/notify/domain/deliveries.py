"""One signed webhook delivery of one event to one subscriber, and its retry schedule (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.notify.domain.notifications import backoff_delay, record_delivery
from shared.aggregate import EventRecorder, Unchanged
from shared.events import DeliveryStatus

PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"


@dataclass(frozen=True)
class Attempt:
    """One POST to the subscriber and how it went."""

    at: datetime
    attempt: int
    outcome: str  # "HTTP 200", "ConnectError", ...


@dataclass
class WebhookDelivery(EventRecorder):
    """pending → delivered | failed (backoff table spent) | cancelled (subscription gone); resend: failed → pending."""

    id: str  # "<event id>:<subscription id>": queued once per event and subscription
    subscription_id: str
    dossier_id: str
    dossier_code: str
    event_id: str
    url: str
    body: dict[str, Any]  # the JSON POSTed: the CloudEvent without personal data (webhooks.webhook_body)
    created_at: datetime
    next_attempt_at: datetime
    status: str = PENDING
    attempts: int = 0
    resends: int = 0
    log: list[Attempt] = field(default_factory=list)
    last_outcome: str | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None

    def is_due(self, now: datetime) -> bool:
        """Pending and its next attempt has come."""
        return self.status == PENDING and self.next_attempt_at <= now

    def lease(self, now: datetime, *, attempt: int, until: datetime) -> None:
        """Take attempt ``attempt`` until ``until`` (a lease, not a claim: a dead holder's attempt is simply redone)."""
        if not self.is_due(now) or self.attempts != attempt - 1:
            raise Unchanged
        self.next_attempt_at = until

    def cancel(self) -> None:
        """The subscription is gone: deliver no more."""
        if self.status != PENDING:
            raise Unchanged
        self.status = CANCELLED

    def attempted(self, now: datetime, *, attempt: int, ok: bool, outcome: str, backoff: list[float]) -> str | None:
        """Record attempt ``attempt``; delivered, a retry by the table, or failed. The final status, or None."""
        if self.status != PENDING or self.attempts != attempt - 1:
            raise Unchanged
        self.log.append(Attempt(now, attempt, outcome))
        self.attempts, self.last_outcome = attempt, outcome
        delay: timedelta | None = None if ok else backoff_delay(attempt, backoff)
        if ok:
            self.status, self.delivered_at = DELIVERED, now
        elif delay is not None:
            self.next_attempt_at = now + delay
            return None
        else:
            self.status, self.failed_at = FAILED, now
        status = DeliveryStatus.DELIVERED if ok else DeliveryStatus.FAILED
        record_delivery(self, "webhook", status, self.subscription_id, attempt, outcome, now)
        return self.status

    def resend(self, subscription_id: str, now: datetime) -> None:
        """Admin: a permanently failed delivery runs through the backoff table again."""
        if self.status != FAILED or self.subscription_id != subscription_id:
            raise Unchanged
        self.status, self.attempts, self.next_attempt_at = PENDING, 0, now
        self.resends += 1
