"""Intake's collections for logged-in citizens: login attempts, sessions, results, and their dossiers.

Sessions and login attempts are found by the SHA-256 of their random token (a database reader cannot use
one). FerretDB has no TTL indexes, so expired entries are refused on read and purged when logins start.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from services.intake.adapters.repositories import DossierMapper
from services.intake.domain.dossier import Dossier


class CitizenStore:
    """Repository of the citizen portal over intake's own database."""

    def __init__(self, db: Any) -> None:
        self.logins = db["citizen_logins"]
        self.sessions = db["citizen_sessions"]
        self.results = db["citizen_results"]
        # the dossiers as intake's repository stores them (adapters/repositories.py), read here only
        self.dossiers = db["dossiers"]
        self._mapper = DossierMapper()

    async def ensure_indexes(self) -> None:
        """Expiry look-ups for the purge (dossiers by citizen use intake's own ``citizen_id_hash`` index)."""
        await self.logins.create_index("expires_at", name="expires_at")
        await self.sessions.create_index("expires_at", name="expires_at")

    async def save_login(self, doc: dict[str, Any]) -> None:
        """Keep a login attempt until its callback (``_id`` = hash of its state)."""
        await self.logins.insert_one(doc)

    async def take_login(self, state_hash: str) -> dict[str, Any] | None:
        """The login attempt of this state, removed at once: a callback is redeemed only once."""
        found: dict[str, Any] | None = await self.logins.find_one_and_delete({"_id": state_hash})
        return found

    async def purge_expired(self, now: datetime) -> None:
        """Drop expired login attempts and sessions."""
        await self.logins.delete_many({"expires_at": {"$lt": now}})
        await self.sessions.delete_many({"expires_at": {"$lt": now}})

    async def save_session(self, doc: dict[str, Any]) -> None:
        """Keep a citizen's session (``_id`` = hash of the cookie's token)."""
        await self.sessions.insert_one(doc)

    async def session(self, token_hash: str) -> dict[str, Any] | None:
        """A session by the hash of its token."""
        found: dict[str, Any] | None = await self.sessions.find_one({"_id": token_hash})
        return found

    async def end_session(self, token_hash: str) -> None:
        """Log out: the token stops working at once, on every instance."""
        await self.sessions.delete_one({"_id": token_hash})

    async def dossiers_of(self, citizen_id_hash: str, limit: int) -> list[Dossier]:
        """Every dossier of one citizen, filed anywhere, newest first."""
        cursor = self.dossiers.find({"applicant.citizen_id_hash": citizen_id_hash})
        found = await cursor.sort("received_at", DESCENDING).limit(limit).to_list(limit)
        return [self._mapper.from_document(doc) for doc in found]

    async def dossier_of(self, citizen_id_hash: str, code: str) -> Dossier | None:
        """The dossier ``code`` if it is this citizen's (None for anyone else's and for unknown codes)."""
        found = await self.dossiers.find_one({"code": code, "applicant.citizen_id_hash": citizen_id_hash})
        return self._mapper.from_document(found) if found is not None else None

    async def record_result(self, dossier_id: str, result: dict[str, Any]) -> None:
        """The citizen's signed result of a dossier: the latest signed wins; a redelivery writes the same."""
        # a later result already recorded makes the filter miss, and the upsert then collides on _id
        with contextlib.suppress(DuplicateKeyError):
            await self.results.update_one(
                {"_id": dossier_id, "signed_at": {"$lte": result["signed_at"]}}, {"$set": result}, upsert=True
            )

    async def results_of(self, dossier_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Results by dossier id."""
        if not dossier_ids:
            return {}
        found = await self.results.find({"_id": {"$in": dossier_ids}}).to_list(len(dossier_ids))
        return {doc["_id"]: doc for doc in found}
