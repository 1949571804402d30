"""In-memory fakes of notify's ports: store, SMS providers, e-mail, webhook client, outbox, live feed, clock."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.adapters.sms import Accepted, SmsError, SmsMessage

Guard = Callable[[dict[str, Any]], bool]


def _path(doc: dict[str, Any], dotted: str) -> tuple[dict[str, Any], str]:
    *parents, leaf = dotted.split(".")
    for part in parents:
        doc = doc.setdefault(part, {})
    return doc, leaf


def apply_update(doc: dict[str, Any], update: dict[str, Any]) -> None:
    """The subset of MongoDB update operators notify uses ($set, $unset, $inc, $push; dotted paths)."""
    for op, fields in update.items():
        for key, value in fields.items():
            parent, leaf = _path(doc, key)
            if op == "$set":
                parent[leaf] = copy.deepcopy(value)
            elif op == "$unset":
                parent.pop(leaf, None)
            elif op == "$inc":
                parent[leaf] = parent.get(leaf, 0) + value
            elif op == "$push":
                parent.setdefault(leaf, []).append(copy.deepcopy(value))
            else:
                raise NotImplementedError(op)


class _Collection:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    def insert_once(self, doc: dict[str, Any]) -> bool:
        if doc["_id"] in self.docs:
            return False
        self.docs[doc["_id"]] = copy.deepcopy(doc)
        return True

    def get(self, doc_id: str) -> dict[str, Any] | None:
        found = self.docs.get(doc_id)
        return copy.deepcopy(found) if found is not None else None

    def update(self, doc_id: str, update: Any, guard: Guard | None) -> dict[str, Any] | None:
        doc = self.docs.get(doc_id)
        if doc is None or (guard is not None and not guard(copy.deepcopy(doc))):
            return None
        if callable(update):
            update = update(copy.deepcopy(doc))
            if update is None:
                return None
        apply_update(doc, update)
        return copy.deepcopy(doc)

    def where(self, **match: Any) -> list[dict[str, Any]]:
        return [copy.deepcopy(d) for d in self.docs.values() if all(d.get(k) == v for k, v in match.items())]


class FakeStore:
    """NotifyStore in memory (single-document updates applied atomically, guards honoured)."""

    def __init__(self) -> None:
        self.dossiers = _Collection()
        self.notifications = _Collection()
        self.subscriptions = _Collection()
        self.deliveries = _Collection()
        self.claims: dict[str, datetime] = {}

    async def dossier(self, dossier_id: str) -> dict[str, Any] | None:
        return self.dossiers.get(dossier_id)

    async def dossier_by_code(self, code: str) -> dict[str, Any] | None:
        found = self.dossiers.where(code=code)
        return found[0] if found else None

    async def insert_dossier(self, doc: dict[str, Any]) -> bool:
        return self.dossiers.insert_once(doc)

    async def update_dossier(self, dossier_id: str, update: Any, *, guard: Guard) -> dict[str, Any] | None:
        return self.dossiers.update(dossier_id, update, guard)

    async def dossiers_to_release(self, limit: int = 100) -> list[dict[str, Any]]:
        return self.dossiers.where(release_pending=True)[:limit]

    async def insert_notification(self, doc: dict[str, Any]) -> bool:
        return self.notifications.insert_once(doc)

    async def notification(self, notification_id: str) -> dict[str, Any] | None:
        return self.notifications.get(notification_id)

    async def notification_by_reference(self, reference: str) -> dict[str, Any] | None:
        found = [n for n in self.notifications.docs.values() if n.get("reference") == reference]
        return copy.deepcopy(found[0]) if found else None

    async def update_notification(
        self, notification_id: str, update: dict[str, Any], *, guard: Guard
    ) -> dict[str, Any] | None:
        return self.notifications.update(notification_id, update, guard)

    async def claim(self, claim_id: str, at: datetime, *, stale_before: datetime) -> bool:
        held = self.claims.get(claim_id)
        if held is not None and held >= stale_before:
            return False
        self.claims[claim_id] = at
        return True

    async def notifications_in(
        self,
        status: str,
        *,
        dossier_id: str | None = None,
        awaiting_receipt: bool | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        match: dict[str, Any] = {"status": status}
        if dossier_id is not None:
            match["dossier_id"] = dossier_id
        if awaiting_receipt is not None:
            match["awaiting_receipt"] = awaiting_receipt
        return self.notifications.where(**match)[:limit]

    async def notifications_of(self, dossier_id: str, limit: int = 500) -> list[dict[str, Any]]:
        return self.notifications.where(dossier_id=dossier_id)[:limit]

    async def insert_subscription(self, doc: dict[str, Any]) -> None:
        self.subscriptions.insert_once(doc)

    async def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        return self.subscriptions.get(subscription_id)

    async def update_subscription(self, subscription_id: str, update: dict[str, Any]) -> dict[str, Any] | None:
        return self.subscriptions.update(subscription_id, update, None)

    async def active_subscriptions(self) -> list[dict[str, Any]]:
        return self.subscriptions.where(active=True)

    async def insert_delivery(self, doc: dict[str, Any]) -> bool:
        return self.deliveries.insert_once(doc)

    async def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        return self.deliveries.get(delivery_id)

    async def update_delivery(self, delivery_id: str, update: dict[str, Any], *, guard: Guard) -> dict[str, Any] | None:
        return self.deliveries.update(delivery_id, update, guard)

    async def due_deliveries(self, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        due = [d for d in self.deliveries.where(status="pending") if d["next_attempt_at"] <= now]
        return sorted(due, key=lambda d: d["next_attempt_at"])[:limit]

    async def deliveries_of(self, subscription_id: str, status: str | None, limit: int = 500) -> list[dict[str, Any]]:
        match: dict[str, Any] = {"subscription_id": subscription_id}
        if status is not None:
            match["status"] = status
        return self.deliveries.where(**match)[:limit]

    def published(self) -> list[dict[str, Any]]:
        """Every delivery event written to an outbox (notifications and webhook deliveries)."""
        events = []
        for collection in (self.notifications, self.deliveries):
            for doc in collection.docs.values():
                events.extend(entry["event"]["data"] for entry in (doc.get("outbox") or {}).values())
        return sorted(events, key=lambda e: e["occurred_at"])


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


class FakeOutbox:
    """Records kicked document ids."""

    def __init__(self) -> None:
        self.kicked: list[Any] = []

    def kick(self, doc_id: Any = None) -> None:
        self.kicked.append(doc_id)


class FakeLive:
    """Records live pushes."""

    def __init__(self) -> None:
        self.pushed: list[tuple[str, dict[str, Any]]] = []

    def publish(self, dossier_id: str, entry: dict[str, Any]) -> None:
        self.pushed.append((dossier_id, entry))
