"""Officials' and operators' JWTs: JWKS with rotation, issuer, audience, lifetime; development key only there."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.resolution.entrypoints.auth import mint_dev_token
from services.resolution.settings import ResolutionSettings
from shared.identity import (
    DEV_KID,
    TokenRejected,
    TokenVerifier,
    development_jwks,
    development_private_key,
    public_jwk,
)
from tests.support import identity

SETTINGS = ResolutionSettings(environment="test")
claims = identity.claims
VERIFIER = TokenVerifier.from_settings(SETTINGS)


def signed(payload: dict[str, Any], *, key: Any = identity.KEY, kid: str = identity.KID, alg: str = "EdDSA") -> str:
    """Sign ``payload`` (by default with the suite's identity provider key)."""
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def test_identity_provider_token_round_trip() -> None:
    """A token of the configured JWKS verifies to the same official, office and roles."""
    official = VERIFIER.verify_sync(identity.token("00070.UBND", "leader", "clerk", sub="lanh-dao"))
    assert (official.sub, official.office, official.roles) == ("lanh-dao", "00070.UBND", {"leader", "clerk"})


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (claims(exp=datetime.now(UTC) - timedelta(minutes=5)), "expired"),
        (claims(iss="someone-else"), "issuer"),
        (claims(aud="other-app"), "audience"),
        (claims(sub=None), "sub"),
        (claims(iat=None), "iat"),
        (claims(roles=["janitor"]), "roles"),
        (claims(roles=[]), "roles"),
        (claims(roles="leader"), "roles"),
        (claims(office="not an office"), "office"),
        (claims(exp=datetime.now(UTC) + timedelta(days=36500)), "lifetime"),
        (claims(iat=datetime.now(UTC) - timedelta(days=2)), "lifetime"),
    ],
)
def test_unacceptable_tokens_are_refused(payload: dict[str, Any], reason: str) -> None:
    """Each broken claim is refused (the reason is for the log; the 401 body never names it)."""
    with pytest.raises(TokenRejected, match=f"(?i){reason}"):
        VERIFIER.verify_sync(signed(payload))


def test_symmetric_unsigned_and_foreign_tokens_are_refused() -> None:
    """HS256 with the old public secret, alg none, a foreign key under a known kid, and an unknown kid."""
    with pytest.raises(TokenRejected, match="algorithm"):
        VERIFIER.verify_sync(
            jwt.encode(claims(), "development-only-jwt-secret-change-me", algorithm="HS256", headers={"kid": "k"})
        )
    with pytest.raises(TokenRejected, match="algorithm"):
        VERIFIER.verify_sync(jwt.encode(claims(), None, algorithm="none", headers={"kid": identity.KID}))
    with pytest.raises(TokenRejected, match="InvalidSignature"):
        VERIFIER.verify_sync(signed(claims(), key=Ed25519PrivateKey.generate()))
    with pytest.raises(TokenRejected, match="unknown kid"):
        VERIFIER.verify_sync(signed(claims(), kid="nobody"))


def test_development_key_works_only_in_development() -> None:
    """The CLI's development token verifies in development; test and production refuse the key and minting."""
    development = ResolutionSettings(environment="development", jwt_jwks=None, jwt_issuer="lienthong-dev")
    token = mint_dev_token(development, office="00070.UBND", roles=["clerk"], sub="dev")
    assert TokenVerifier.from_settings(development).verify_sync(token).sub == "dev"
    for environment in ("test", "production"):
        settings = ResolutionSettings(environment=environment)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="ENVIRONMENT=development"):
            mint_dev_token(settings, office="00070.UBND", roles=["clerk"], sub="x")
        dev_signed = signed(claims(iss=settings.jwt_issuer), key=development_private_key(), kid=DEV_KID)
        with pytest.raises(TokenRejected):
            TokenVerifier.from_settings(settings).verify_sync(dev_signed)
    with pytest.raises(ValueError, match="development key"):
        TokenVerifier.from_settings(ResolutionSettings(environment="test", jwt_jwks=json.dumps(development_jwks())))
    renamed = {"keys": [public_jwk(development_private_key(), "innocent-looking")]}
    with pytest.raises(ValueError, match="development key"):
        TokenVerifier.from_settings(ResolutionSettings(environment="production", jwt_jwks=json.dumps(renamed)))


def test_outside_development_a_jwks_is_required() -> None:
    """No JWKS configured outside development: the service does not start."""
    with pytest.raises(ValueError, match="JWT_JWKS"):
        TokenVerifier.from_settings(ResolutionSettings(environment="production", jwt_jwks=None))


def test_a_key_rotated_into_the_jwks_file_verifies_at_once(tmp_path: Path) -> None:
    """The file is re-read on an unknown kid: the new key works, the old one still verifies what it signed."""
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [public_jwk(old, "2026-01")]}))
    verifier = TokenVerifier.from_settings(ResolutionSettings(environment="test", jwt_jwks_file=str(jwks_file)))
    old_token, new_token = signed(claims(), key=old, kid="2026-01"), signed(claims(), key=new, kid="2026-02")
    assert verifier.verify_sync(old_token).office == "00070.UBND"
    jwks_file.write_text(json.dumps({"keys": [public_jwk(old, "2026-01"), public_jwk(new, "2026-02")]}))
    verifier._set._loaded_at -= 5  # type: ignore[union-attr]  # the re-read is rate-limited to once a second
    assert verifier.verify_sync(new_token).office == "00070.UBND"
    assert verifier.verify_sync(old_token).office == "00070.UBND"


def test_crafted_office_codes_are_refused_before_any_key_or_file_look_up() -> None:
    """Office codes from unauthenticated callers: path pieces and huge codes are not office codes, and only
    real offices of the registry count (so the key cache holds at most the registry's offices)."""
    from shared.reference.offices import known_office, parse_office_code

    for crafted in ("../secret.UBND", "00070/../../x.UBND", "P01/../x.STP", "0" * 500 + ".UBND", "٠٠٠٧٠.UBND"):
        with pytest.raises(ValueError):
            parse_office_code(crafted)
        assert not known_office(crafted)
    assert known_office("00070.UBND") and known_office("P01.STP") and not known_office("99999.UBND")
