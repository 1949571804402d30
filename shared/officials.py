"""Officials' bearer JWTs (claims ``sub``, ``office``, ``roles``), checked by any service that serves officials.

The token format is a contract between the province's identity provider, the ``lienthong token`` development
command and every service: EdDSA/RS256/ES256 with the provider's public key, or HS256 with a shared secret.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from shared.offices import parse_office_code

ROLES = frozenset({"clerk", "specialist", "leader", "operations"})
#: The development secret of ``lienthong token`` (refused in production by every service's settings).
DEV_JWT_SECRET = "development-only-jwt-secret-change-me"  # noqa: S105


@dataclass(frozen=True)
class Official:
    """An authenticated official."""

    sub: str
    office: str
    roles: frozenset[str]


def verify_official_token(
    token: str, *, public_key: str | None, secret: str | None, issuer: str, audience: str
) -> Official:
    """Decode and check an official's token; ValueError with the reason when it is not acceptable."""
    if public_key:
        key, algorithms = public_key, ["EdDSA", "RS256", "ES256"]
    elif secret is not None:
        key, algorithms = secret, ["HS256"]
    else:
        raise ValueError("no token verification key configured")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=audience,
            issuer=issuer,
            options={"require": ["sub", "exp", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise ValueError(f"invalid token: {exc}") from exc
    roles = claims.get("roles")
    if not isinstance(roles, list) or not roles or not set(roles) <= ROLES:
        raise ValueError("claim roles must be a non-empty list of clerk, specialist, leader, operations")
    try:
        parse_office_code(str(claims.get("office", "")))
    except ValueError as exc:
        raise ValueError(f"claim office: {exc}") from exc
    return Official(sub=str(claims["sub"]), office=str(claims["office"]), roles=frozenset(roles))
