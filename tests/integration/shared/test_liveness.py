"""/healthz turns 503 when a background task dies: an outbox relay, a Kafka consumer or the overdue scheduler.

The resolution service runs in-process against the real Kafka and store; one task is killed (cancelled, the
way a stray ``CancelledError`` or an unhandled ``BaseException`` would end it) and liveness must name it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from services.resolution.bootstrap import bootstrap
from services.resolution.settings import ResolutionSettings
from shared.runtime import ServiceRuntime
from tests.support.service import drop_databases, running


def _relay(runtime: ServiceRuntime) -> asyncio.Task[Any]:
    return next(t for t in runtime._tasks if t.get_name().startswith("outbox-relay:"))


def _scheduler(runtime: ServiceRuntime) -> asyncio.Task[Any]:
    return next(t for t in runtime._tasks if t.get_name() == "overdue_scheduler")


def _consumer(runtime: ServiceRuntime) -> asyncio.Task[Any]:
    subscriber = runtime.broker.subscribers[0]
    return next(t for t in subscriber.tasks if not t.done())


KILLS: dict[str, tuple[Callable[[ServiceRuntime], asyncio.Task[Any]], str]] = {
    "relay": (_relay, "outbox-relay:cases"),
    "consumer": (_consumer, "consumer:"),
    "scheduler": (_scheduler, "overdue_scheduler"),
}


@pytest.fixture
async def service(base_settings: dict[str, str], isolation: str) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    settings = ResolutionSettings(**base_settings, mongodb_database=f"{isolation}_resolution")
    app = bootstrap(settings)
    async with running(app) as client:
        yield client, app.state.runtime
    await drop_databases(settings.mongodb_url, settings.mongodb_database)


@pytest.mark.parametrize("what", KILLS)
async def test_healthz_reports_a_dead_background_task(service: tuple[httpx.AsyncClient, Any], what: str) -> None:
    """Healthy while everything runs; once one task is killed, 503 with its name (readiness is unaffected)."""
    client, runtime = service
    healthy = await client.get("/healthz")
    assert healthy.status_code == 200, healthy.text
    assert healthy.json() == {"status": "ok"}

    find, expected = KILLS[what]
    task = find(runtime)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    response = await client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert any(name.startswith(expected) for name in body["dead"]), body
    assert len(body["dead"]) == 1, body
