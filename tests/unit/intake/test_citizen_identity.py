"""The OpenID Connect relying party against a test double of the provider (httpx MockTransport; unit tests only).

Every ID-token check of OpenID Connect Core §3.1.3.7 that the adapter makes is exercised with a token that
breaks exactly that check; the real provider (Dex) is driven by tests/e2e/test_citizen_login.py.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.intake.adapters.citizen_identity import LoginRejected, OidcCitizenLogin, ProviderUnavailable
from services.intake.domain.citizen import LoginAttempt, pkce_challenge

ISSUER = "https://vneid.test/oidc"
CLIENT = "lienthong-portal"
SECRET = "client-secret-0123456789abcdef0123456789"
REDIRECT = "https://dichvucong.test/citizen/callback"
CITIZEN = "001203012345"


class Provider:
    """A minimal provider: discovery, JWKS (rotatable) and a token endpoint handing out a prepared ID token."""

    def __init__(self) -> None:
        self.keys = {"k1": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        self.discovery: dict[str, Any] = {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/auth",
            "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }
        self.id_token = ""
        self.token_requests: list[httpx.Request] = []
        self.jwks_reads = 0

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            out.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": out}

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json=self.discovery)
        if path.endswith("/keys"):
            self.jwks_reads += 1
            return httpx.Response(200, json=self.jwks())
        if path.endswith("/token"):
            self.token_requests.append(request)
            form = parse_qs(request.content.decode())
            if form.get("code") != ["good-code"]:
                return httpx.Response(400, json={"error": "invalid_grant"})
            return httpx.Response(200, json={"access_token": "a", "token_type": "Bearer", "id_token": self.id_token})
        return httpx.Response(404)

    def sign(self, kid: str = "k1", alg: str = "RS256", key: Any = None, **changes: Any) -> str:
        now = datetime.now(UTC)
        claims = {
            "iss": ISSUER,
            "sub": "vneid-subject-1",
            "aud": CLIENT,
            "iat": now,
            "exp": now + timedelta(minutes=5),
            "nonce": "the-nonce",
            "name": "Nguyễn Văn An",
            "preferred_username": CITIZEN,
        }
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key if key is not None else self.keys[kid], algorithm=alg, headers={"kid": kid})


@pytest.fixture
def provider() -> Provider:
    return Provider()


def client(provider: Provider | None = None, handler: Any = None) -> OidcCitizenLogin:
    """The relying party talking to ``provider`` (or to a bare ``handler``) through httpx's mock transport."""
    return OidcCitizenLogin(
        issuer=ISSUER,
        client_id=CLIENT,
        client_secret=SECRET,
        redirect_url=REDIRECT,
        scopes="openid profile",
        citizen_id_claim="preferred_username",
        http=httpx.AsyncClient(transport=httpx.MockTransport(handler or provider.handler)),  # type: ignore[union-attr]
    )


ATTEMPT = LoginAttempt(state="the-state", nonce="the-nonce", code_verifier="v" * 50)


async def test_authorization_url_asks_for_the_code_with_pkce_state_and_nonce(provider: Provider) -> None:
    """The login URL: the provider's endpoint, response_type=code, S256 challenge of the verifier, state, nonce."""
    url = urlsplit(await client(provider).authorization_url(ATTEMPT))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{ISSUER}/auth"
    assert query == {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "scope": "openid profile",
        "state": "the-state",
        "nonce": "the-nonce",
        "code_challenge": pkce_challenge("v" * 50),
        "code_challenge_method": "S256",
    }


def test_pkce_challenge_is_rfc7636s_example() -> None:
    """The S256 challenge of RFC 7636 appendix B's example verifier."""
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


async def test_a_valid_login_gives_the_citizen_of_the_token(provider: Provider) -> None:
    """The code is redeemed with the verifier and client_secret_basic; the citizen ID is the token's claim."""
    provider.id_token = provider.sign()
    identity = await client(provider).complete("good-code", ATTEMPT)
    assert (identity.citizen_id, identity.subject, identity.issuer, identity.name) == (
        CITIZEN,
        "vneid-subject-1",
        ISSUER,
        "Nguyễn Văn An",
    )
    (request,) = provider.token_requests
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    assert form == {
        "grant_type": "authorization_code",
        "code": "good-code",
        "redirect_uri": REDIRECT,
        "code_verifier": "v" * 50,
    }
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()


OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    ("case", "token_args"),
    [
        ("another nonce (a replayed or injected token)", {"nonce": "someone-elses-nonce"}),
        ("no nonce", {"nonce": None}),
        ("another audience", {"aud": "another-client"}),
        ("several audiences without azp", {"aud": [CLIENT, "another-client"]}),
        ("another issuer", {"iss": "https://evil.test"}),
        ("expired", {"exp": datetime.now(UTC) - timedelta(minutes=5), "iat": datetime.now(UTC) - timedelta(hours=1)}),
        ("signed by a key the JWKS does not have", {"key": OTHER_KEY}),
        ("an unknown key id", {"kid": "k9", "key": OTHER_KEY}),
        ("HS256 with the client secret", {"alg": "HS256", "key": SECRET}),
        ("no citizen ID claim", {"preferred_username": None}),
        ("a citizen ID claim that is no citizen ID", {"preferred_username": "999203012345"}),
    ],
)
async def test_a_token_breaking_one_rule_logs_nobody_in(provider: Provider, case: str, token_args: Any) -> None:
    """Each broken rule alone makes the login fail with LoginRejected."""
    provider.id_token = provider.sign(**token_args)
    with pytest.raises(LoginRejected):
        await client(provider).complete("good-code", ATTEMPT)


async def test_several_audiences_with_azp_of_this_client_are_accepted(provider: Provider) -> None:
    """OIDC Core: several audiences are fine when azp names this client (the contrast of the case above)."""
    provider.id_token = provider.sign(aud=[CLIENT, "another-client"], azp=CLIENT)
    assert (await client(provider).complete("good-code", ATTEMPT)).citizen_id == CITIZEN


async def test_a_rotated_in_key_is_fetched_once_it_signs(provider: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    """A token signed with a key added to the JWKS after the first read verifies (the JWKS is re-read)."""
    monkeypatch.setattr("services.intake.adapters.citizen_identity.JWKS_MIN_REFRESH", 0.0)
    login = client(provider)
    provider.id_token = provider.sign()
    await login.complete("good-code", ATTEMPT)
    provider.keys["k2"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    provider.id_token = provider.sign(kid="k2")
    assert (await login.complete("good-code", ATTEMPT)).citizen_id == CITIZEN
    assert provider.jwks_reads == 2


async def test_a_refused_code_is_a_rejected_login(provider: Provider) -> None:
    """invalid_grant from the token endpoint (a reused or foreign code) is LoginRejected, not a crash."""
    provider.id_token = provider.sign()
    with pytest.raises(LoginRejected, match="invalid_grant"):
        await client(provider).complete("used-code", ATTEMPT)


async def test_a_discovery_document_of_another_issuer_is_refused(provider: Provider) -> None:
    """A provider whose discovery names another issuer is not used (mix-up defence)."""
    provider.discovery["issuer"] = "https://evil.test"
    with pytest.raises(ProviderUnavailable):
        await client(provider).authorization_url(ATTEMPT)


async def test_a_provider_without_s256_pkce_is_refused(provider: Provider) -> None:
    """PKCE with S256 is required; a provider offering only `plain` is not used."""
    provider.discovery["code_challenge_methods_supported"] = ["plain"]
    with pytest.raises(ProviderUnavailable, match="S256"):
        await client(provider).authorization_url(ATTEMPT)


async def test_an_unreachable_provider_is_unavailable() -> None:
    """A connection failure is ProviderUnavailable (the route answers 503)."""

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ProviderUnavailable):
        await client(handler=down).authorization_url(ATTEMPT)
