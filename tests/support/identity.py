"""The suite's own identity provider: a fresh Ed25519 key per run, published as an inline JWKS (``JWT_JWKS``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.identity import mint, public_jwk

ISSUER = "lienthong-test-idp"
AUDIENCE = "lienthong"
KID = "test-key-1"
KEY = Ed25519PrivateKey.generate()
JWKS = json.dumps({"keys": [public_jwk(KEY, KID)]})

#: what every service of the suite needs outside development (set in tests/conftest.py)
TEST_SECRETS = {
    "PII_HASH_KEY": "test-pii-hash-key-0123456789abcdef0123456789",
    "PII_ENCRYPTION_KEY": "test-pii-encryption-key-0123456789abcdef01234",
    "CONTACT_SEALING_KEY": "test-contact-sealing-key-0123456789abcdef012",
    "NOTIFY_RECEIPT_SECRET": "test-receipt-secret-0123456789abcdef0123456",
    "RESOLUTION_SIGNING_SEED": "test-signing-seed-0123456789abcdef0123456789",
    "JWT_JWKS": JWKS,
    "JWT_ISSUER": ISSUER,
    "JWT_AUDIENCE": AUDIENCE,
    # the suite polls tracking from one address; the attack tests set low limits of their own
    "ABUSE_CLIENT_LIMIT": "100000/minute",
}


def claims(**changes: Any) -> dict[str, Any]:
    """Valid claims of the suite's identity provider, with ``changes`` applied (None removes a claim)."""
    now = datetime.now(UTC)
    base = {
        "sub": "can-bo-1",
        "office": "00070.UBND",
        "roles": ["clerk"],
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def token(office: str, *roles: str, sub: str | None = None, lifetime: timedelta = timedelta(hours=1)) -> str:
    """A token of the suite's identity provider for ``office`` with ``roles``."""
    return mint(
        KEY,
        kid=KID,
        sub=sub or f"{roles[0]}@{office}",
        office=office,
        roles=list(roles),
        issuer=ISSUER,
        audience=AUDIENCE,
        lifetime=lifetime,
    )


def bearer(office: str, *roles: str, sub: str | None = None) -> dict[str, str]:
    """``Authorization`` header with such a token."""
    return {"Authorization": f"Bearer {token(office, *roles, sub=sub)}"}
