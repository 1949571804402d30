"""The citizens' identity provider (VNeID, or the local Dex) as an OpenID Connect relying party.

Authorisation-code flow with PKCE (S256) against the provider's discovery document; the ID token from the
token endpoint is verified here: signature by the provider's JWKS (re-read once on an unknown ``kid``, so a
rotated key works at once), ``iss``, ``aud`` (and ``azp`` when several audiences), ``exp``/``iat``, and the
``nonce`` of this login. httpx does the HTTP (traced like every outgoing call), PyJWT the JOSE.
"""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from services.intake.domain.citizen import (
    CitizenIdentity,
    LoginAttempt,
    LoginRejected,
    ProviderUnavailable,
    citizen_id_claim_problem,
)
from shared.logging import get_logger
from shared.reference.legal_clock import VIETNAM_TZ

log = get_logger(__name__)

#: Asymmetric algorithms only: with a shared-secret algorithm the client secret could mint ID tokens.
ID_TOKEN_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
#: The discovery document and JWKS are re-read at most this often (seconds), also for unknown key ids.
METADATA_LIFETIME = 300.0
JWKS_MIN_REFRESH = 10.0


class OidcCitizenLogin:
    """One OpenID Connect client registration at the citizens' provider."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_url: str,
        scopes: str,
        citizen_id_claim: str,
        http: httpx.AsyncClient,
        leeway: float = 30.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id, self._secret = client_id, client_secret
        self.redirect_url, self.scopes, self.claim = redirect_url, scopes, citizen_id_claim
        self.leeway = leeway
        self._http = http
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_at = 0.0

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"GET {url}: {type(exc).__name__}") from None
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"GET {url}: not a JSON object")
        return body

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (OpenID Connect Discovery 1.0), checked and cached."""
        if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_LIFETIME:
            return self._metadata
        found = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
        if str(found.get("issuer", "")).rstrip("/") != self.issuer:
            raise ProviderUnavailable("the discovery document names another issuer")
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(found.get(field), str):
                raise ProviderUnavailable(f"the discovery document has no {field}")
        methods = found.get("code_challenge_methods_supported")
        if methods is not None and "S256" not in methods:
            raise ProviderUnavailable("the provider does not support PKCE with S256")
        self._metadata, self._metadata_at = found, time.monotonic()
        return found

    async def authorization_url(self, attempt: LoginAttempt) -> str:
        """Where to send the citizen's browser to log in (code flow, PKCE S256, state and nonce)."""
        endpoint = (await self.metadata())["authorization_endpoint"]
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_url,
                "scope": self.scopes,
                "state": attempt.state,
                "nonce": attempt.nonce,
                "code_challenge": attempt.code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    async def complete(self, code: str, attempt: LoginAttempt) -> CitizenIdentity:
        """Redeem the authorisation code (with the PKCE verifier) and verify the ID token it returns."""
        endpoint = (await self.metadata())["token_endpoint"]
        try:
            response = await self._http.post(
                endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.redirect_url,
                    "code_verifier": attempt.code_verifier,
                },
                auth=(self.client_id, self._secret),  # client_secret_basic (RFC 6749 §2.3.1)
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"token endpoint: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise ProviderUnavailable(f"token endpoint answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise ProviderUnavailable("token endpoint answered no JSON") from None
        if response.status_code != 200 or not isinstance(body, dict):
            # invalid_grant: a replayed, expired or foreign code, or a wrong verifier
            error = body.get("error") if isinstance(body, dict) else None
            raise LoginRejected(f"token endpoint refused the code: {error or response.status_code}")
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise LoginRejected("the token response holds no id_token")
        return await self.verify_id_token(id_token, nonce=attempt.nonce)

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        if kid not in self._keys and time.monotonic() - self._keys_at > JWKS_MIN_REFRESH:
            text = await self._get_json((await self.metadata())["jwks_uri"])
            try:
                keys = jwt.PyJWKSet.from_dict(text).keys
            except jwt.PyJWTError as exc:
                raise ProviderUnavailable(f"the provider's JWKS is unusable: {exc}") from None
            self._keys = {k.key_id or "": k for k in keys if k.public_key_use in (None, "sig")}
            self._keys_at = time.monotonic()
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        try:
            return self._keys[kid or ""]
        except KeyError:
            raise LoginRejected(f"unknown key id {kid!r}") from None

    async def verify_id_token(self, id_token: str, *, nonce: str) -> CitizenIdentity:
        """The citizen of a verified ID token (OpenID Connect Core §3.1.3.7); LoginRejected otherwise."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise LoginRejected(f"malformed ID token: {exc}") from None
        alg = header.get("alg")
        offered = (await self.metadata()).get("id_token_signing_alg_values_supported") or ID_TOKEN_ALGORITHMS
        if alg not in ID_TOKEN_ALGORITHMS or alg not in offered:
            raise LoginRejected(f"ID token algorithm {alg!r} is not accepted")
        key = await self._key(header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=[alg],
                audience=self.client_id,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["iss", "sub", "aud", "exp", "iat", "nonce"]},
            )
        except jwt.PyJWTError as exc:
            raise LoginRejected(f"ID token: {type(exc).__name__}: {exc}") from None
        if not hmac.compare_digest(str(claims["nonce"]), nonce):
            raise LoginRejected("ID token nonce is not this login's")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise LoginRejected("ID token for several audiences without azp = this client")
        today = datetime.now(VIETNAM_TZ).date()
        if (problem := citizen_id_claim_problem(claims.get(self.claim), today=today)) is not None:
            raise LoginRejected(f"claim {self.claim}: {problem}")
        when = claims.get("auth_time") or claims["iat"]
        name = claims.get("name")
        return CitizenIdentity(
            citizen_id=str(claims[self.claim]),
            subject=str(claims["sub"]),
            issuer=self.issuer,
            name=name if isinstance(name, str) and name.strip() else None,
            authenticated_at=datetime.fromtimestamp(float(when), UTC),
        )
