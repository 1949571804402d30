"""Each service's /readyz turns 503 when Kafka stops and 200 again after it restarts."""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

import pytest

from tests.support.infra import infra, local_infra
from tests.support.service import drop_databases, running
from tests.support.waiting import eventually

SERVICES = ("intake", "routing", "resolution", "notify")

pytestmark = pytest.mark.skipif(not local_infra(), reason="needs the local Kafka that the suite may stop")


def _app(service: str, base_settings: dict[str, str], isolation: str) -> tuple[Any, Any]:
    settings_cls = next(
        v
        for k, v in vars(importlib.import_module(f"services.{service}.settings")).items()
        if k.endswith("Settings") and k != "BaseServiceSettings"
    )
    settings = settings_cls(**base_settings, mongodb_database=f"{isolation}_{service}")
    bootstrap = importlib.import_module(f"services.{service}.bootstrap").bootstrap
    return bootstrap(settings), settings


async def test_readyz_follows_kafka(base_settings: dict[str, str], isolation: str) -> None:
    """All four services report ready, then 503 while the broker is down, then ready again."""
    apps = [_app(s, base_settings, isolation) for s in SERVICES]
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(running(app)) for app, _ in apps]

        async def codes() -> list[int]:
            return [(await c.get("/readyz")).status_code for c in clients]

        assert await codes() == [200, 200, 200, 200]
        infra("stop-kafka")
        try:
            down = await eventually(codes, until=lambda cs: all(c == 503 for c in cs), timeout=30)
            body = (await clients[0].get("/readyz")).json()
            assert body["checks"] == {"kafka": False, "mongodb": True}
        finally:
            infra("start-kafka")
        assert down == [503] * 4
        await eventually(codes, until=lambda cs: cs == [200, 200, 200, 200], timeout=60)
    await drop_databases(apps[0][1].mongodb_url, *(s.mongodb_database for _, s in apps))
