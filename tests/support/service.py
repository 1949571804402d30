"""Run a service app in-process (real Kafka and store) with an httpx client bound to it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI


@contextlib.asynccontextmanager
async def running(app: FastAPI, *, base_url: str = "http://testserver") -> AsyncIterator[httpx.AsyncClient]:
    """Start ``app``'s lifespan (consumers, relays) and yield a client; stop everything on exit."""
    async with LifespanManager(app, startup_timeout=90, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30) as client:
            yield client


async def drop_databases(mongo_url: str, *names: str) -> None:
    """Remove test databases (on FerretDB each is a PostgreSQL schema with its tables)."""
    from motor.motor_asyncio import AsyncIOMotorClient

    client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(mongo_url, serverSelectionTimeoutMS=3000)
    try:
        for name in names:
            await client.drop_database(name)
    finally:
        client.close()
