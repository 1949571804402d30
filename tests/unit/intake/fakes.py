"""In-memory stand-ins for intake's adapters: the store (with the same unique keys) and the relay."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from shared.envelope import CloudEvent
from shared.topics import event_type_of


def _apply(doc: dict[str, Any], update: dict[str, Any]) -> None:
    """The subset of MongoDB update operators intake uses: $set, $unset, $inc, $push (dotted paths)."""
    for op, fields in update.items():
        for path, value in fields.items():
            *parents, leaf = path.split(".")
            target = doc
            for part in parents:
                target = target.setdefault(part, {})
            if op == "$set":
                target[leaf] = copy.deepcopy(value)
            elif op == "$unset":
                target.pop(leaf, None)
            elif op == "$inc":
                target[leaf] = target.get(leaf, 0) + value
            elif op == "$push":
                target.setdefault(leaf, []).append(copy.deepcopy(value))
            else:  # pragma: no cover - a new operator needs support here first
                raise NotImplementedError(op)


class FakeIntakeStore:
    """Dossiers, counters, keys and tickets in dictionaries, with intake's unique indexes enforced."""

    def __init__(self) -> None:
        self.dossiers: dict[str, dict[str, Any]] = {}
        self.counters: dict[str, int] = {}
        self.api_keys: dict[str, dict[str, Any]] = {}
        self.tickets: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, dict[str, Any]] = {}

    async def ensure_indexes(self) -> None:
        """Nothing to create in memory."""

    async def next_sequence(self, counter_id: str) -> int:
        """Next number; the await lets concurrent callers interleave as they would against a store."""
        await asyncio.sleep(0)
        self.counters[counter_id] = self.counters.get(counter_id, 0) + 1
        return self.counters[counter_id]

    async def claim_idempotency(
        self, key: str, *, body_sha256: str, at: datetime, stale_before: datetime
    ) -> dict[str, Any] | None:
        """The first caller of a key gets None; later ones the holder's claim (stale ones are taken over)."""
        await asyncio.sleep(0)
        holder = self.idempotency.get(key)
        if holder is not None and (holder["at"] >= stale_before or await self.dossier_by_idempotency(key)):
            return copy.deepcopy(holder)
        self.idempotency[key] = {"_id": key, "body_sha256": body_sha256, "at": at}
        return None

    async def dossiers_of_citizen(self, citizen_id_hash: str, office_code: str, limit: int) -> list[dict[str, Any]]:
        """Matching dossiers, newest first."""
        found = [
            copy.deepcopy(d)
            for d in self.dossiers.values()
            if d["applicant"].get("citizen_id_hash") == citizen_id_hash and d["office_code"] == office_code
        ]
        return sorted(found, key=lambda d: d["received_at"], reverse=True)[:limit]

    async def insert_dossier(self, doc: dict[str, Any]) -> None:
        """Insert, enforcing unique _id, code and idempotency key."""
        await asyncio.sleep(0)
        for other in self.dossiers.values():
            if other["code"] == doc["code"] or other["idempotency_key"] == doc["idempotency_key"]:
                raise DuplicateKeyError("duplicate key")
        if doc["_id"] in self.dossiers:
            raise DuplicateKeyError("duplicate _id")
        self.dossiers[doc["_id"]] = copy.deepcopy(doc)

    async def dossier_by_idempotency(self, key: str) -> dict[str, Any] | None:
        """Lookup by idempotency key."""
        return next((copy.deepcopy(d) for d in self.dossiers.values() if d["idempotency_key"] == key), None)

    async def dossier_by_code(self, code: str) -> dict[str, Any] | None:
        """Lookup by code."""
        return next((copy.deepcopy(d) for d in self.dossiers.values() if d["code"] == code), None)

    async def update_dossier(
        self, dossier_id: str, update: dict[str, Any], *, guard: Callable[[dict[str, Any]], bool]
    ) -> bool:
        """Guarded single-document update."""
        doc = self.dossiers.get(dossier_id)
        if doc is None or not guard(copy.deepcopy(doc)):
            return False
        _apply(doc, update)
        return True

    async def insert_api_key(self, doc: dict[str, Any]) -> None:
        """Insert a key."""
        if any(k["secret_sha256"] == doc["secret_sha256"] for k in self.api_keys.values()):
            raise DuplicateKeyError("duplicate hash")
        self.api_keys[doc["_id"]] = dict(doc)

    async def api_key_by_hash(self, secret_sha256: str) -> dict[str, Any] | None:
        """Active key by hash."""
        return next(
            (k for k in self.api_keys.values() if k["secret_sha256"] == secret_sha256 and k["revoked_at"] is None),
            None,
        )

    async def revoke_api_key(self, key_id: str, at: datetime) -> bool:
        """Revoke a key."""
        key = self.api_keys.get(key_id)
        if key is None or key["revoked_at"] is not None:
            return False
        key["revoked_at"] = at
        return True

    async def insert_ticket(self, doc: dict[str, Any]) -> None:
        """Insert a ticket."""
        if doc["_id"] in self.tickets:
            raise DuplicateKeyError("duplicate ticket")
        self.tickets[doc["_id"]] = dict(doc)

    async def call_next_ticket(
        self, centre: str, day: str, counter: str, at: datetime, service: str | None = None
    ) -> dict[str, Any] | None:
        """Oldest waiting ticket of the day (of ``service``, if given) → called."""
        waiting = [
            t
            for t in self.tickets.values()
            if (t["centre"], t["day"], t["status"]) == (centre, day, "waiting")
            and (service is None or t["service"] == service)
        ]
        if not waiting:
            return None
        ticket = min(waiting, key=lambda t: t["number"])
        ticket.update(status="called", counter=counter, called_at=at)
        return dict(ticket)

    async def tickets_of(
        self, centre: str, day: str, *, service: str | None, statuses: list[str], limit: int
    ) -> list[dict[str, Any]]:
        """A day's tickets in ``statuses`` (of ``service``, if given), by number."""
        rows = [
            dict(t)
            for t in self.tickets.values()
            if (t["centre"], t["day"]) == (centre, day)
            and t["status"] in statuses
            and (service is None or t["service"] == service)
        ]
        return sorted(rows, key=lambda t: t["number"])[:limit]

    async def ticket(self, centre: str, day: str, number: int) -> dict[str, Any] | None:
        """One ticket."""
        found = self.tickets.get(f"{centre}:{day}:{number}")
        return dict(found) if found else None

    async def link_ticket(self, centre: str, day: str, number: int, dossier_code: str, at: datetime) -> bool:
        """Called (or served) ticket → served with its dossier."""
        ticket = self.tickets.get(f"{centre}:{day}:{number}")
        if ticket is None or ticket["status"] not in ("called", "served"):
            return False
        ticket.update(status="served", dossier_code=dossier_code, served_at=at)
        return True

    async def mark_no_show(self, centre: str, day: str, number: int, at: datetime) -> dict[str, Any] | None:
        """Called ticket → no-show."""
        ticket = self.tickets.get(f"{centre}:{day}:{number}")
        if ticket is None or ticket["status"] != "called":
            return None
        ticket.update(status="no_show", no_show_at=at)
        return dict(ticket)


class FakeRelay:
    """Records which dossiers were kicked for publication."""

    def __init__(self) -> None:
        self.kicked: list[Any] = []

    def kick(self, doc_id: Any = None) -> None:
        """Remember the kick."""
        self.kicked.append(doc_id)


class FakePublisher:
    """Builds events like the real publisher; publishing is the relay's job, so nothing is sent."""

    def new_event(self, topic: str, *, subject: str | None, data: dict[str, Any], **extra: Any) -> CloudEvent:
        """An intake event for ``topic``."""
        return CloudEvent(source="/lienthong/intake", type=event_type_of(topic), subject=subject, data=data, **extra)
