"""The citizen routes in-process with a test double of the identity port and in-memory sessions: cookies, redirects,
401 without a session, abuse limits (the real provider: tests/e2e/test_citizen_login.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.intake.bootstrap import bootstrap
from tests.support.pdf import pdf_text
from tests.unit.intake.fakes import Fakes
from tests.unit.intake.test_citizen import FakeLogin, FakeSessions
from tests.unit.intake.test_http import settings


async def portal(**extra: Any) -> AsyncIterator[tuple[httpx.AsyncClient, FakeSessions]]:
    fakes = Fakes()
    sessions = FakeSessions(fakes)
    s = settings(**extra)
    app = bootstrap(s, **fakes.overrides(s), citizen_login=FakeLogin(), citizen_store=sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8001") as http:
        yield http, sessions


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, FakeSessions]]:
    async for pair in portal():
        yield pair


def cookie_of(response: httpx.Response, name: str) -> Any:
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        if name in jar:
            return jar[name]
    raise AssertionError(f"no Set-Cookie {name}: {response.headers.get_list('set-cookie')}")


async def test_login_callback_and_my_dossiers(client: tuple[httpx.AsyncClient, FakeSessions]) -> None:
    """Login redirects to the provider with a callback-scoped HttpOnly state cookie; the callback opens a session
    (HttpOnly, SameSite=Lax, not Secure in development) and redirects to the page asked for."""
    http, _ = client
    start = await http.get("/citizen/login", params={"return_to": "/citizen?x=1"})
    assert start.status_code == 302 and start.headers["location"].startswith("https://vneid.test/auth?state=")
    state_cookie = cookie_of(start, "lt_citizen_login")
    assert state_cookie["httponly"] and state_cookie["path"] == "/citizen/callback"
    assert state_cookie["samesite"].lower() == "lax" and not state_cookie["secure"]
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    assert state_cookie.value == state
    done = await http.get(
        "/citizen/callback", params={"state": state, "code": "c"}, headers={"Cookie": f"lt_citizen_login={state}"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/citizen?x=1"
    session = cookie_of(done, "lt_citizen")
    assert session["httponly"] and session["samesite"].lower() == "lax" and session["path"] == "/"
    mine = await http.get("/v1/citizen/dossiers", headers={"Cookie": f"lt_citizen={session.value}"})
    assert mine.status_code == 200 and mine.json()["items"] == []
    assert mine.json()["citizen"]["name"] == "Nguyễn Văn An"


async def test_without_a_session_the_api_is_401_and_the_page_offers_login(
    client: tuple[httpx.AsyncClient, FakeSessions],
) -> None:
    """No cookie or an unknown one: 401 unauthorized on the API; the page shows the login button."""
    http, _ = client
    for headers in ({}, {"Cookie": "lt_citizen=not-a-session"}):
        r = await http.get("/v1/citizen/dossiers", headers=headers)
        assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
    page = await http.get("/citizen")
    assert page.status_code == 200 and 'href="/citizen/login"' in page.text


async def logged_in(http: httpx.AsyncClient) -> dict[str, str]:
    """The Cookie header of a session opened through the routes."""
    start = await http.get("/citizen/login")
    state = cookie_of(start, "lt_citizen_login").value
    done = await http.get(
        "/citizen/callback", params={"state": state, "code": "c"}, headers={"Cookie": f"lt_citizen_login={state}"}
    )
    return {"Cookie": f"lt_citizen={cookie_of(done, 'lt_citizen').value}"}


def online_filing() -> dict[str, Any]:
    """A filing as the citizen's form sends it (the citizen ID and name come from the login)."""
    doc = {"code": "to_khai", "title": "t", "content_type": "application/pdf", "size": 10, "sha256": "a" * 64}
    return {
        "procedure_code": "LT-HT-003",
        "applicant": {"phone": "0912345678", "address": {"ward_code": "00070"}},
        "documents": [doc],
    }


async def test_a_post_from_another_site_is_refused(client: tuple[httpx.AsyncClient, FakeSessions]) -> None:
    """With a live session, a logout or a filing whose Origin is another site is 403 and changes nothing."""
    http, sessions = client
    me = await logged_in(http)
    evil = {**me, "Origin": "https://evil.test"}
    out = await http.post("/citizen/logout", headers=evil)
    assert (out.status_code, out.json()["code"]) == (403, "forbidden")
    filing = online_filing()
    filed = await http.post("/v1/citizen/dossiers", json=filing, headers=evil)
    assert (filed.status_code, filed.json()["code"]) == (403, "forbidden")
    assert sessions.fakes.dossiers.items == {}
    assert (await http.get("/v1/citizen/me", headers=me)).status_code == 200, "the refused logout ended the session"
    same_site = await http.post("/v1/citizen/dossiers", json=filing, headers={**me, "Origin": "http://127.0.0.1:8001"})
    assert same_site.status_code == 201, same_site.text


async def test_too_many_logins_from_one_client_are_429() -> None:
    """Starting logins stores attempts: past ABUSE_CLIENT_LIMIT per client the answer is 429 with Retry-After."""
    async for http, sessions in portal(abuse_client_limit="3/minute"):
        answers = [(await http.get("/citizen/login")).status_code for _ in range(5)]
        assert answers == [302, 302, 302, 429, 429]
        assert len(sessions.logins) == 3


async def test_without_a_provider_login_is_503() -> None:
    """ENVIRONMENT=test without CITIZEN_OIDC_ISSUER: citizen login is off (404 citizen_login_unavailable)."""
    keys = {k: "k" * 40 + k for k in ("pii_hash_key", "pii_encryption_key", "contact_sealing_key")}
    fakes = Fakes()
    s = settings(environment="test", **keys)
    app = bootstrap(s, **fakes.overrides(s), citizen_store=FakeSessions(fakes))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8001") as http:
        r = await http.get("/citizen/login")
    assert (r.status_code, r.json()["code"]) == (404, "citizen_login_unavailable")


async def test_my_receipt_prints_my_own_dossier_in_clear_and_anothers_is_404() -> None:
    """The citizen's Mẫu 01 is printed through the receipt printer with the applicant decrypted; a code of
    another citizen is 404 not_found, exactly as an unknown code."""
    async for http, sessions in portal():
        me = await logged_in(http)
        filed = await http.post("/v1/citizen/dossiers", json=online_filing(), headers=me)
        assert filed.status_code == 201, filed.text
        code = filed.json()["code"]
        paper = await http.get(f"/v1/citizen/dossiers/{code}/forms/receipt.pdf", headers=me)
        assert paper.status_code == 200 and paper.headers["content-type"] == "application/pdf"
        text = pdf_text(paper.content)
        assert code in text and "Nguyễn Văn An" in text
        (stored,) = sessions.fakes.dossiers.items.values()
        assert stored.applicant.identity_verified and stored.office_code == filed.json()["office_code"]
        other = await http.get("/v1/citizen/dossiers/P01.TTPVHCC-261123-9999/forms/receipt.pdf", headers=me)
        assert (other.status_code, other.json()["code"]) == (404, "not_found")
