"""Officials' bearer JWTs (claims ``sub``, ``office``, ``roles``), verified against the identity provider's JWKS."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.resolution.entrypoints.deps import get_deps
from services.resolution.settings import ResolutionSettings
from shared.http import ApiError
from shared.identity import (
    ROLES,
    UNAUTHORIZED_MESSAGE,
    Principal,
    TokenVerifier,
    authenticate,
    mint_development_token,
)

__all__ = ["ROLES", "CurrentOfficial", "Official", "mint_dev_token", "official"]

bearer = HTTPBearer(auto_error=False, description="Official's JWT: `Authorization: Bearer <token>`")
Official = Principal


def mint_dev_token(settings: ResolutionSettings, *, office: str, roles: list[str], sub: str, hours: int = 12) -> str:
    """A token signed with the public development key (ValueError outside ENVIRONMENT=development)."""
    return mint_development_token(settings, office=office, roles=roles, sub=sub, hours=hours)


async def official(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Official:
    """FastAPI dependency: the calling official (401 with one message whatever check failed)."""
    verifier: TokenVerifier = get_deps(request).verifier
    header = f"Bearer {credentials.credentials}" if credentials is not None else None
    found = await authenticate(verifier, header, service="resolution")
    if found is None:
        raise ApiError(401, "unauthorized", UNAUTHORIZED_MESSAGE)
    return found


CurrentOfficial = Annotated[Official, Depends(official)]
