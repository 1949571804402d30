"""The operations-centre dashboard in a real headless Chromium against real Kafka and FerretDB.

A provincial operations official opens /operations, pastes the token, and sees the figures the API gives;
a dossier that arrives afterwards appears live (SSE); the token never appears in a URL.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.resolution.bootstrap import bootstrap
from services.resolution.settings import ResolutionSettings
from tests.integration.resolution.test_resolution import A, feed, routed, seed_operations, tok
from tests.support.browser import CHROMIUM, chromium
from tests.support.http_server import serve
from tests.support.service import drop_databases
from tests.support.waiting import eventually

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")

KPIS = {
    "kpi-received": "received",
    "kpi-resolved": "resolved",
    "kpi-overdue": "overdue_now",
    "kpi-near-due": "near_due",
    "kpi-open": "open",
    "kpi-supplements": "supplement_requests",
    "kpi-refused": "refused",
    "kpi-apologies": "apologies",
}


async def screenshot(page: Any, path: Path) -> None:
    """Save a full-page PNG (the dashboard is taller than the window)."""
    metrics = await page.call("Page.getLayoutMetrics")
    size = metrics["cssContentSize"]
    shot = await page.call(
        "Page.captureScreenshot",
        format="png",
        captureBeyondViewport=True,
        clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
    )
    path.write_bytes(base64.b64decode(shot["data"]))


async def test_dashboard_shows_the_api_figures_and_updates_live(
    base_settings: dict[str, str], isolation: str, tmp_path: Path
) -> None:
    """Login form → the province's figures; every KPI, the ranking, the commune table and the overdue list
    equal the API's answer for the same token; a new dossier raises 'received' without a reload; the token is
    sent only as a header (no request URL carries it)."""
    settings = ResolutionSettings(
        **base_settings,
        mongodb_database=f"{isolation}_resolution",
        overdue_check_interval=0.3,
        dashboard_refresh_interval=1.0,
    )
    shots = Path(os.environ.get("LIENTHONG_SCREENSHOTS", str(tmp_path)))
    shots.mkdir(parents=True, exist_ok=True)
    async with serve(bootstrap(settings)) as url, chromium(tmp_path) as page:
        hanoi = tok(settings, "operations", office="P01.TTPVHCC")
        token = hanoi["Authorization"].removeprefix("Bearer ")
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await seed_operations(http, settings)
            api = (await http.get("/v1/stats", headers=hanoi)).json()
            assert api["totals"]["received"] == 12  # Hà Nội only (the HCM dossier is not in scope)
            await page.call("Page.enable")
            await page.call(
                "Emulation.setDeviceMetricsOverride", width=1440, height=900, deviceScaleFactor=1, mobile=False
            )
            await page.call("Page.navigate", url=f"{url}/")  # the bare address leads to the dashboard
            await eventually(lambda: page.js("location.pathname"), until=lambda p: p == "/operations")
            await eventually(lambda: page.js("document.readyState"), until=lambda s: s == "complete")
            assert await page.js("document.documentElement.lang") == "vi"
            assert await page.js("!document.getElementById('login').classList.contains('hidden')")
            assert await page.js("typeof Chart") == "function"  # shipped in the package, not fetched
            # record what the page asks for: the token must travel as a header only
            await page.js(
                "window.calls = []; const real = window.fetch; window.fetch = (u, o) => {"
                " window.calls.push([String(u), (o && o.headers && o.headers.Authorization) || '']);"
                " return real(u, o); }; true"
            )
            await page.js(
                f"document.getElementById('token').value = {json.dumps(token)};"
                "document.querySelector('#login-form button').click(); true"
            )
            await eventually(
                lambda: page.js("document.getElementById('kpi-received').dataset.value"),
                until=lambda v: v == str(api["totals"]["received"]),
            )
            shown = await page.js(
                f"Object.fromEntries(Object.keys({json.dumps(KPIS)})"
                ".map(id => [id, document.getElementById(id).dataset.value]))"
            )
            assert shown == {kpi: str(api["totals"][field]) for kpi, field in KPIS.items()}
            assert await page.js("document.getElementById('kpi-on-time').textContent") == (
                f"{round(api['totals']['on_time_rate'] * 100, 1):g}%".replace(".", ",")
            )
            assert "Hà Nội" in await page.js("document.getElementById('scope').textContent")
            ranking = await page.js(
                "Array.from(document.querySelectorAll('#ranking tr')).map(tr => [tr.dataset.key,"
                " tr.cells[0].textContent])"
            )
            assert ranking == [
                [r["key"], "—" if r["rank"] is None else str(r["rank"])] for r in api["ranking"]["offices"]
            ]
            communes = await page.js(
                "Array.from(document.querySelectorAll('#communes tr')).map(tr => [tr.dataset.key,"
                " tr.cells[1].textContent])"
            )
            assert communes == [[r["key"], str(r["received"])] for r in api["by_commune"]]
            overdue = await page.js("Array.from(document.querySelectorAll('#overdue tr')).map(tr => tr.dataset.code)")
            assert overdue == [i["dossier_code"] for i in api["overdue"]] and len(overdue) == 1
            criteria = await page.js("document.querySelectorAll('#criteria tr').length")
            assert criteria == 22
            await screenshot(page, shots / "operations-dashboard.png")

            # live: a new dossier at office A shows up without reloading the page
            await feed(settings, routed(office=A, procedure="LT-KD-001", processing_days=3))
            await eventually(
                lambda: page.js("document.getElementById('kpi-received').dataset.value"),
                until=lambda v: v == str(api["totals"]["received"] + 1),
                timeout=30,
            )
            assert await page.js("document.getElementById('live').classList.contains('on')")
            calls = await page.js("window.calls")
            assert calls and all(u.startswith("/v1/stats/stream?") and h == f"Bearer {token}" for u, h in calls)
            urls = [u for u, _ in calls] + await page.js("performance.getEntriesByType('resource').map(e => e.name)")
            assert not any(token in u for u in urls)
            await screenshot(page, shots / "operations-dashboard-live.png")

            # a Hà Nội token asking for Hồ Chí Minh City is told it may not, and sees no figures of it
            await page.js("document.getElementById('province').value = '79'; true")
            await page.js("document.querySelector('#filters button').click(); true")
            await eventually(
                lambda: page.js("document.getElementById('scope').textContent"),
                until=lambda t: "Không có quyền" in t,
            )
    await drop_databases(settings.mongodb_url, settings.mongodb_database)


async def test_a_bad_token_is_asked_again(base_settings: dict[str, str], isolation: str, tmp_path: Path) -> None:
    """An invalid token is dropped from the session and the login form says why."""
    settings = ResolutionSettings(**base_settings, mongodb_database=f"{isolation}_resolution")
    async with serve(bootstrap(settings)) as url, chromium(tmp_path) as page:
        await page.call("Page.navigate", url=f"{url}/operations")
        await eventually(lambda: page.js("document.readyState"), until=lambda s: s == "complete")
        await page.js(
            "document.getElementById('token').value = 'not-a-token';"
            "document.querySelector('#login-form button').click(); true"
        )
        await eventually(
            lambda: page.js("document.getElementById('login-error').textContent"), until=lambda t: "không hợp lệ" in t
        )
        assert await page.js("sessionStorage.getItem('lienthong.operations.token')") is None
    await drop_databases(settings.mongodb_url, settings.mongodb_database)
