"""Personal data helpers (Decree 13/2023): masking and keyed hashing, never clear text in logs."""

from __future__ import annotations

import hashlib
import hmac
import re

_DIGITS = re.compile(r"\D")


def mask_phone(phone: str) -> str:
    """Keep only the last three digits of a phone number: ``*******789``."""
    digits = _DIGITS.sub("", phone)
    return "*" * max(len(digits) - 3, 0) + digits[-3:]


def mask_citizen_id(citizen_id: str) -> str:
    """Keep the province-of-birth prefix and last two digits: ``001*******89``."""
    if len(citizen_id) < 6:
        return "*" * len(citizen_id)
    return citizen_id[:3] + "*" * (len(citizen_id) - 5) + citizen_id[-2:]


def mask_email(email: str) -> str:
    """Keep the first letter and the domain: ``n***@example.vn``."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def keyed_hash(value: str, *, key: str) -> str:
    """HMAC-SHA256 of ``value`` (hex); equal inputs match without revealing them."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<!\d)\d{12}(?!\d)"), "[citizen-id]"),
    (re.compile(r"(?<![\w\d])(?:\+?84|0)(?:[\s.-]?\d){9}(?!\d)"), "[phone]"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
)


def scrub(text: str) -> str:
    """Replace anything shaped like a citizen ID, Vietnamese phone number or e-mail in free text."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
