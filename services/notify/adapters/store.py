"""Notify's dossier views (contact, token hash, timeline): one document per dossier, guarded single updates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo.errors import DuplicateKeyError

from shared.store import update_document

Guard = Callable[[dict[str, Any]], bool]


class MongoNotifyStore:
    """The dossier views on notify's own database (motor); every change is one guarded single-document write."""

    def __init__(self, db: Any) -> None:
        self.dossiers = db["dossiers"]

    async def ensure_indexes(self) -> None:
        """Look-ups by dossier code, and the workers' look-up of views with notifications to release."""
        await self.dossiers.create_index("code", name="code")
        await self.dossiers.create_index("release_pending", name="release_pending")

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


async def _one(collection: Any, query: dict[str, Any]) -> dict[str, Any] | None:
    found: dict[str, Any] | None = await collection.find_one(query)
    return found


async def _insert_once(collection: Any, doc: dict[str, Any]) -> bool:
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True
