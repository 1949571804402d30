"""The citizen tracking page in a real headless Chromium: enter code + token, watch the timeline update live."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from services.notify.bootstrap import bootstrap
from services.notify.settings import NotifySettings
from shared.events import DossierReceived, DossierStatus, DossierStatusChanged
from shared.topics import Topics
from tests.integration.notify.test_notify import TOKEN, receive, send, status
from tests.support.browser import chromium, needs_chromium, screenshot
from tests.support.http_server import serve
from tests.support.service import drop_databases
from tests.support.waiting import eventually

pytestmark = needs_chromium


TIMELINE = "Array.from(document.querySelectorAll('#timeline li')).map(li => li.dataset.kind)"


@pytest.fixture
async def settings(base_settings: dict[str, str], isolation: str, tmp_path: Path) -> AsyncIterator[NotifySettings]:
    """Notify on its own database, dropped after the test."""
    settings = NotifySettings(
        **base_settings, mongodb_database=f"{isolation}_notify", sms_outbox_path=str(tmp_path / "sms.jsonl")
    )
    yield settings
    await drop_databases(settings.mongodb_url, settings.mongodb_database)


async def tracked(
    settings: NotifySettings, url: str, *, status: Callable[[DossierReceived], DossierStatusChanged] | None = None
) -> DossierReceived:
    """A fresh receipt (and ``status`` of it, if given), once the tracking API at ``url`` shows all of it."""
    r = await receive(settings)
    if status is not None:
        await send(settings, Topics.DOSSIER_STATUS, status(r))
    async with httpx.AsyncClient(base_url=url) as http:
        await eventually(
            lambda: http.get(f"/v1/track/{r.dossier_code}", params={"token": TOKEN}),
            until=lambda x: x.status_code == 200 and len(x.json()["timeline"]) == (1 if status is None else 2),
        )
    return r


async def test_the_tracking_page_shows_the_timeline_and_updates_live(settings: NotifySettings, tmp_path: Path) -> None:
    """In Chromium: a wrong token shows 'not found'; code + token show the timeline; a new change appears live."""
    async with serve(bootstrap(settings)) as url, chromium(tmp_path) as page:
        r = await tracked(settings, url)
        await page.call("Page.enable")
        await page.call("Page.navigate", url=f"{url}/track")
        await eventually(lambda: page.js("document.readyState"), until=lambda s: s == "complete")
        assert await page.js("document.documentElement.lang") == "vi"

        async def submit(code: str, token: str) -> None:
            await page.js(
                f"document.getElementById('code').value = {json.dumps(code)};"
                f"document.getElementById('token').value = {json.dumps(token)};"
                "document.querySelector('button[type=submit]').click(); true"
            )

        await submit(r.dossier_code, "not-the-right-token")
        message = await eventually(
            lambda: page.js("document.getElementById('status').textContent"), until=lambda t: "Không tìm thấy" in t
        )
        assert await page.js(TIMELINE) == [], message

        await submit(r.dossier_code, TOKEN)
        await eventually(lambda: page.js(TIMELINE), until=lambda kinds: kinds == ["received"])
        await eventually(
            lambda: page.js("document.getElementById('status').textContent"),
            until=lambda t: r.dossier_code in t and "trực tiếp" in t,
        )
        await send(settings, Topics.DOSSIER_STATUS, status(r, DossierStatus.ACCEPTED, 2))
        await eventually(lambda: page.js(TIMELINE), until=lambda kinds: kinds == ["received", "accepted"], timeout=10)
        text = await page.js("document.getElementById('timeline').innerText")
        assert "Cơ quan đã tiếp nhận" in text and "0912345678" not in text


async def test_a_link_with_code_and_token_in_the_fragment_opens_the_dossier(
    settings: NotifySettings, tmp_path: Path
) -> None:
    """`/track#code=…&token=…` (the fragment never reaches the server) shows the timeline without typing."""
    async with serve(bootstrap(settings)) as url, chromium(tmp_path) as page:
        r = await tracked(settings, url)
        await page.call("Page.navigate", url=f"{url}/track#code={r.dossier_code}&token={TOKEN}")
        await eventually(lambda: page.js(TIMELINE), until=lambda kinds: kinds == ["received"])


async def test_a_chain_step_result_is_shown_as_a_step_going_on(settings: NotifySettings, tmp_path: Path) -> None:
    """In Chromium: the first step's result of a three-step chain reads "step 1/3, goes on to the next step", so the
    citizen is not told the dossier is done; the page is captured as a PNG for review."""
    chain = ["LT-HT-001", "LT-CT-001", "LT-BH-001"]
    async with serve(bootstrap(settings)) as url, chromium(tmp_path) as page:
        r = await tracked(
            settings,
            url,
            status=lambda r: status(r, DossierStatus.RESULT_READY, 4, action="approve", chain=chain, chain_step=0),
        )
        await page.call("Page.navigate", url=f"{url}/track#code={r.dossier_code}&token={TOKEN}")
        await eventually(lambda: page.js(TIMELINE), until=lambda kinds: kinds == ["received", "result_ready"])
        text = await page.js("document.getElementById('timeline').innerText")
        assert "Đã có kết quả (bước 1/3, chuyển tiếp bước sau) — Ủy ban nhân dân Phường Hoàn Kiếm" in text, text
        assert "00070.UBND" not in text, "citizens read office names, not codes"
        summary = await eventually(
            lambda: page.js("document.getElementById('s-status').textContent"), until=lambda t: "bước" in t
        )
        assert summary == "Đã có kết quả (bước 1/3, chuyển tiếp bước sau)", "the summary must not read as the end"
        shown = "getComputedStyle(document.getElementById('s-result')).display"
        assert await page.js(shown) == "none", "no result link before the chain's last step is signed"
        await screenshot(page, tmp_path / "tracking-chain-step.png")
