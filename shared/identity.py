"""One identity scheme for officials and operators: JWTs signed by the identity provider, checked against a JWKS.

Keys come from a JWKS URL (the province identity provider, via PyJWT's ``PyJWKClient``), a JWKS file or an
inline JWKS. Every key has a ``kid``; a token whose ``kid`` is unknown makes the verifier re-read its source
once, so a rotated-in key works at once and a retired key stops when the JWKS drops it. The development key
below is public: it is accepted only when ``ENVIRONMENT=development``.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.deps import app_deps
from shared.http import ApiError
from shared.logging import get_logger
from shared.reference.offices import parse_office_code

if TYPE_CHECKING:
    from shared.settings import BaseServiceSettings

log = get_logger(__name__)

#: Every role a token may carry (each service checks the ones its endpoints need).
CLERK, SPECIALIST, LEADER, OPERATIONS, NATIONAL = "clerk", "specialist", "leader", "operations", "national"
OPERATOR, AUDITOR = "operator", "auditor"
ROLES = frozenset({CLERK, SPECIALIST, LEADER, OPERATIONS, NATIONAL, OPERATOR, AUDITOR})

#: Asymmetric algorithms only: a shared HS256 secret would let every verifier mint tokens.
ALGORITHMS = ("EdDSA", "RS256", "PS256", "ES256")

DEV_KID = "lienthong-development"
_DEV_SEED = b"lienthong-development-identity-key-public-do-not-use"


class TokenRejected(Exception):
    """A token that must not be accepted; the reason goes to the log, never into the 401 body."""


@dataclass(frozen=True)
class Principal:
    """An authenticated official or operator: who, from which office, with which roles."""

    sub: str
    office: str
    roles: frozenset[str]

    def has(self, role: str) -> bool:
        """True when the token grants ``role``."""
        return role in self.roles


def development_private_key() -> Ed25519PrivateKey:
    """The public development signing key (``lienthong token`` mints with it; only development accepts it)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"lienthong-identity", info=b"development").derive(_DEV_SEED)
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_jwk(key: Ed25519PrivateKey, kid: str) -> dict[str, Any]:
    """The public JWK of an Ed25519 key, with its key id."""
    jwk: dict[str, Any] = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": "EdDSA", "use": "sig"}


def development_jwks() -> dict[str, Any]:
    """The JWKS holding only the development key."""
    return {"keys": [public_jwk(development_private_key(), DEV_KID)]}


def _dev_public_raw() -> bytes:
    return (
        development_private_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def mint(
    key: Any,
    *,
    kid: str,
    sub: str,
    office: str,
    roles: list[str],
    issuer: str,
    audience: str,
    lifetime: timedelta,
    algorithm: str = "EdDSA",
) -> str:
    """A signed token with the claims every verifier requires."""
    now = datetime.now(UTC)
    claims = {
        "sub": sub,
        "office": office,
        "roles": roles,
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def mint_development_token(
    settings: BaseServiceSettings, *, office: str, roles: list[str], sub: str, hours: float = 12
) -> str:
    """A token signed with the development key; ValueError outside ``ENVIRONMENT=development``."""
    if settings.environment != "development":
        raise ValueError("development tokens exist only with ENVIRONMENT=development")
    if not roles or not set(roles) <= ROLES:
        raise ValueError(f"roles must be among {', '.join(sorted(ROLES))}")
    parse_office_code(office)
    lifetime = min(timedelta(hours=hours), timedelta(seconds=settings.jwt_max_lifetime))
    return mint(
        development_private_key(),
        kid=DEV_KID,
        sub=sub,
        office=office,
        roles=roles,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        lifetime=lifetime,
    )


class _KeySet:
    """Keys by ``kid`` from a file or inline JSON, re-read when an unknown ``kid`` shows up (rotation)."""

    def __init__(self, *, path: str | None, inline: str | None, refresh_every: float = 30.0) -> None:
        self._path, self._inline, self._refresh_every = path, inline, refresh_every
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at = 0.0
        self._load()

    def _load(self) -> None:
        text = Path(self._path).read_text("utf-8") if self._path else self._inline or ""
        keys: dict[str, jwt.PyJWK] = {}
        for entry in jwt.PyJWKSet.from_json(text).keys:
            if not entry.key_id:
                raise ValueError("every key of the JWKS needs a kid")
            keys[entry.key_id] = entry
        self._keys, self._loaded_at = keys, time.monotonic()

    def get(self, kid: str) -> jwt.PyJWK:
        if kid not in self._keys and self._path and time.monotonic() - self._loaded_at > 1.0:
            self._load()  # a key rotated in since the last read
        elif time.monotonic() - self._loaded_at > self._refresh_every and self._path:
            self._load()  # a key rotated out
        try:
            return self._keys[kid]
        except KeyError:
            raise TokenRejected(f"unknown kid {kid!r}") from None

    def all(self) -> list[jwt.PyJWK]:
        return list(self._keys.values())


class TokenVerifier:
    """Checks signature (JWKS), issuer, audience, lifetime and claims of officials' and operators' tokens."""

    def __init__(
        self,
        *,
        jwks_url: str | None = None,
        jwks_file: str | None = None,
        jwks: str | None = None,
        issuer: str,
        audience: str,
        max_lifetime: float,
        allow_development_key: bool,
        leeway: float = 30.0,
    ) -> None:
        self.issuer, self.audience, self.max_lifetime, self.leeway = issuer, audience, max_lifetime, leeway
        self.allow_development_key = allow_development_key
        self._client = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None
        self._set: _KeySet | None = None
        if self._client is None:
            inline = jwks if (jwks_file or jwks) else json.dumps(development_jwks())
            self._set = _KeySet(path=jwks_file, inline=inline)
            if not allow_development_key and any(self._is_development(k) for k in self._set.all()):
                raise ValueError("the JWKS holds the public development key; it is refused outside development")

    @classmethod
    def from_settings(cls, settings: BaseServiceSettings) -> TokenVerifier:
        """The verifier configured by ``JWT_*`` settings; outside development a JWKS must be configured."""
        development = settings.environment == "development"
        if not development and not (settings.jwt_jwks_url or settings.jwt_jwks_file or settings.jwt_jwks):
            raise ValueError(
                f"ENVIRONMENT={settings.environment} needs JWT_JWKS_URL, JWT_JWKS_FILE or JWT_JWKS "
                "(the development key is refused)"
            )
        return cls(
            jwks_url=settings.jwt_jwks_url,
            jwks_file=settings.jwt_jwks_file,
            jwks=settings.jwt_jwks.get_secret_value() if settings.jwt_jwks else None,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            max_lifetime=settings.jwt_max_lifetime,
            allow_development_key=development,
        )

    @staticmethod
    def _is_development(key: jwt.PyJWK) -> bool:
        if key.key_id == DEV_KID:
            return True
        public = getattr(key.key, "public_bytes", None)
        try:
            raw = public(serialization.Encoding.Raw, serialization.PublicFormat.Raw) if public else None
        except ValueError:
            raw = None
        return raw == _dev_public_raw()

    def _key(self, kid: str) -> jwt.PyJWK:
        if self._client is not None:
            try:
                key = self._client.get_signing_key(kid)
            except jwt.PyJWKClientError as exc:
                raise TokenRejected(f"key {kid!r}: {exc}") from None
        else:
            assert self._set is not None
            key = self._set.get(kid)
        if not self.allow_development_key and self._is_development(key):
            raise TokenRejected("the development key is refused outside development")
        return key

    def verify_sync(self, token: str) -> Principal:
        """The token's principal; TokenRejected with the (internal) reason otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"malformed: {exc}") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise TokenRejected(f"algorithm {alg!r} is not accepted")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("no kid in the header")
        key = self._key(kid)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["sub", "exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"{type(exc).__name__}: {exc}") from None
        now = time.time()
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise TokenRejected("exp and iat must be numbers")
        if exp - iat > self.max_lifetime or exp - now > self.max_lifetime + self.leeway:
            raise TokenRejected("lifetime longer than JWT_MAX_LIFETIME")
        if iat > now + self.leeway:
            raise TokenRejected("issued in the future")
        roles = claims.get("roles")
        if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
            raise TokenRejected("claim roles must be a non-empty list")
        if not set(roles) <= ROLES:
            raise TokenRejected(f"unknown roles {sorted(set(roles) - ROLES)}")
        office = claims.get("office")
        try:
            parse_office_code(str(office or ""))
        except ValueError as exc:
            raise TokenRejected(f"claim office: {exc}") from None
        return Principal(sub=str(claims["sub"]), office=str(office), roles=frozenset(roles))

    async def verify(self, token: str) -> Principal:
        """Like ``verify_sync``; a JWKS URL is fetched off the event loop."""
        if self._client is not None:
            return await asyncio.to_thread(self.verify_sync, token)
        return self.verify_sync(token)


class HasVerifier(Protocol):
    """A service's dependencies (``app.state.deps``) as require_role reads them: the tokens' verifier."""

    @property
    def verifier(self) -> TokenVerifier:
        """Checks officials' and operators' tokens."""
        ...


def verifier_of(request: Request) -> TokenVerifier:
    """The verifier of the service answering ``request`` (its ``app.state.deps``, set by its bootstrap)."""
    deps: HasVerifier = app_deps(request.app)
    return deps.verifier


#: The one answer to every bad token (which check failed is logged, never told to the caller).
UNAUTHORIZED_MESSAGE = "missing or invalid bearer token"


async def authenticate(verifier: TokenVerifier, authorization: str | None, *, service: str) -> Principal | None:
    """The principal of an ``Authorization: Bearer`` header, or None (the reason is logged)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        return await verifier.verify(token.strip())
    except TokenRejected as exc:
        log.info("token_rejected", service=service, reason=str(exc)[:200])
        return None


def require_role(*roles: str, service: str, description: str = "Operator's JWT") -> Any:
    """FastAPI dependency: the caller's principal, 401 without a valid token, 403 without one of ``roles``."""
    bearer = HTTPBearer(auto_error=False, description=f"{description}: `Authorization: Bearer <JWT>`")

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> Principal:
        header = f"Bearer {credentials.credentials}" if credentials is not None else None
        principal = await authenticate(verifier_of(request), header, service=service)
        if principal is None:
            raise ApiError(401, "unauthorized", UNAUTHORIZED_MESSAGE)
        if not principal.roles & set(roles):
            raise ApiError(403, "forbidden", f"this needs the role {' or '.join(roles)}")
        return principal

    return Depends(dependency)
