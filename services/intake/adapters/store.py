"""Intake's MongoDB collections: dossiers (with outbox), code counters, API keys, counter queues."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared.store import update_document


class IntakeStore:
    """Repository over intake's own database."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.dossiers = db["dossiers"]
        self.counters = db["counters"]
        self.api_keys = db["api_keys"]
        self.tickets = db["queue_tickets"]
        self.idempotency = db["idempotency_claims"]
        self._hints: dict[str, int] = {}

    async def ensure_indexes(self) -> None:
        """Unique dossier codes and idempotency keys; key lookup by hash; tickets by centre/day."""
        await self.dossiers.create_index("code", unique=True, name="code")
        await self.dossiers.create_index("idempotency_key", unique=True, name="idempotency_key")
        await self.dossiers.create_index("applicant.citizen_id_hash", name="citizen_id_hash")
        await self.api_keys.create_index("secret_sha256", unique=True, name="secret_sha256")
        await self.counters.create_index([("counter", ASCENDING), ("n", DESCENDING)], name="counter_n")
        await self.tickets.create_index(
            [("centre", ASCENDING), ("day", ASCENDING), ("status", ASCENDING)], name="queue"
        )
        await self.tickets.create_index(
            [("centre", ASCENDING), ("day", ASCENDING), ("service", ASCENDING), ("status", ASCENDING)],
            name="service_queue",
        )

    async def next_sequence(self, counter_id: str) -> int:
        """Claim the next number of ``counter_id`` race-free, across instances and on FerretDB.

        Numbers are claimed by inserting ``<counter>#<n>`` under the unique ``_id`` index: inserts are
        atomic on every store, while FerretDB loses concurrent ``$inc`` updates (docs/adr/0002). Within
        this process each caller takes its candidate before awaiting, so concurrent requests do not all
        collide on the same number; only another instance's claims cause a retry.
        """
        if counter_id not in self._hints:
            last = await self._last_claimed(counter_id)
            self._hints.setdefault(counter_id, last)  # a concurrent caller may have filled it meanwhile
        while True:
            n = self._hints[counter_id] + 1
            self._hints[counter_id] = n
            try:
                await self.counters.insert_one({"_id": f"{counter_id}#{n}", "counter": counter_id, "n": n})
            except DuplicateKeyError:
                # another instance is numbering the same counter: continue after its latest claim
                self._hints[counter_id] = max(self._hints[counter_id], await self._last_claimed(counter_id))
                continue
            return n

    async def _last_claimed(self, counter_id: str) -> int:
        last = await self.counters.find({"counter": counter_id}).sort("n", DESCENDING).limit(1).to_list(1)
        return int(last[0]["n"]) if last else 0

    async def claim_idempotency(
        self, key: str, *, body_sha256: str, at: datetime, stale_before: datetime
    ) -> dict[str, Any] | None:
        """Claim an idempotency key before numbering (None = ours); the holder's claim when another has it.

        A unique ``_id`` insert is atomic on every store. A claim older than ``stale_before`` whose dossier
        never came belongs to a request that died: it is taken over (deleted by its exact time, one winner).
        """
        claim = {"_id": key, "body_sha256": body_sha256, "at": at}
        for _ in range(2):
            try:
                await self.idempotency.insert_one(claim)
                return None
            except DuplicateKeyError:
                holder: dict[str, Any] | None = await self.idempotency.find_one({"_id": key})
                if holder is None:
                    continue  # released meanwhile
                if holder["at"] >= stale_before or await self.dossier_by_idempotency(key) is not None:
                    return holder
                await self.idempotency.delete_one({"_id": key, "at": holder["at"]})
        last: dict[str, Any] | None = await self.idempotency.find_one({"_id": key})
        return last

    async def insert_dossier(self, doc: dict[str, Any]) -> None:
        """Insert a dossier together with its outbox (raises DuplicateKeyError on a reused idempotency key)."""
        await self.dossiers.insert_one(doc)

    async def dossier_by_idempotency(self, key: str) -> dict[str, Any] | None:
        """The dossier already created with this office-scoped idempotency key."""
        found: dict[str, Any] | None = await self.dossiers.find_one({"idempotency_key": key})
        return found

    async def dossiers_of_citizen(self, citizen_id_hash: str, office_code: str, limit: int) -> list[dict[str, Any]]:
        """An office's dossiers of one citizen, by the keyed hash of the citizen ID (newest first)."""
        cursor = self.dossiers.find({"applicant.citizen_id_hash": citizen_id_hash, "office_code": office_code})
        found: list[dict[str, Any]] = await cursor.sort("received_at", DESCENDING).limit(limit).to_list(limit)
        return found

    async def dossier_by_code(self, code: str) -> dict[str, Any] | None:
        """A dossier by its code."""
        found: dict[str, Any] | None = await self.dossiers.find_one({"code": code})
        return found

    async def update_dossier(
        self, dossier_id: str, update: dict[str, Any], *, guard: Callable[[dict[str, Any]], bool]
    ) -> bool:
        """One single-document update applied only if ``guard(dossier)`` holds; True when applied."""
        return await update_document(self.dossiers, dossier_id, update, guard=guard) is not None

    async def insert_api_key(self, doc: dict[str, Any]) -> None:
        """Store a new API key (hash only)."""
        await self.api_keys.insert_one(doc)

    async def api_key_by_hash(self, secret_sha256: str) -> dict[str, Any] | None:
        """A key that is not revoked, by the hash of the presented secret."""
        found: dict[str, Any] | None = await self.api_keys.find_one(
            {"secret_sha256": secret_sha256, "revoked_at": None}
        )
        return found

    async def revoke_api_key(self, key_id: str, at: datetime) -> bool:
        """Revoke a key; True when it existed and was active."""
        result = await self.api_keys.update_one({"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": at}})
        return bool(result.modified_count)

    async def insert_ticket(self, doc: dict[str, Any]) -> None:
        """Store a queue ticket."""
        await self.tickets.insert_one(doc)

    async def call_next_ticket(
        self, centre: str, day: str, counter: str, at: datetime, service: str | None = None
    ) -> dict[str, Any] | None:
        """Atomically hand the oldest waiting ticket of the day (of one service's queue, if given) to ``counter``."""
        query: dict[str, Any] = {"centre": centre, "day": day, "status": "waiting"}
        if service is not None:
            query["service"] = service
        ticket: dict[str, Any] | None = await self.tickets.find_one_and_update(
            query,
            {"$set": {"status": "called", "counter": counter, "called_at": at}},
            sort=[("number", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        return ticket

    async def tickets_of(
        self, centre: str, day: str, *, service: str | None, statuses: list[str], limit: int
    ) -> list[dict[str, Any]]:
        """A day's tickets of a centre (one service's, if given) in the given statuses, in number order."""
        query: dict[str, Any] = {"centre": centre, "day": day, "status": {"$in": statuses}}
        if service is not None:
            query["service"] = service
        found: list[dict[str, Any]] = await self.tickets.find(query).sort("number", ASCENDING).to_list(limit)
        return found

    async def ticket(self, centre: str, day: str, number: int) -> dict[str, Any] | None:
        """One ticket of the day."""
        found: dict[str, Any] | None = await self.tickets.find_one({"_id": f"{centre}:{day}:{number}"})
        return found

    async def link_ticket(self, centre: str, day: str, number: int, dossier_code: str, at: datetime) -> bool:
        """Record on a called ticket the dossier filed for its holder (its visit is served)."""
        result = await self.tickets.update_one(
            {"_id": f"{centre}:{day}:{number}", "status": {"$in": ["called", "served"]}},
            {"$set": {"status": "served", "dossier_code": dossier_code, "served_at": at}},
        )
        return bool(result.matched_count)

    async def mark_no_show(self, centre: str, day: str, number: int, at: datetime) -> dict[str, Any] | None:
        """A called ticket whose holder did not come."""
        ticket: dict[str, Any] | None = await self.tickets.find_one_and_update(
            {"_id": f"{centre}:{day}:{number}", "status": "called"},
            {"$set": {"status": "no_show", "no_show_at": at}},
            return_document=ReturnDocument.AFTER,
        )
        return ticket
