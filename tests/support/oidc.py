"""The local OpenID Connect provider (Dex, deploy/local/oidc.sh) for tests, and a citizen logging in through it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.support.infra import REPO

SCRIPT = REPO / "deploy" / "local" / "oidc.sh"
#: the suite's client secret at the local provider (ENVIRONMENT=test refuses the development one)
CLIENT_SECRET = "test-oidc-client-secret-0123456789abcdef0123"


@dataclass(frozen=True)
class DemoCitizen:
    """A static test citizen of deploy/local/dex/citizens.yaml."""

    email: str
    password: str
    citizen_id: str
    name: str


AN = DemoCitizen("an@citizen.lienthong.test", "an-matkhau-demo", "001203012345", "Nguyễn Văn An")
BINH = DemoCitizen("binh@citizen.lienthong.test", "binh-matkhau-demo", "079198012346", "Trần Thị Bình")


@contextmanager
def local_provider(workdir: Path, *, port: int, redirect_url: str) -> Iterator[str]:
    """Dex on ``port`` with its own data dir, the suite's client and ``redirect_url``; yields the issuer URL."""
    env = {k: v for k, v in os.environ.items() if k != "CITIZEN_OIDC_ISSUER"}
    env |= {
        "LIENTHONG_DATA": str(workdir / "oidc"),
        "DEX_PORT": str(port),
        "CITIZEN_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "CITIZEN_OIDC_REDIRECT_URL": redirect_url,
    }
    # the first run builds Dex from the Go module proxy into the cache (a few minutes), later runs reuse it
    started = subprocess.run(["bash", str(SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=900)
    assert started.returncode == 0, f"oidc.sh up failed:\n{started.stdout}\n{started.stderr}"
    try:
        yield f"http://127.0.0.1:{port}/dex"
    finally:
        subprocess.run(["bash", str(SCRIPT), "down"], env=env, capture_output=True, timeout=60)


def set_cookies(response: httpx.Response) -> dict[str, SimpleCookie]:
    """The cookies a response sets, by name, with their attributes."""
    found: dict[str, SimpleCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            found[name] = cookie
    return found


async def log_in(http: httpx.AsyncClient, intake_url: str, citizen: DemoCitizen) -> tuple[str, SimpleCookie]:
    """Log ``citizen`` in the way a browser does: intake → the provider's login form → intake's callback.

    Cookies are carried by hand: the session cookie is ``Secure`` outside development, which httpx (unlike a
    browser on a loopback address) would not send over plain HTTP. Returns (session token, its Set-Cookie).
    """
    start = await http.get(f"{intake_url}/citizen/login", follow_redirects=False)
    assert start.status_code == 302, start.text
    login_state = set_cookies(start)["lt_citizen_login"]["lt_citizen_login"].value
    # the provider's own pages: its login form, then the redirect back with the code
    page = await http.get(start.headers["location"], follow_redirects=True)
    assert page.status_code == 200 and 'name="password"' in page.text, page.text[:500]
    action = page.text.split('<form method="post" action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    answer = await http.post(
        urljoin(str(page.url), action),
        data={"login": citizen.email, "password": citizen.password},
        follow_redirects=False,
    )
    while answer.status_code in (302, 303) and not answer.headers["location"].startswith(intake_url):
        answer = await http.get(urljoin(str(answer.url), answer.headers["location"]), follow_redirects=False)
    assert answer.status_code in (302, 303), answer.text[:500]
    callback = answer.headers["location"]
    assert callback.startswith(f"{intake_url}/citizen/callback?"), callback
    query = parse_qs(urlsplit(callback).query)
    assert "code" in query and query.get("state") == [login_state]
    done = await http.get(callback, headers={"Cookie": f"lt_citizen_login={login_state}"}, follow_redirects=False)
    assert done.status_code == 303, done.text
    cookie = set_cookies(done)["lt_citizen"]
    return cookie["lt_citizen"].value, cookie
