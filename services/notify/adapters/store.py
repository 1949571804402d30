"""Notify's collections: dossier views (contact, token hash, timeline), notifications, subscriptions, deliveries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from shared.store import update_document

Guard = Callable[[dict[str, Any]], bool]


class MongoNotifyStore:
    """Repository over notify's own database (motor); every state change is one single-document write."""

    def __init__(self, db: Any) -> None:
        self.dossiers = db["dossiers"]
        self.notifications = db["notifications"]
        self.subscriptions = db["subscriptions"]
        self.deliveries = db["webhook_deliveries"]
        self.claims = db["claims"]

    async def ensure_indexes(self) -> None:
        """Look-ups by dossier code and worker scans by status."""
        await self.dossiers.create_index("code", name="code")
        await self.dossiers.create_index("release_pending", name="release_pending")
        await self.notifications.create_index([("status", 1)], name="status")
        await self.notifications.create_index([("dossier_id", 1)], name="dossier_id")
        await self.notifications.create_index([("reference", 1)], name="reference")
        await self.deliveries.create_index([("status", 1)], name="status")
        await self.deliveries.create_index([("subscription_id", 1)], name="subscription_id")

    # -- dossier views ---------------------------------------------------------------------------
    async def dossier(self, dossier_id: str) -> dict[str, Any] | None:
        """The dossier view by id."""
        return await _one(self.dossiers, {"_id": dossier_id})

    async def dossier_by_code(self, code: str) -> dict[str, Any] | None:
        """The dossier view by code."""
        return await _one(self.dossiers, {"code": code})

    async def insert_dossier(self, doc: dict[str, Any]) -> bool:
        """Insert a view once; False when it already exists (a concurrent first event created it)."""
        return await _insert_once(self.dossiers, doc)

    async def update_dossier(
        self,
        dossier_id: str,
        update: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any] | None],
        *,
        guard: Guard,
    ) -> dict[str, Any] | None:
        """Guarded single-document update (or one computed from the view); the updated view, or None."""
        return await update_document(self.dossiers, dossier_id, update, guard=guard)

    async def dossiers_to_release(self, limit: int = 100) -> list[dict[str, Any]]:
        """Views marked ``release_pending`` (their contact came after notifications that may wait for it)."""
        return list(await self.dossiers.find({"release_pending": True}).limit(limit).to_list(limit))

    # -- notifications -----------------------------------------------------------------------------
    async def insert_notification(self, doc: dict[str, Any]) -> bool:
        """Insert once (``_id`` = event id + channel); False when it already exists."""
        return await _insert_once(self.notifications, doc)

    async def notification(self, notification_id: str) -> dict[str, Any] | None:
        """One notification."""
        return await _one(self.notifications, {"_id": notification_id})

    async def notification_by_reference(self, reference: str) -> dict[str, Any] | None:
        """The notification an SMS gateway knows by our random ``reference``."""
        return await _one(self.notifications, {"reference": reference})

    async def update_notification(
        self, notification_id: str, update: dict[str, Any], *, guard: Guard
    ) -> dict[str, Any] | None:
        """Guarded update (the status guard before any side effect)."""
        return await update_document(self.notifications, notification_id, update, guard=guard)

    async def claim(self, claim_id: str, at: datetime, *, stale_before: datetime) -> bool:
        """Take the right to make one side effect; True for exactly one caller across all instances.

        An insert on a unique ``_id`` is atomic and indexed on MongoDB and FerretDB alike, unlike a
        conditional update (docs/adr/0002), so two notify instances never send the same attempt twice.
        A claim older than ``stale_before`` belongs to a process that stopped before using it: it is
        taken over (deleted by its exact timestamp, so only one taker wins the re-insert).
        """
        if await _insert_once(self.claims, {"_id": claim_id, "at": at}):
            return True
        stale = await self.claims.find_one_and_delete({"_id": claim_id, "at": {"$lt": stale_before}})
        return stale is not None and await _insert_once(self.claims, {"_id": claim_id, "at": at})

    async def notifications_in(
        self,
        status: str,
        *,
        dossier_id: str | None = None,
        awaiting_receipt: bool | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Notifications in ``status`` (optionally of one dossier, or only those awaiting a receipt)."""
        query: dict[str, Any] = {"status": status}
        if dossier_id is not None:
            query["dossier_id"] = dossier_id
        if awaiting_receipt is not None:
            query["awaiting_receipt"] = awaiting_receipt
        return list(await self.notifications.find(query).limit(limit).to_list(limit))

    async def notifications_of(self, dossier_id: str, limit: int = 500) -> list[dict[str, Any]]:
        """Every notification of a dossier."""
        return list(await self.notifications.find({"dossier_id": dossier_id}).limit(limit).to_list(limit))

    # -- webhooks ----------------------------------------------------------------------------------
    async def insert_subscription(self, doc: dict[str, Any]) -> None:
        """Store a new subscription."""
        await self.subscriptions.insert_one(doc)

    async def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        """One subscription."""
        return await _one(self.subscriptions, {"_id": subscription_id})

    async def update_subscription(self, subscription_id: str, update: dict[str, Any]) -> dict[str, Any] | None:
        """Change a subscription (e.g. deactivate it)."""
        return await update_document(self.subscriptions, subscription_id, update)

    async def active_subscriptions(self) -> list[dict[str, Any]]:
        """Subscriptions that receive deliveries."""
        return list(await self.subscriptions.find({"active": True}).to_list(1000))

    async def insert_delivery(self, doc: dict[str, Any]) -> bool:
        """Insert once (``_id`` = event id + subscription id); False when it already exists."""
        return await _insert_once(self.deliveries, doc)

    async def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        """One webhook delivery."""
        return await _one(self.deliveries, {"_id": delivery_id})

    async def update_delivery(self, delivery_id: str, update: dict[str, Any], *, guard: Guard) -> dict[str, Any] | None:
        """Guarded update of a delivery."""
        return await update_document(self.deliveries, delivery_id, update, guard=guard)

    async def due_deliveries(self, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """Pending deliveries whose next attempt is due, oldest first."""
        query = {"status": "pending", "next_attempt_at": {"$lte": now}}
        return list(await self.deliveries.find(query).sort("next_attempt_at", 1).limit(limit).to_list(limit))

    async def deliveries_of(self, subscription_id: str, status: str | None, limit: int = 500) -> list[dict[str, Any]]:
        """Deliveries of one subscription (optionally in one status), oldest first."""
        query: dict[str, Any] = {"subscription_id": subscription_id}
        if status is not None:
            query["status"] = status
        return list(await self.deliveries.find(query).sort("created_at", 1).limit(limit).to_list(limit))


async def _one(collection: Any, query: dict[str, Any]) -> dict[str, Any] | None:
    found: dict[str, Any] | None = await collection.find_one(query)
    return found


async def _insert_once(collection: Any, doc: dict[str, Any]) -> bool:
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True
