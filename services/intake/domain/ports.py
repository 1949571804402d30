"""What intake's use cases need from outside (implemented in services/intake/adapters, faked in unit tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.intake.domain.api_keys import ApiKey, VerifiedKey
from services.intake.domain.dossier import Dossier
from services.intake.domain.ticket import Ticket
from shared.aggregate import Aggregates
from shared.reference.procedures import Procedure


class Dossiers(Aggregates[Dossier], Protocol):
    """The dossiers repository, with its named queries."""

    async def by_code(self, code: str) -> Dossier | None:
        """A dossier by its code."""
        ...

    async def by_idempotency_key(self, key: str) -> Dossier | None:
        """The dossier created with an office-scoped idempotency key."""
        ...

    async def of_citizen(self, citizen_id_hash: str, office_code: str, limit: int) -> list[Dossier]:
        """An office's dossiers of one citizen, by the keyed hash of the citizen ID, newest first."""
        ...


class Tickets(Aggregates[Ticket], Protocol):
    """The queue tickets repository, with its named queries."""

    async def waiting(self, centre: str, day: str, service: str | None, limit: int) -> list[Ticket]:
        """The oldest waiting tickets of a day (of one service's queue, if given), in number order."""
        ...

    async def of_day(
        self, centre: str, day: str, *, service: str | None, statuses: list[str], limit: int
    ) -> list[Ticket]:
        """A day's tickets of a centre in the given statuses (of one service, if given), in number order."""
        ...


class Sequences(Protocol):
    """Race-free counters (dossier codes per office and day, ticket numbers per centre and day)."""

    async def next(self, counter_id: str) -> int:
        """Claim the next number of a counter, never the same twice across instances."""
        ...


@dataclass(frozen=True)
class Claim:
    """Who holds an idempotency key: the (keyed) hash of its body and when it was claimed."""

    body_sha256: str
    at: datetime


class IdempotencyClaims(Protocol):
    """Idempotency keys claimed before a number is, so concurrent retries never burn numbers."""

    async def claim(self, key: str, *, body_sha256: str, at: datetime, stale_before: datetime) -> Claim | None:
        """Claim a key (None = ours); the holder's claim when another request has it (stale ones taken over)."""
        ...


class ApiKeys(Protocol):
    """Front-office keys, by the hash of their secret."""

    async def add(self, key: ApiKey) -> None:
        """Store a new key."""
        ...

    async def active_by_hash(self, secret_sha256: str) -> ApiKey | None:
        """A key that is not revoked, by the hash of the presented secret."""
        ...

    async def is_revoked(self, key_id: str) -> bool:
        """True when the key was revoked (or no longer exists): one read by primary key."""
        ...

    async def revoke(self, key_id: str, at: datetime) -> bool:
        """Revoke a key; True when it was active."""
        ...


class KeyCache(Protocol):
    """Keys verified recently, by the hash of their secret (per instance, short-lived)."""

    def get(self, secret_sha256: str) -> VerifiedKey | None:
        """A key verified within the time to live, or None."""
        ...

    def put(self, secret_sha256: str, key: VerifiedKey) -> None:
        """Remember a verified key."""
        ...

    def drop(self, secret_sha256: str) -> None:
        """Forget a key (revoked)."""
        ...


class FileStore(Protocol):
    """Where dossier files are kept (GridFS in adapters/files.py)."""

    async def put(self, file_id: str, filename: str, data: bytes, metadata: dict[str, Any]) -> bool:
        """Store a file once; False when this exact file was already stored."""
        ...

    async def get(self, file_id: str) -> tuple[bytes, dict[str, Any]] | None:
        """The file's bytes and metadata, or None."""
        ...


@dataclass(frozen=True)
class ClearApplicant:
    """The applicant with personal data decrypted: only for the filing office's printed slip."""

    full_name: str
    citizen_id: str
    phone: str
    email: str | None
    ward_code: str
    address_detail: str | None


class ReceiptPrinter(Protocol):
    """Prints Mẫu 01, the receipt and appointment slip (adapters/papers.py)."""

    async def receipt(
        self, dossier: Dossier, applicant: ClearApplicant, *, procedure: Procedure | None, token: str | None
    ) -> bytes:
        """The slip as PDF (``token`` printed only when the caller presented it)."""
        ...
