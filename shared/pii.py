"""Personal data helpers (Decree 13/2023): masking and keyed hashing, never clear text in logs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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


class FieldCipher:
    """Field-level encryption of personal data (AES-256-GCM, random 96-bit nonce; ``purpose`` binds the context).

    The stored form is ``v1.<base64 nonce+ciphertext>``; the key is derived from the configured secret, so a
    secret of any length works and two purposes never share a key.
    """

    PREFIX = "v1."

    def __init__(self, secret: str, *, purpose: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"lienthong-pii", info=purpose.encode()).derive(
            secret.encode()
        )
        self._aead = AESGCM(key)
        self._aad = purpose.encode()

    def encrypt(self, value: str) -> str:
        """The encrypted form of ``value``."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode(), self._aad)
        return self.PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        """The clear value; ValueError when the token was not made with this key and purpose."""
        if not token.startswith(self.PREFIX):
            raise ValueError("not an encrypted field")
        raw = base64.urlsafe_b64decode(token[len(self.PREFIX) :])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], self._aad).decode()
        except InvalidTag:
            raise ValueError("encrypted field does not open with this key") from None

    def seal(self, values: dict[str, Any]) -> str:
        """A JSON object encrypted as one field."""
        return self.encrypt(json.dumps(values, separators=(",", ":"), ensure_ascii=False))

    def open(self, token: str) -> dict[str, Any]:
        """The JSON object of ``seal``."""
        opened: dict[str, Any] = json.loads(self.decrypt(token))
        return opened


class PersonalDataKeys:
    """The keys of one service for personal data: keyed hashes, encryption at rest, contacts in events.

    ``CONTACT_SEALING_KEY`` is shared by intake (seals) and notify (opens) only: other consumers of
    ``dossier.received.v1`` (routing) and the broker's retained log see ciphertext and a keyed hash.
    """

    def __init__(self, *, hash_key: str, encryption_key: str, sealing_key: str, service: str) -> None:
        self._hash_key = hash_key
        self.at_rest = FieldCipher(encryption_key, purpose=f"{service}-at-rest")
        self.contact = FieldCipher(sealing_key, purpose="contact-in-events")

    @classmethod
    def from_settings(cls, settings: Any) -> PersonalDataKeys:
        """The keys configured by PII_HASH_KEY, PII_ENCRYPTION_KEY and CONTACT_SEALING_KEY."""
        return cls(
            hash_key=settings.pii_hash_key.get_secret_value(),
            encryption_key=settings.pii_encryption_key.get_secret_value(),
            sealing_key=settings.contact_sealing_key.get_secret_value(),
            service=settings.service_name,
        )

    def hash(self, value: str) -> str:
        """Keyed hash for look-ups (equal values match; the value cannot be recovered)."""
        return keyed_hash(value, key=self._hash_key)
