"""In-memory repositories of intake's domain objects for unit tests (no store query is interpreted here)."""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime
from typing import Any

from services.intake.domain.api_keys import ApiKey
from services.intake.domain.dossier import Dossier
from services.intake.domain.ports import Claim
from services.intake.domain.ticket import Ticket
from shared.abuse import AbuseGuard
from shared.settings import BaseServiceSettings
from tests.support.aggregates import InMemoryAggregates


class InMemoryDossiers(InMemoryAggregates[Dossier]):
    """Dossiers by id, with the unique code and idempotency key the real collection has."""

    def __init__(self) -> None:
        super().__init__(lambda d: d.id)

    async def add(self, aggregate: Dossier, *, consumed: str | None = None) -> bool:
        await asyncio.sleep(0)  # let concurrent callers interleave as they would against a store
        if any(d.code == aggregate.code or d.idempotency_key == aggregate.idempotency_key for d in self.items.values()):
            return False
        return await super().add(aggregate, consumed=consumed)

    async def by_code(self, code: str) -> Dossier | None:
        return next((copy.deepcopy(d) for d in self.items.values() if d.code == code), None)

    async def by_idempotency_key(self, key: str) -> Dossier | None:
        return next((copy.deepcopy(d) for d in self.items.values() if d.idempotency_key == key), None)

    async def of_citizen(self, citizen_id_hash: str, office_code: str, limit: int) -> list[Dossier]:
        found = [
            copy.deepcopy(d)
            for d in self.items.values()
            if d.applicant.citizen_id_hash == citizen_id_hash and d.office_code == office_code
        ]
        return sorted(found, key=lambda d: d.received_at, reverse=True)[:limit]


class InMemoryTickets(InMemoryAggregates[Ticket]):
    """Queue tickets by id."""

    def __init__(self) -> None:
        super().__init__(lambda t: t.id)

    async def waiting(self, centre: str, day: str, service: str | None, limit: int) -> list[Ticket]:
        return await self.of_day(centre, day, service=service, statuses=["waiting"], limit=limit)

    async def of_day(
        self, centre: str, day: str, *, service: str | None, statuses: list[str], limit: int
    ) -> list[Ticket]:
        rows = [
            copy.deepcopy(t)
            for t in self.items.values()
            if (t.centre, t.day) == (centre, day) and t.status in statuses and service in (None, t.service)
        ]
        return sorted(rows, key=lambda t: t.number)[:limit]


class InMemorySequences:
    """Counters in a dict."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    async def next(self, counter_id: str) -> int:
        await asyncio.sleep(0)
        self.counters[counter_id] = self.counters.get(counter_id, 0) + 1
        return self.counters[counter_id]


class InMemoryClaims:
    """Idempotency claims: the first caller of a key gets None, later ones the holder (stale ones taken over)."""

    def __init__(self, dossiers: InMemoryDossiers) -> None:
        self.dossiers = dossiers
        self.claims: dict[str, Claim] = {}

    async def claim(self, key: str, *, body_sha256: str, at: datetime, stale_before: datetime) -> Claim | None:
        await asyncio.sleep(0)
        holder = self.claims.get(key)
        if holder is not None and (holder.at >= stale_before or await self.dossiers.by_idempotency_key(key)):
            return holder
        self.claims[key] = Claim(body_sha256, at)
        return None


class InMemoryApiKeys:
    """Keys by id; counts the look-ups by hash (what the key cache saves)."""

    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}
        self.hash_lookups = 0

    async def add(self, key: ApiKey) -> None:
        self.keys[key.id] = key

    async def active_by_hash(self, secret_sha256: str) -> ApiKey | None:
        self.hash_lookups += 1
        return next((k for k in self.keys.values() if k.secret_sha256 == secret_sha256 and k.revoked_at is None), None)

    async def is_revoked(self, key_id: str) -> bool:
        key = self.keys.get(key_id)
        return key is None or key.revoked_at is not None

    async def revoke(self, key_id: str, at: datetime) -> bool:
        key = self.keys.get(key_id)
        if key is None or key.revoked_at is not None:
            return False
        self.keys[key_id] = ApiKey(key.id, key.secret_sha256, key.office_code, key.created_at, at)
        return True


class InMemoryFiles:
    """Dossier files in a dict."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, dict[str, Any]]] = {}

    async def put(self, file_id: str, filename: str, data: bytes, metadata: dict[str, Any]) -> bool:
        if file_id in self.files:
            return False
        self.files[file_id] = (data, dict(metadata))
        return True

    async def get(self, file_id: str) -> tuple[bytes, dict[str, Any]] | None:
        return self.files.get(file_id)


class Fakes:
    """One set of in-memory ports, and the ``bootstrap`` overrides that use them."""

    def __init__(self) -> None:
        self.dossiers = InMemoryDossiers()
        self.tickets = InMemoryTickets()
        self.sequences = InMemorySequences()
        self.claims = InMemoryClaims(self.dossiers)
        self.api_keys = InMemoryApiKeys()
        self.files = InMemoryFiles()

    def overrides(self, settings: BaseServiceSettings) -> dict[str, Any]:
        """Every store-backed dependency replaced (abuse counters in memory)."""
        return {
            "dossiers": self.dossiers,
            "tickets": self.tickets,
            "sequences": self.sequences,
            "claims": self.claims,
            "api_keys": self.api_keys,
            "files": self.files,
            "abuse": AbuseGuard.from_settings(None, settings),
        }
