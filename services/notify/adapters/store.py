"""Notify's collections: dossier views (contact, token hash, timeline), notifications, subscriptions, deliveries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.store import update_document


class NotifyStore:
    """Repository over notify's own database."""

    def __init__(self, db: Any) -> None:
        self.dossiers = db["dossiers"]
        self.notifications = db["notifications"]
        self.subscriptions = db["subscriptions"]
        self.deliveries = db["webhook_deliveries"]

    async def ensure_indexes(self) -> None:
        """Look-ups by dossier code and worker scans by status."""
        await self.dossiers.create_index("code", name="code")
        await self.notifications.create_index([("status", 1)], name="status")
        await self.deliveries.create_index([("status", 1)], name="status")

    async def dossier(self, dossier_id: str) -> dict[str, Any] | None:
        """The dossier view by id."""
        return await self.dossiers.find_one({"_id": dossier_id})

    async def dossier_by_code(self, code: str) -> dict[str, Any] | None:
        """The dossier view by code."""
        return await self.dossiers.find_one({"code": code})

    async def ensure_dossier(self, dossier_id: str, code: str) -> None:
        """Create an empty view if the dossier is not known yet (events may arrive before the receipt)."""
        if await self.dossier(dossier_id) is None:
            try:
                await self.dossiers.insert_one(
                    {
                        "_id": dossier_id,
                        "code": code,
                        "timeline": [],
                        "seen_events": [],
                        "contact": None,
                        "token_sha256": None,
                        "notify": None,
                    }
                )
            except Exception as exc:  # a concurrent first event created it
                if "duplicate" not in str(exc).lower():
                    raise

    async def update_dossier(
        self, dossier_id: str, update: dict[str, Any], *, guard: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """Guarded single-document update of a dossier view."""
        return await update_document(self.dossiers, dossier_id, update, guard=guard)

    async def insert_notification(self, doc: dict[str, Any]) -> bool:
        """Insert once (``_id`` = event id + channel); False when it already exists."""
        try:
            await self.notifications.insert_one(doc)
        except Exception as exc:
            if "duplicate" in str(exc).lower() or "E11000" in str(exc):
                return False
            raise
        return True

    async def update_notification(
        self, notification_id: str, update: dict[str, Any], *, guard: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """Guarded update of a notification (status guard before any side effect)."""
        return await update_document(self.notifications, notification_id, update, guard=guard)

    async def notifications_where(self, query: dict[str, Any], limit: int = 200) -> list[dict[str, Any]]:
        """Notifications matching ``query``."""
        return await self.notifications.find(query).limit(limit).to_list(limit)

    async def subscriptions_for(self, event_type: str) -> list[dict[str, Any]]:
        """Active subscriptions that want ``event_type``."""
        return [
            s async for s in self.subscriptions.find({"active": True}) if not s["events"] or event_type in s["events"]
        ]

    async def due_deliveries(self, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """Webhook deliveries whose next attempt is due."""
        return [
            d async for d in self.deliveries.find({"status": "pending"}).limit(limit) if d["next_attempt_at"] <= now
        ]
