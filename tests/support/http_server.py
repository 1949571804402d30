"""A real HTTP server on loopback (uvicorn in this event loop) for gateways, webhooks and SSE clients."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.processes import free_port


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port (lifespan included); yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


class Recorder:
    """An endpoint that records every request and answers from a plan of status codes (then 200)."""

    def __init__(self, plan: list[int] | None = None) -> None:
        self.plan = list(plan or [])
        self.requests: list[dict[str, Any]] = []
        self.failing = False

    async def handle(self, request: Request) -> JSONResponse:
        body = await request.json()
        status = 503 if self.failing else (self.plan.pop(0) if self.plan else 200)
        self.requests.append({"body": body, "headers": dict(request.headers), "status": status})
        return JSONResponse({"message_id": f"m{len(self.requests)}"}, status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/", self.handle, methods=["POST"])])

    @property
    def accepted(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["status"] < 300]
