"""An in-memory audit trail for unit tests (the real one writes to the service's ``audit`` collection)."""

from __future__ import annotations

from typing import Any

from shared.audit import AuditTrail


class _Collection:
    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []

    async def insert_one(self, doc: dict[str, Any]) -> None:
        self.docs.append(doc)


class MemoryAudit(AuditTrail):
    """Keeps records in a list: ``rows``."""

    def __init__(self, service: str) -> None:
        self.collection = _Collection()
        self.service = service

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every record written, oldest first."""
        return self.collection.docs

    async def records(self, *, actor: str | None, action: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
        """Records, newest first."""
        rows: list[dict[str, Any]] = [
            r for r in reversed(self.rows) if actor in (None, r["actor"]) and action in (None, r["action"])
        ]
        return rows[offset : offset + limit]
