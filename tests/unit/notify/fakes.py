"""In-memory fakes of notify's ports: repositories of domain objects, dossier views, senders, live feed, clock."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.adapters.sms import SmsError
from services.notify.domain.deliveries import WebhookDelivery
from services.notify.domain.notifications import Notification, NotificationStatus
from services.notify.domain.ports import Accepted, SmsMessage
from services.notify.domain.view import DossierView
from tests.support.aggregates import InMemoryAggregates


class InMemoryViews(InMemoryAggregates[DossierView]):
    """The DossierViews port over domain objects."""

    def __init__(self) -> None:
        super().__init__(lambda v: v.id)

    async def by_code(self, code: str) -> DossierView | None:
        found = [v for v in self.items.values() if v.code == code]
        return copy.deepcopy(found[0]) if found else None

    async def to_release(self, limit: int = 100) -> list[DossierView]:
        return [copy.deepcopy(v) for v in self.items.values() if v.release_pending][:limit]


class InMemoryNotifications(InMemoryAggregates[Notification]):
    """The Notifications port over domain objects, with its named queries in plain Python."""

    def __init__(self) -> None:
        super().__init__(lambda n: n.id)
        self.claims: dict[str, datetime] = {}

    async def by_reference(self, reference: str) -> Notification | None:
        found = [n for n in self.items.values() if n.reference == reference]
        return copy.deepcopy(found[0]) if found else None

    async def in_status(self, status: NotificationStatus, limit: int = 200) -> list[Notification]:
        return [copy.deepcopy(n) for n in self.items.values() if n.status == status][:limit]

    async def pending_of(self, dossier_id: str, status: NotificationStatus) -> list[Notification]:
        return [copy.deepcopy(n) for n in self.items.values() if n.status == status and n.dossier_id == dossier_id]

    async def awaiting_receipt(self, limit: int = 200) -> list[Notification]:
        return [copy.deepcopy(n) for n in self.items.values() if n.awaiting_receipt][:limit]

    async def of_dossier(self, dossier_id: str, limit: int = 500) -> list[Notification]:
        return [copy.deepcopy(n) for n in self.items.values() if n.dossier_id == dossier_id][:limit]

    async def claim(self, claim_id: str, at: datetime, *, stale_before: datetime) -> bool:
        held = self.claims.get(claim_id)
        if held is not None and held >= stale_before:
            return False
        self.claims[claim_id] = at
        return True

    def published_data(self) -> list[dict[str, Any]]:
        return [event.data for event in self.published]


class InMemoryDeliveries(InMemoryAggregates[WebhookDelivery]):
    """The WebhookDeliveries port over domain objects."""

    def __init__(self) -> None:
        super().__init__(lambda d: d.id)

    async def due(self, now: datetime, limit: int = 100) -> list[WebhookDelivery]:
        due = [copy.deepcopy(d) for d in self.items.values() if d.is_due(now)]
        return sorted(due, key=lambda d: d.next_attempt_at)[:limit]

    async def of_subscription(
        self, subscription_id: str, status: str | None, limit: int = 500
    ) -> list[WebhookDelivery]:
        found = [
            copy.deepcopy(d)
            for d in self.items.values()
            if d.subscription_id == subscription_id and status in (None, d.status)
        ]
        return found[:limit]


class InMemorySubscriptions:
    """The Subscriptions port in a dict."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    async def add(self, doc: dict[str, Any]) -> None:
        self.items[doc["_id"]] = copy.deepcopy(doc)

    async def get(self, subscription_id: str) -> dict[str, Any] | None:
        found = self.items.get(subscription_id)
        return copy.deepcopy(found) if found is not None else None

    async def deactivate(self, subscription_id: str, at: datetime) -> bool:
        if subscription_id not in self.items:
            return False
        self.items[subscription_id] |= {"active": False, "deactivated_at": at}
        return True

    async def active(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(s) for s in self.items.values() if s.get("active")]


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam, a Monday

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeSms:
    """An SMS port that records messages and fails while ``failing`` is set."""

    def __init__(self, *, receipts: bool = False) -> None:
        self.sent: list[SmsMessage] = []
        self.failing = False
        self.receipts = receipts

    async def send(self, message: SmsMessage) -> Accepted:
        if self.failing:
            raise SmsError("fake: gateway down")
        self.sent.append(message)
        return Accepted("fake", f"m{len(self.sent)}", awaits_receipt=self.receipts)


class FakeProvider:
    """One SMS provider of the failover sender."""

    def __init__(self, name: str, priority: int) -> None:
        self.name, self.priority = name, priority
        self.failing = False
        self.sent: list[SmsMessage] = []

    async def send(self, message: SmsMessage) -> Accepted:
        if self.failing:
            raise SmsError(f"{self.name}: HTTP 503")
        self.sent.append(message)
        return Accepted(self.name, None, awaits_receipt=False)


class FakeEmail:
    """An e-mail port that records messages."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    async def send(self, *, to: str, subject: str, text: str) -> None:
        self.sent.append({"to": to, "subject": subject, "text": text})


class FakeWebhooks:
    """A webhook client answering from a plan of status codes (then 200)."""

    def __init__(self, plan: list[int] | None = None) -> None:
        self.plan = list(plan or [])
        self.calls: list[dict[str, Any]] = []

    async def check(self, url: str) -> str:
        return "203.0.113.10"

    async def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> int:
        status = self.plan.pop(0) if self.plan else 200
        self.calls.append({"url": url, "body": body, "headers": headers, "status": status})
        return status


class FakeLive:
    """Records live pushes."""

    def __init__(self) -> None:
        self.pushed: list[tuple[str, dict[str, Any]]] = []

    def publish(self, dossier_id: str, entry: dict[str, Any]) -> None:
        self.pushed.append((dossier_id, entry))
