"""Citizens log in through the real local OpenID Connect provider (Dex) and see exactly their own dossiers.

Dex runs from deploy/local/oidc.sh with the static test citizens; the four services run as processes against
the real Kafka and store. The login is the real authorisation-code flow with PKCE: intake's redirect, the
provider's login form, its redirect back with the code, intake's token exchange and ID-token verification.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from shared.reference.offices import office_name
from tests.e2e.conftest import api_key, official
from tests.support.browser import chromium, needs_chromium, phone_screen, screenshot
from tests.support.oidc import AN, BINH, CLIENT_SECRET, DemoCitizen, local_provider, log_in
from tests.support.processes import System, free_port, running_system
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

PROVINCE_CENTRE = "P01.TTPVHCC"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The local provider (knowing intake's callback) and the four services configured to log citizens in there."""
    prefix = f"c{uuid.uuid4().hex[:8]}"
    workdir: Path = tmp_path_factory.mktemp(prefix)
    intake_port, dex_port = free_port(), free_port()
    callback = f"http://127.0.0.1:{intake_port}/citizen/callback"
    with local_provider(workdir, port=dex_port, redirect_url=callback) as issuer:
        extra = {
            "CITIZEN_OIDC_ISSUER": issuer,
            "CITIZEN_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "CITIZEN_OIDC_REDIRECT_URL": callback,
        }
        with running_system(prefix, workdir, extra, ports={"intake": intake_port}) as sys_:
            yield sys_


def filing(citizen_id: str | None, *, full_name: str | None = None) -> dict[str, Any]:
    """A complete marriage registration (no inter-agency chain: its result is the citizen's); the citizen ID may be
    left to the login."""
    doc = {"content_type": "application/pdf", "size": 1000}
    applicant: dict[str, Any] = {"phone": "0912345678", "address": {"ward_code": "00070", "detail": "12 Hàng Bạc"}}
    if citizen_id is not None:
        applicant["citizen_id"] = citizen_id
    if full_name is not None:
        applicant["full_name"] = full_name
    return {
        "procedure_code": "LT-HT-003",
        "applicant": applicant,
        "documents": [{**doc, "code": "to_khai", "title": "Tờ khai đăng ký kết hôn", "sha256": "a" * 64}],
    }


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"lt_citizen={token}"}


async def file_as(http: httpx.AsyncClient, system: System, token: str, citizen: DemoCitizen) -> dict[str, Any]:
    r = await http.post(
        f"{system['intake'].url}/v1/citizen/dossiers", json=filing(citizen.citizen_id), headers=cookie(token)
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def my_codes(http: httpx.AsyncClient, system: System, token: str) -> set[str]:
    r = await http.get(f"{system['intake'].url}/v1/citizen/dossiers", headers=cookie(token))
    assert r.status_code == 200, r.text
    return {d["code"] for d in r.json()["items"]}


@pytest.fixture(scope="module")
async def filed(system: System) -> dict[str, Any]:
    """An and Bình log in through Dex and file online; a counter also files a dossier of An's."""
    intake = system["intake"].url
    async with httpx.AsyncClient(timeout=60) as http:
        an, an_cookie = await log_in(http, intake, AN)
        binh, _ = await log_in(http, intake, BINH)
        an_online = await file_as(http, system, an, AN)
        binh_online = await file_as(http, system, binh, BINH)
        key = {"Authorization": f"Bearer {await api_key(system, '00070.TTHCC')}"}
        counter = {**filing(AN.citizen_id, full_name=AN.name), "channel": "counter"}
        r = await http.post(f"{intake}/v1/dossiers", json=counter, headers=key)
        assert r.status_code == 201, r.text
    return {
        "an": an,
        "an_cookie": an_cookie,
        "binh": binh,
        "an_online": an_online,
        "binh_online": binh_online,
        "an_counter": r.json(),
    }


async def test_login_sets_an_httponly_samesite_secure_session_cookie(filed: dict[str, Any]) -> None:
    """The session cookie after the provider's redirect is HttpOnly, SameSite=Lax and (ENVIRONMENT=test) Secure."""
    attributes = filed["an_cookie"]["lt_citizen"]
    assert attributes["httponly"] is True and attributes["secure"] is True
    assert attributes["samesite"].lower() == "lax" and attributes["path"] == "/"


async def test_each_citizen_sees_exactly_their_own_dossiers(system: System, filed: dict[str, Any]) -> None:
    """An sees An's online and counter dossiers, never Bình's; Bình sees only Bình's; another's code is 404."""
    intake = system["intake"].url
    async with httpx.AsyncClient(timeout=60) as http:
        me = (await http.get(f"{intake}/v1/citizen/me", headers=cookie(filed["an"]))).json()
        assert me["name"] == AN.name and me["citizen_id_masked"] != AN.citizen_id
        assert await my_codes(http, system, filed["an"]) == {filed["an_online"]["code"], filed["an_counter"]["code"]}
        assert await my_codes(http, system, filed["binh"]) == {filed["binh_online"]["code"]}
        theirs = filed["binh_online"]["code"]
        for path in (f"/v1/citizen/dossiers/{theirs}", f"/v1/citizen/dossiers/{theirs}/forms/receipt.pdf"):
            r = await http.get(f"{intake}{path}", headers=cookie(filed["an"]))
            assert (r.status_code, r.json()["code"]) == (404, "not_found"), path
        anonymous = await http.get(f"{intake}/v1/citizen/dossiers")
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")


async def test_the_online_dossier_is_identity_verified_and_received_by_the_province_centre(
    system: System, filed: dict[str, Any]
) -> None:
    """Filed online as the logged-in citizen: channel online, P01.TTPVHCC receives, identity verified, then routed."""
    intake = system["intake"].url
    code = filed["an_online"]["code"]
    assert code.startswith(f"{PROVINCE_CENTRE}-")
    async with httpx.AsyncClient(timeout=60) as http:

        async def view() -> dict[str, Any]:
            return dict((await http.get(f"{intake}/v1/citizen/dossiers/{code}", headers=cookie(filed["an"]))).json())

        mine = await eventually(view, until=lambda d: d.get("current_office_code") is not None, timeout=60)
        assert mine["identity_verified"] is True and mine["channel"] == "online" and mine["status"] == "routed"
        # routing chose the competent commune (boundary-free within the province); its name is shown, not its code
        assert mine["current_office_name"] == office_name(mine["current_office_code"])
        assert mine["receiving_office_name"] == office_name(PROVINCE_CENTRE)
        counter = (
            await http.get(f"{intake}/v1/citizen/dossiers/{filed['an_counter']['code']}", headers=cookie(filed["an"]))
        ).json()
        assert counter["identity_verified"] is False
        receipt = await http.get(f"{intake}{mine['forms'][0]['url']}", headers=cookie(filed["an"]))
        assert receipt.status_code == 200 and receipt.headers["content-type"] == "application/pdf"
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(receipt.content)).pages)
        assert code in text and AN.name in text


async def test_a_form_with_another_citizens_id_is_refused(system: System, filed: dict[str, Any]) -> None:
    """Logged in as An, a filing naming Bình's citizen ID is 403 citizen_id_mismatch and nothing is filed."""
    intake = system["intake"].url
    async with httpx.AsyncClient(timeout=60) as http:
        before = await my_codes(http, system, filed["an"])
        r = await http.post(f"{intake}/v1/citizen/dossiers", json=filing(BINH.citizen_id), headers=cookie(filed["an"]))
        assert (r.status_code, r.json()["code"]) == (403, "citizen_id_mismatch")
        assert await my_codes(http, system, filed["an"]) == before
        assert await my_codes(http, system, filed["binh"]) == {filed["binh_online"]["code"]}


async def test_the_signed_result_reaches_my_dossiers(system: System, filed: dict[str, Any]) -> None:
    """Approved at the competent office, An's dossier shows the result's verification page and PDF links."""
    intake, res = system["intake"].url, system["resolution"].url
    code = filed["an_online"]["code"]
    async with httpx.AsyncClient(timeout=60) as http:
        routed = await eventually(
            lambda: http.get(f"{intake}/v1/citizen/dossiers/{code}", headers=cookie(filed["an"])),
            until=lambda r: r.json().get("current_office_code") is not None,
            timeout=60,
        )
        competent = routed.json()["current_office_code"]
        await eventually(
            lambda: http.get(f"{res}/v1/dossiers/{code}", headers=official(competent, "clerk")),
            until=lambda r: r.status_code == 200,
            timeout=60,
        )
        for action, role, body in (
            ("accept", "clerk", None),
            ("process", "specialist", None),
            ("approve", "leader", {"result_title": "Giấy chứng nhận kết hôn", "result_content": "Đăng ký kết hôn"}),
        ):
            r = await http.post(f"{res}/v1/dossiers/{code}/{action}", json=body, headers=official(competent, role))
            assert r.status_code == 200, (action, r.text)
        mine = await eventually(
            lambda: http.get(f"{intake}/v1/citizen/dossiers/{code}", headers=cookie(filed["an"])),
            until=lambda r: r.json().get("result") is not None and r.json()["status"] == "result_ready",
            timeout=60,
        )
        result = mine.json()["result"]
        assert result["verify_url"].startswith(f"{res}/verify?id=")
        pdf = await http.get(result["pdf_url"])
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        theirs = (await http.get(f"{intake}/v1/citizen/dossiers", headers=cookie(filed["binh"]))).json()["items"]
        assert [d["result"] for d in theirs] == [None]


async def test_logout_ends_the_session(system: System) -> None:
    """After POST /citizen/logout the session cookie no longer names anyone."""
    intake = system["intake"].url
    async with httpx.AsyncClient(timeout=60) as http:
        token, _ = await log_in(http, intake, BINH)
        assert (await http.get(f"{intake}/v1/citizen/me", headers=cookie(token))).status_code == 200
        out = await http.post(f"{intake}/citizen/logout", headers=cookie(token), follow_redirects=False)
        assert out.status_code == 303
        assert (await http.get(f"{intake}/v1/citizen/me", headers=cookie(token))).status_code == 401


async def test_a_forged_callback_logs_nobody_in(system: System) -> None:
    """A callback whose state is not this browser's login (login CSRF) or whose code is made up is refused."""
    intake = system["intake"].url
    async with httpx.AsyncClient(timeout=60) as http:
        start = await http.get(f"{intake}/citizen/login", follow_redirects=False)
        state = start.headers["location"].split("state=", 1)[1].split("&", 1)[0]
        foreign = await http.get(f"{intake}/citizen/callback", params={"state": state, "code": "x"})
        assert (foreign.status_code, foreign.json()["code"]) == (400, "login_failed")
        made_up = await http.get(
            f"{intake}/citizen/callback",
            params={"state": state, "code": "made-up-code"},
            headers={"Cookie": f"lt_citizen_login={state}"},
        )
        assert (made_up.status_code, made_up.json()["code"]) == (401, "login_rejected")
        assert "lt_citizen" not in made_up.headers.get("set-cookie", "")


NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@needs_chromium
async def test_my_dossiers_page_in_chromium_after_the_real_login(
    system: System, filed: dict[str, Any], tmp_path: Path
) -> None:
    """In headless Chromium on a 390 px phone: log in on the provider's form, land on "Hồ sơ của tôi" listing An's
    dossiers (not Bình's) with the receipt link; no sideways scrolling. The screenshot stays in the test's folder."""
    intake = system["intake"].url
    async with chromium(tmp_path) as page:
        await page.call("Page.enable")
        await phone_screen(page)

        async def at(url_start: str) -> None:
            await eventually(lambda: page.js("location.href"), until=lambda u: str(u).startswith(url_start), timeout=30)
            await eventually(lambda: page.js("document.readyState"), until=lambda s: s == "complete")

        await page.call("Page.navigate", url=f"{intake}/citizen")
        await at(f"{intake}/citizen")
        assert "Đăng nhập bằng định danh điện tử" in await page.js("document.body.innerText")
        await screenshot(page, tmp_path / "citizen-login.png")
        await page.js("document.querySelector('a.button').click()")
        await eventually(lambda: page.js("!!document.querySelector('input[name=password]')"), timeout=30)
        await page.js(
            f"document.getElementById('login').value = {AN.email!r};"
            f"document.getElementById('password').value = {AN.password!r};"
            "document.querySelector('form').submit()"
        )
        await eventually(lambda: page.js("!!document.querySelector('article.card')"), timeout=30)
        await at(f"{intake}/citizen")
        shown = await page.js("document.body.innerText")
        codes = await page.js("[...document.querySelectorAll('article.card')].map(a => a.dataset.code)")
        assert set(codes) == {filed["an_online"]["code"], filed["an_counter"]["code"]}
        assert "Hồ sơ của tôi" in shown and AN.name in shown and "Đăng ký kết hôn" in shown
        assert "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in shown
        assert filed["binh_online"]["code"] not in shown and BINH.name not in shown
        assert await page.js(NO_SIDEWAYS_SCROLL)
        await screenshot(page, tmp_path / "citizen-dossiers.png")
