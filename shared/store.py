"""MongoDB (motor) client factory: the one place clients are created."""

from __future__ import annotations

from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase

from shared.settings import BaseServiceSettings


def make_mongo_client(settings: BaseServiceSettings, **overrides: Any) -> AsyncIOMotorClient[Any]:
    """A motor client with short server-selection time-outs so readiness reflects reality quickly."""
    options: dict[str, Any] = {
        "serverSelectionTimeoutMS": 3000,
        "connectTimeoutMS": 3000,
        "socketTimeoutMS": 10000,
        "tz_aware": True,
        "appname": f"lienthong-{settings.service_name}",
        **overrides,
    }
    return AsyncIOMotorClient(settings.mongodb_url, **options)


def service_database(client: AsyncIOMotorClient[Any], settings: BaseServiceSettings) -> AsyncIOMotorDatabase[Any]:
    """This service's own database (a service never reads another's)."""
    return client[settings.mongodb_database]


async def ping(client: AsyncIOMotorClient[Any]) -> bool:
    """True when the store answers a ping."""
    try:
        await client.admin.command("ping")
    except Exception:  # any failure means "not reachable" for readiness
        return False
    return True
