"""Front-office API keys: stored by the hash of their secret, bound to one reception office, revocable."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.dossier import sha256_hex
from services.intake.domain.office import Office, office_of


@dataclass(frozen=True)
class ApiKey:
    """A stored key: only the SHA-256 of its secret is kept."""

    id: str
    secret_sha256: str
    office_code: str
    created_at: datetime
    revoked_at: datetime | None = None


def new_api_key(office_code: str, now: datetime) -> tuple[ApiKey, str]:
    """A new key bound to ``office_code`` (ValueError for an unknown office) and its secret, shown once."""
    office_of(office_code)  # validates the office
    key_id = secrets.token_hex(6)
    secret = f"lt_{key_id}_{secrets.token_urlsafe(32)}"
    return ApiKey(key_id, sha256_hex(secret), office_code, now), secret


@dataclass(frozen=True)
class VerifiedKey:
    """A key found active in the store: its id (to check revocation by) and its office."""

    key_id: str
    office: Office
