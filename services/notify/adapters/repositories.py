"""Notify's repositories: dossier views, notifications and webhook deliveries (aggregates, through the unit of
work), and the subscriptions. Mongo filters and operators live only here."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from services.notify.domain.deliveries import Attempt, WebhookDelivery
from services.notify.domain.notifications import Notification, NotificationStatus, SentDetails
from services.notify.domain.view import DossierView, StoredContact, TimelineEntry
from shared.outbox import OutboxRelay
from shared.store import update_document
from shared.unit_of_work import MongoAggregates, flat_arguments, flat_document

SOURCE = "/lienthong/notify"
#: documents each repository keeps as written, so the next change of one starts without a read (one write):
#: a dossier's events come to this instance in order (keyed by dossier), a message's outcome follows its insert
VIEW_SNAPSHOTS = 2000
NOTIFICATION_SNAPSHOTS = 1000
#: the fields of what the provider said, stored flat as before the aggregate (the sweeper asks awaiting_receipt)
_SENT_FIELDS = ("encoding", "segments", "provider_message_id")


_ENTRY_FIELDS = tuple(f.name for f in fields(TimelineEntry))
_CONTACT_FIELDS = tuple(f.name for f in fields(StoredContact))


class ViewMapper:
    """A dossier view ↔ its document (today's shape: timeline entries and contact as sub-documents)."""

    def to_document(self, v: DossierView) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "_id": v.id,
            "code": v.code,
            "created_at": v.created_at,
            "timeline": [entry.as_dict() for entry in v.timeline],
            "versions": dict(v.versions),
            "contact": None if v.contact is None else _contact_document(v.contact),
            "preferences": v.preferences,
            "token_sha256": v.token_sha256,
            "procedure": v.procedure,
        }
        if v.result_url is not None:
            doc["result_url"] = v.result_url
        if v.release_pending:
            doc["release_pending"] = True  # absent otherwise: the workers look views up by it
        return doc

    def from_document(self, doc: Mapping[str, Any]) -> DossierView:
        contact = doc.get("contact")
        return DossierView(
            id=doc["_id"],
            code=doc["code"],
            created_at=doc["created_at"],
            timeline=[TimelineEntry(**{k: e.get(k) for k in _ENTRY_FIELDS}) for e in doc.get("timeline") or []],
            versions=dict(doc.get("versions") or {}),
            contact=None
            if contact is None
            else StoredContact(**{k: contact[k] for k in _CONTACT_FIELDS if k in contact}),
            preferences=doc.get("preferences"),
            token_sha256=doc.get("token_sha256"),
            result_url=doc.get("result_url"),
            procedure=doc.get("procedure"),
            release_pending=bool(doc.get("release_pending")),
        )


def _contact(raw: Mapping[str, Any]) -> StoredContact:
    return StoredContact(**{k: raw[k] for k in _CONTACT_FIELDS if k in raw})


def _contact_document(contact: StoredContact) -> dict[str, Any]:
    # as stored before the aggregate: only the fields that have a value
    return {k: v for k, v in asdict(contact).items() if v is not None}


class ViewRepository(MongoAggregates[DossierView]):
    """The citizens' dossier views, by id and by code, and those with notifications to release."""

    def __init__(self, db: Any, *, snapshots: int = VIEW_SNAPSHOTS) -> None:
        super().__init__(db["dossiers"], ViewMapper(), source=SOURCE, snapshots=snapshots)

    async def ensure_indexes(self) -> None:
        """Look-ups by dossier code, and the workers' look-up of views with notifications to release."""
        await self.collection.create_index("code", name="code")
        await self.collection.create_index("release_pending", name="release_pending")

    async def by_code(self, code: str) -> DossierView | None:
        """The view of the dossier with this code."""
        found = await self.find({"code": code}, limit=1)
        return found[0] if found else None

    async def to_release(self, limit: int = 100) -> list[DossierView]:
        """Views whose contact came after notifications that may still wait for it."""
        return await self.find({"release_pending": True}, limit=limit)


class NotificationMapper:
    """A notification ↔ its document (today's shape: flat, status as its string, what was sent inlined)."""

    def to_document(self, n: Notification) -> dict[str, Any]:
        doc = flat_document(n, skip={"sent"})
        doc["awaiting_receipt"] = n.sent is not None and n.sent.awaiting_receipt
        if n.sent is not None:
            doc["sent_at"] = n.sent.sent_at
            doc |= {name: getattr(n.sent, name) for name in _SENT_FIELDS}
        return doc

    def from_document(self, doc: Mapping[str, Any]) -> Notification:
        sent = None
        if doc.get("sent_at") is not None:
            sent = SentDetails(
                sent_at=doc["sent_at"],
                awaiting_receipt=bool(doc.get("awaiting_receipt")),
                **{name: doc.get(name) for name in _SENT_FIELDS},
            )
        return Notification(
            **flat_arguments(Notification, doc, skip={"context", "template_version", "status", "sent"}),
            context=dict(doc.get("context") or {}),
            template_version=doc.get("template_version", ""),
            status=NotificationStatus(doc["status"]),
            sent=sent,
        )


class NotificationRepository(MongoAggregates[Notification]):
    """Notifications, with the sweeper's and the receipts' look-ups, and the send claims."""

    def __init__(self, db: Any, relay: OutboxRelay | None = None, *, snapshots: int = NOTIFICATION_SNAPSHOTS) -> None:
        super().__init__(db["notifications"], NotificationMapper(), source=SOURCE, relay=relay, snapshots=snapshots)
        self.claims = db["claims"]

    async def ensure_indexes(self) -> None:
        """Worker scans by status, look-ups by dossier and by provider reference; the receipt sweep by its flag
        (sent is also where every finished SMS rests: without it the sweep read all of them)."""
        await self.collection.create_index([("status", ASCENDING)], name="status")
        await self.collection.create_index([("awaiting_receipt", ASCENDING)], name="awaiting_receipt")
        await self.collection.create_index([("dossier_id", ASCENDING)], name="dossier_id")
        await self.collection.create_index([("reference", ASCENDING)], name="reference")

    async def by_reference(self, reference: str) -> Notification | None:
        """The notification an SMS gateway knows by our random ``reference``."""
        found = await self.find({"reference": reference}, limit=1)
        return found[0] if found else None

    async def in_status(self, status: NotificationStatus, limit: int = 200) -> list[Notification]:
        """Notifications in ``status`` (the workers' scans; an indexed equality)."""
        return await self.find({"status": status.value}, limit=limit)

    async def pending_of(self, dossier_id: str, status: NotificationStatus) -> list[Notification]:
        """One dossier's notifications in ``status``."""
        return await self.find({"status": status.value, "dossier_id": dossier_id}, limit=500)

    async def awaiting_receipt(self, limit: int = 200) -> list[Notification]:
        """Sent messages still awaiting their delivery receipt."""
        return await self.find({"status": NotificationStatus.SENT.value, "awaiting_receipt": True}, limit=limit)

    async def of_dossier(self, dossier_id: str, limit: int = 500) -> list[Notification]:
        """Every notification of a dossier."""
        return await self.find({"dossier_id": dossier_id}, limit=limit)

    async def claim(self, claim_id: str, at: datetime, *, stale_before: datetime) -> bool:
        """Take the right to make one side effect; True for exactly one caller across all instances.

        An insert on a unique ``_id`` is atomic and indexed on MongoDB and FerretDB alike, so two notify
        instances never send the same attempt twice. A claim older than ``stale_before`` belongs to a
        process that stopped before using it: it is taken over (deleted by its exact timestamp, so only
        one taker wins the re-insert).
        """
        if await _insert_once(self.claims, {"_id": claim_id, "at": at}):
            return True
        stale = await self.claims.find_one_and_delete({"_id": claim_id, "at": {"$lt": stale_before}})
        return stale is not None and await _insert_once(self.claims, {"_id": claim_id, "at": at})


class DeliveryMapper:
    """A webhook delivery ↔ its document (today's shape: flat, the attempts' log as sub-documents)."""

    def to_document(self, d: WebhookDelivery) -> dict[str, Any]:
        log = [{"at": a.at, "attempt": a.attempt, "outcome": a.outcome} for a in d.log]
        return flat_document(d, skip={"log"}) | {"log": log}

    def from_document(self, doc: Mapping[str, Any]) -> WebhookDelivery:
        return WebhookDelivery(
            **flat_arguments(WebhookDelivery, doc, skip={"body", "log"}),
            body=dict(doc["body"]),
            log=[Attempt(e["at"], e["attempt"], e["outcome"]) for e in doc.get("log") or []],
        )


class DeliveryRepository(MongoAggregates[WebhookDelivery]):
    """Webhook deliveries, with the worker's and the admin's look-ups."""

    def __init__(self, db: Any, relay: OutboxRelay | None = None) -> None:
        super().__init__(db["webhook_deliveries"], DeliveryMapper(), source=SOURCE, relay=relay)

    async def ensure_indexes(self) -> None:
        """Worker scans by status, admin look-ups by subscription."""
        await self.collection.create_index([("status", ASCENDING)], name="status")
        await self.collection.create_index([("subscription_id", ASCENDING)], name="subscription_id")

    async def due(self, now: datetime, limit: int = 100) -> list[WebhookDelivery]:
        """Pending deliveries whose next attempt is due, oldest first."""
        query = {"status": "pending", "next_attempt_at": {"$lte": now}}
        return await self.find(query, sort=[("next_attempt_at", ASCENDING)], limit=limit)

    async def of_subscription(
        self, subscription_id: str, status: str | None, limit: int = 500
    ) -> list[WebhookDelivery]:
        """Deliveries of one subscription (optionally in one status), oldest first."""
        query: dict[str, Any] = {"subscription_id": subscription_id}
        if status is not None:
            query["status"] = status
        return await self.find(query, sort=[("created_at", ASCENDING)], limit=limit)


class MongoSubscriptions:
    """App back ends' webhook subscriptions (plain documents: no events, no transitions worth an aggregate)."""

    def __init__(self, db: Any, *, cache_ttl: float = 2.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.collection = db["subscriptions"]
        self._cache_ttl, self._monotonic = cache_ttl, monotonic
        self._active: tuple[float, list[dict[str, Any]]] | None = None  # (read at, subscriptions)

    async def add(self, doc: dict[str, Any]) -> None:
        """Store a new subscription."""
        await self.collection.insert_one(doc)
        self._active = None

    async def get(self, subscription_id: str) -> dict[str, Any] | None:
        """One subscription."""
        found: dict[str, Any] | None = await self.collection.find_one({"_id": subscription_id})
        return found

    async def deactivate(self, subscription_id: str, at: datetime) -> bool:
        """Stop deliveries to it; False when unknown."""
        updated = await update_document(
            self.collection, subscription_id, {"$set": {"active": False, "deactivated_at": at}}
        )
        self._active = None
        return updated is not None

    async def active(self) -> list[dict[str, Any]]:
        """Subscriptions that receive deliveries (read at most every ``cache_ttl`` seconds; a delivery checks
        its subscription again before it is sent, so a deactivated one gets nothing)."""
        now = self._monotonic()
        if self._active is None or now - self._active[0] >= self._cache_ttl:
            self._active = (now, list(await self.collection.find({"active": True}).to_list(1000)))
        return [dict(sub) for sub in self._active[1]]


async def _insert_once(collection: Any, doc: dict[str, Any]) -> bool:
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True
