"""Officials' bearer JWTs: claims ``sub``, ``office``, ``roles``; verified with the configured key and issuer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.resolution.domain.case import CLERK, LEADER, NATIONAL, OPERATIONS, SPECIALIST
from services.resolution.settings import ResolutionSettings
from shared.http import ApiError
from shared.offices import parse_office_code

ROLES = frozenset({CLERK, SPECIALIST, LEADER, OPERATIONS, NATIONAL})
bearer = HTTPBearer(auto_error=False, description="Official's JWT: `Authorization: Bearer <token>`")


@dataclass(frozen=True)
class Official:
    """An authenticated official."""

    sub: str
    office: str
    roles: frozenset[str]


def verify_token(token: str, settings: ResolutionSettings) -> Official:
    """Decode and check a token; ValueError with the reason when it is not acceptable."""
    if settings.jwt_public_key:
        key, algorithms = settings.jwt_public_key, ["EdDSA", "RS256", "ES256"]
    elif (secret := settings.effective_jwt_secret()) is not None:
        key, algorithms = secret, ["HS256"]
    else:
        raise ValueError("no token verification key configured")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "exp", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise ValueError(f"invalid token: {exc}") from exc
    roles = claims.get("roles")
    if not isinstance(roles, list) or not roles or not set(roles) <= ROLES:
        raise ValueError("claim roles must be a non-empty list of clerk, specialist, leader, operations, national")
    try:
        parse_office_code(str(claims.get("office", "")))
    except ValueError as exc:
        raise ValueError(f"claim office: {exc}") from exc
    return Official(sub=str(claims["sub"]), office=str(claims["office"]), roles=frozenset(roles))


def mint_dev_token(settings: ResolutionSettings, *, office: str, roles: list[str], sub: str, hours: int = 12) -> str:
    """A development token signed with the HS256 secret (refused in production)."""
    secret = settings.effective_jwt_secret()
    if settings.environment == "production" or secret is None:
        raise ValueError("development tokens are not available in production")
    parse_office_code(office)
    now = datetime.now(UTC)
    claims = {
        "sub": sub,
        "office": office,
        "roles": roles,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + timedelta(hours=hours),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


async def official(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Official:
    """FastAPI dependency: the calling official (401 when the token is missing or invalid)."""
    if credentials is None:
        raise ApiError(401, "unauthorized", "missing bearer token")
    try:
        return verify_token(credentials.credentials, request.app.state.settings)
    except ValueError as exc:
        raise ApiError(401, "unauthorized", str(exc)) from None


CurrentOfficial = Annotated[Official, Depends(official)]
