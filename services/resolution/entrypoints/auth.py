"""Officials' bearer JWTs: claims ``sub``, ``office``, ``roles``; verified with the configured key and issuer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.resolution.settings import ResolutionSettings
from shared.http import ApiError
from shared.offices import parse_office_code
from shared.officials import ROLES, Official, verify_official_token

__all__ = ["ROLES", "CurrentOfficial", "Official", "mint_dev_token", "verify_token"]
bearer = HTTPBearer(auto_error=False, description="Official's JWT: `Authorization: Bearer <token>`")


def verify_token(token: str, settings: ResolutionSettings) -> Official:
    """Decode and check a token; ValueError with the reason when it is not acceptable."""
    return verify_official_token(
        token,
        public_key=settings.jwt_public_key,
        secret=settings.effective_jwt_secret(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


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
