"""The operations centre from real dossiers through the four service processes, in a real browser.

Dossiers are filed at a front office (intake), routed (routing), handled by officials (resolution); the
Hà Nội operations official's dashboard shows the same figures as the API: an inter-agency chain of three
offices is one dossier, resolved once; a refusal counts with its reason; a new filing appears live.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import official
from tests.e2e.test_journeys_more import _act, _case, _file
from tests.integration.resolution.test_operations_page import screenshot
from tests.support.browser import CHROMIUM, chromium
from tests.support.processes import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")
CHAIN = ["00070.UBND", "00070.CA", "P01.BHXH"]  # birth → permanent residence → child's health insurance


async def test_the_province_dashboard_shows_real_dossiers(system: System, tmp_path: Path) -> None:
    """Three dossiers through intake → routing → resolution: received 3 (the chain once), resolved 2 (the
    chain at its last step, the refusal), refusal with reason 1; the browser shows the API's figures and a
    fourth filing live."""
    hanoi = official("P01.TTPVHCC", "operations")
    res = system["resolution"].url
    async with httpx.AsyncClient(timeout=30) as http:
        chain = await _file(http, system, "LT-HT-001")
        for office in CHAIN:
            await _case(http, system, chain["code"], office)
            await _act(
                http,
                system,
                chain["code"],
                office,
                ("accept", "clerk"),
                ("process", "specialist"),
                ("approve", "leader"),
            )
        refused = await _file(http, system, "LT-XD-001", subject="00004")
        await _case(http, system, refused["code"], "00004.UBND")
        await _act(http, system, refused["code"], "00004.UBND", ("reject", "leader"))
        waiting = await _file(http, system, "LT-XD-001", subject="00004")
        await _case(http, system, waiting["code"], "00004.UBND")

        stats = (await http.get(f"{res}/v1/stats", headers=hanoi)).json()
        totals = stats["totals"]
        assert (totals["received"], totals["resolved"], totals["open"]) == (3, 2, 2)  # open: the chain's result, 1
        assert (totals["refused"], totals["refused_with_reason"]) == (1, 1)
        assert totals["online_full"] + totals["online_partial"] == 3  # all filed online (tests/e2e body)
        offices = {r["key"]: r["resolved"] for r in stats["by_office"]}
        assert offices == {**dict.fromkeys(CHAIN, 1), "00004.UBND": 1}
        assert [r["key"] for r in stats["by_province"]] == ["01"]

        shots = Path(os.environ.get("LIENTHONG_SCREENSHOTS", str(tmp_path)))
        shots.mkdir(parents=True, exist_ok=True)
        async with chromium(tmp_path) as page:
            await page.call(
                "Emulation.setDeviceMetricsOverride", width=1440, height=900, deviceScaleFactor=1, mobile=False
            )
            await page.call("Page.navigate", url=f"{res}/operations")
            await eventually(lambda: page.js("document.readyState"), until=lambda s: s == "complete")
            token = hanoi["Authorization"].removeprefix("Bearer ")
            await page.js(
                f"document.getElementById('token').value = {json.dumps(token)};"
                "document.querySelector('#login-form button').click(); true"
            )
            for kpi, field in (("kpi-received", "received"), ("kpi-resolved", "resolved"), ("kpi-refused", "refused")):
                await eventually(
                    lambda kpi=kpi: page.js(f"document.getElementById('{kpi}').dataset.value"),
                    until=lambda v, field=field: v == str(totals[field]),
                    timeout=30,
                )
            await screenshot(page, shots / "operations-dashboard-e2e.png")
            await _file(http, system, "LT-XD-001", subject="00004")
            await eventually(
                lambda: page.js("document.getElementById('kpi-received').dataset.value"),
                until=lambda v: v == "4",
                timeout=60,
            )
