"""Dossier codes and tracking tokens (mã hồ sơ, mã tra cứu)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date


def dossier_code(office_code: str, day: date, sequence: int) -> str:
    """``<office code>-<yyMMdd>-<seq>`` as on the receipt, e.g. ``00070.TTHCC-261122-0001``."""
    return f"{office_code}-{day:%y%m%d}-{sequence:04d}"


def new_tracking_token() -> str:
    """A random token the citizen uses to follow the dossier; only its hash is stored."""
    return secrets.token_urlsafe(16)


def sha256_hex(value: str | bytes) -> str:
    """Hex SHA-256 of a string or bytes."""
    return hashlib.sha256(value.encode() if isinstance(value, str) else value).hexdigest()
