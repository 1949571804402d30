"""A real headless Chromium driven over the DevTools protocol (Debian package `chromium`)."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support.processes import free_port
from tests.support.waiting import eventually

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"
)


class Page:
    """A Chrome DevTools Protocol session on one page (just what the test needs)."""

    def __init__(self, socket: Any) -> None:
        self._socket = socket
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer (events in between are ignored)."""
        message_id = next(self._ids)
        await self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            answer = json.loads(await self._socket.recv())
            if answer.get("id") == message_id:
                if "error" in answer:
                    raise AssertionError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer["result"]
                return result

    async def js(self, expression: str) -> Any:
        """Evaluate ``expression`` in the page and return its JSON value."""
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result["result"].get("value")


@contextlib.asynccontextmanager
async def chromium(tmp_path: Path) -> AsyncIterator[Page]:
    """A headless Chromium with a debugging port; yields its first page."""
    port = free_port()
    assert CHROMIUM is not None
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--remote-debugging-port={port}",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient() as http:

            async def targets() -> list[dict[str, Any]]:
                try:
                    answer = await http.get(f"http://127.0.0.1:{port}/json/list")
                except httpx.HTTPError:
                    return []
                return [t for t in answer.json() if t.get("type") == "page"]

            pages = await eventually(targets, timeout=30, every=0.2)
        async with websockets.connect(pages[0]["webSocketDebuggerUrl"], max_size=None) as socket:
            yield Page(socket)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def phone_screen(page: Page, width: int = 390, height: int = 844) -> None:
    """Make the page a phone screen of ``width`` CSS pixels (an iPhone 12-14 is 390 px wide)."""
    await page.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=True)


async def screenshot(page: Page, path: Path) -> Path:
    """A PNG of the whole page (beyond the fold), written to ``path``."""
    shot = await page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


async def choose_file(page: Page, selector: str, file: Path) -> None:
    """Put ``file`` into the file input ``selector`` as a person choosing it would (fires `change`)."""
    root = await page.call("DOM.getDocument")
    node = await page.call("DOM.querySelector", nodeId=root["root"]["nodeId"], selector=selector)
    await page.call("DOM.setFileInputFiles", files=[str(file)], nodeId=node["nodeId"])
