"""Notify stopped mid-send: the send under way finishes, or is handed back and sent after the restart with the
same idempotency key; never left 'sending' to be failed unsent (issue 18)."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client
from tests.e2e.conftest import api_key
from tests.e2e.test_journey import body
from tests.support.http_server import serve
from tests.support.infra import MONGO
from tests.support.processes import ServiceProcess, System, running_system
from tests.support.waiting import eventually


class HeldGateway:
    """An SMS gateway that holds every request while ``hold`` is set (a slow provider), recording each."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.open = asyncio.Event()

    async def handle(self, request: Request) -> JSONResponse:
        self.requests.append({"body": await request.json(), "headers": dict(request.headers)})
        await self.open.wait()
        return JSONResponse({"message_id": f"m{len(self.requests)}"})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/", self.handle, methods=["POST"])])


async def _notifications(system: System, code: str) -> list[dict[str, Any]]:
    client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
    try:
        query = {"dossier_code": code, "channel": "sms"}
        return await client[f"{system.prefix}_notify"]["notifications"].find(query).to_list(100)
    finally:
        client.close()


async def _file(system: System, key: str) -> str:
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(
            f"{system['intake'].url}/v1/dossiers", json=body("LT-HT-001"), headers={"Authorization": f"Bearer {key}"}
        )
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


async def _stop(notify: ServiceProcess) -> int:
    assert notify.proc is not None
    notify.proc.send_signal(signal.SIGTERM)
    return await asyncio.to_thread(notify.proc.wait, 60)


async def _log_has(notify: ServiceProcess, event: str) -> bool:
    return f'"{event}"' in notify.log_path.read_text(errors="replace")


async def test_a_send_under_way_is_finished_or_handed_back_never_dropped(tmp_path: Path) -> None:
    """SIGTERM while the gateway holds the SMS: (1) released within the grace time, the send finishes and is
    stored 'sent'; (2) held past it, the send is handed back as deferred and, after the restart, sent again
    with the same Idempotency-Key (the gateway can drop the duplicate)."""
    gateway = HeldGateway()
    async with serve(gateway.app()) as url:
        prefix = f"n{uuid.uuid4().hex[:8]}"
        env = {
            "NOTIFY_SMS_PROVIDERS": json.dumps([{"name": "gw", "kind": "http", "url": f"{url}/"}]),
            "NOTIFY_SHUTDOWN_GRACE": "3",
            "NOTIFY_SWEEP_INTERVAL": "1",
        }
        with running_system(prefix, tmp_path / prefix, env) as system:
            notify = system["notify"]
            key = await api_key(system, "00070.TTHCC")

            # 1. the gateway answers while notify is draining: the send finishes
            first = await _file(system, key)
            await eventually(lambda: _value(len(gateway.requests)), until=lambda n: n >= 1, timeout=60)
            assert notify.proc is not None
            notify.proc.send_signal(signal.SIGTERM)
            await eventually(lambda: _log_has(notify, "notify_draining"), timeout=30)
            gateway.open.set()
            assert await asyncio.to_thread(notify.proc.wait, 60) in (0, -signal.SIGTERM)  # uvicorn re-raises it
            statuses = [n["status"] for n in await _notifications(system, first)]
            assert "sending" not in statuses and "sent" in statuses, statuses

            # 2. the gateway holds past NOTIFY_SHUTDOWN_GRACE: handed back, sent after the restart
            gateway.open.clear()
            notify.start()
            notify.wait_ready()
            seen = len(gateway.requests)
            second = await _file(system, key)
            await eventually(lambda: _value(len(gateway.requests)), until=lambda n: n > seen, timeout=60)
            assert await _stop(notify) in (0, -signal.SIGTERM)
            assert await _log_has(notify, "notification_handed_back")
            held = [n for n in await _notifications(system, second) if n.get("deferred_for") == "shutdown"]
            assert held and all(n["status"] == "deferred" and n["reference"] for n in held), held
            gateway.open.set()
            notify.start()
            notify.wait_ready()

            async def settled() -> list[dict[str, Any]]:
                return [n for n in await _notifications(system, second) if n["_id"] == held[0]["_id"]]

            (done,) = await eventually(settled, until=lambda ns: ns[0]["status"] == "sent", timeout=60)
            tries = [r for r in gateway.requests if r["body"]["reference"] == done["reference"]]
            assert len(tries) >= 2 and {r["headers"]["idempotency-key"] for r in tries} == {done["reference"]}


async def _value(value: Any) -> Any:
    return value
