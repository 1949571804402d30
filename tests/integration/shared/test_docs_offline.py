"""/docs and /redoc render in headless Chromium with every host but loopback unresolvable (a closed network).

FastAPI's defaults load Swagger UI and ReDoc from a CDN; the services serve the files themselves
(fastapi-offline's copies). Chromium's DOM after rendering must show the API's operations.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.routing.bootstrap import bootstrap
from services.routing.settings import RoutingSettings
from shared.http import DOCS_ASSETS
from tests.support.http_server import serve
from tests.support.service import drop_databases

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# no DNS for anything but loopback: a CDN reference would fail to load
CLOSED_NETWORK = "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


@pytest.fixture
async def routing(base_settings: dict[str, str], isolation: str) -> AsyncIterator[str]:
    settings = RoutingSettings(**base_settings, mongodb_database=f"{isolation}_routing")
    async with serve(bootstrap(settings)) as url:
        yield url
    await drop_databases(settings.mongodb_url, settings.mongodb_database)


async def test_docs_pages_reference_only_local_assets(routing: str) -> None:
    """The HTML names no external host; every script and stylesheet it names is served here."""
    async with httpx.AsyncClient(base_url=routing, timeout=30) as http:
        for page in ("/docs", "/redoc"):
            html = (await http.get(page)).text
            assert "cdn.jsdelivr.net" not in html and "fonts.googleapis.com" not in html, page
            assert f'"{DOCS_ASSETS}/' in html, page
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"):
            response = await http.get(f"{DOCS_ASSETS}/{asset}")
            assert response.status_code == 200 and len(response.content) > 1000, asset


async def _rendered_dom(url: str, profile: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={profile}",
        f"--host-resolver-rules={CLOSED_NETWORK}",
        "--virtual-time-budget=15000",
        "--dump-dom",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return out.decode(errors="replace")


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")
async def test_swagger_ui_and_redoc_render_without_a_network(routing: str, tmp_path: Path) -> None:
    """Swagger UI lists the routing operations and ReDoc its title, with no host but loopback reachable."""
    swagger = await _rendered_dom(f"{routing}/docs", tmp_path / "swagger")
    assert 'class="swagger-ui' in swagger
    assert "opblock-summary-path" in swagger, "Swagger UI did not render the operations"
    assert "/v1/offices" in swagger
    redoc = await _rendered_dom(f"{routing}/redoc", tmp_path / "redoc")
    assert "LienThong routing" in redoc and "/v1/offices" in redoc, "ReDoc did not render the API"
