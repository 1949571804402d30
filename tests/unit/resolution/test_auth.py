"""Officials' JWTs: development tokens round-trip; expired, foreign or malformed tokens are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.resolution.entrypoints.auth import mint_dev_token, verify_token
from services.resolution.settings import ResolutionSettings

SETTINGS = ResolutionSettings(environment="test")


def claims(**changes: Any) -> dict[str, Any]:
    """Valid claims for the test settings, with ``changes`` applied (None removes a claim)."""
    now = datetime.now(UTC)
    base = {
        "sub": "can-bo-1",
        "office": "00070.UBND",
        "roles": ["clerk"],
        "iss": SETTINGS.jwt_issuer,
        "aud": SETTINGS.jwt_audience,
        "exp": now + timedelta(hours=1),
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def hs256(payload: dict[str, Any]) -> str:
    """Sign with the development secret."""
    secret = SETTINGS.effective_jwt_secret()
    assert secret is not None
    return jwt.encode(payload, secret, algorithm="HS256")


def test_development_token_round_trip() -> None:
    """A minted token verifies to the same official, office and roles."""
    official = verify_token(
        mint_dev_token(SETTINGS, office="00070.UBND", roles=["leader", "clerk"], sub="lanh-dao"), SETTINGS
    )
    assert (official.sub, official.office, official.roles) == ("lanh-dao", "00070.UBND", {"leader", "clerk"})


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (claims(exp=datetime.now(UTC) - timedelta(minutes=1)), "expired"),
        (claims(iss="someone-else"), "issuer"),
        (claims(aud="other-app"), "audience"),
        (claims(sub=None), "sub"),
        (claims(roles=["janitor"]), "roles"),
        (claims(roles=[]), "roles"),
        (claims(roles="leader"), "roles"),
        (claims(office="not an office"), "office"),
    ],
)
def test_unacceptable_tokens_are_refused_with_the_reason(payload: dict[str, Any], reason: str) -> None:
    """Each broken claim is refused and the message names what is wrong."""
    with pytest.raises(ValueError, match=f"(?i){reason}"):
        verify_token(hs256(payload), SETTINGS)


def test_token_signed_with_another_secret_is_refused() -> None:
    """A token signed with a different HS256 secret does not verify."""
    forged = jwt.encode(claims(), "another-secret-of-enough-length-123", algorithm="HS256")
    with pytest.raises(ValueError, match="invalid token"):
        verify_token(forged, SETTINGS)


def test_identity_provider_public_key_takes_precedence() -> None:
    """With an EdDSA public key configured, its tokens verify and development HS256 tokens do not."""
    key = Ed25519PrivateKey.generate()
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings = ResolutionSettings(environment="production", jwt_public_key=pem)
    assert verify_token(jwt.encode(claims(), key, algorithm="EdDSA"), settings).office == "00070.UBND"
    with pytest.raises(ValueError):
        verify_token(hs256(claims()), settings)


def test_production_refuses_the_development_secret() -> None:
    """In production no development secret is in force and no development token can be minted."""
    production = ResolutionSettings(environment="production")
    assert production.effective_jwt_secret() is None
    with pytest.raises(ValueError, match="production"):
        mint_dev_token(production, office="00070.UBND", roles=["clerk"], sub="x")
    with pytest.raises(ValueError, match="no token verification key"):
        verify_token(hs256(claims()), production)
