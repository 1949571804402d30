"""The four services as real processes against the real Kafka and store, isolated by a prefix."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.intake import handlers as intake_handlers
from services.intake.adapters.repositories import MongoApiKeys
from shared.store import make_mongo_client
from tests.support.identity import bearer
from tests.support.infra import MONGO
from tests.support.processes import System, running_system

#: operators (routing, notify) carry a JWT with the operator role, like officials
OPERATOR_OFFICE = "P01.TTPVHCC"
OPERATOR = bearer(OPERATOR_OFFICE, "operator", sub="van-hanh")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """All four services, started once per module."""
    prefix = f"e{uuid.uuid4().hex[:8]}"
    workdir: Path = tmp_path_factory.mktemp(prefix)
    extra = {
        "RESOLUTION_OVERDUE_CHECK_INTERVAL": "0.5",
        "ROUTING_PARKED_RETRY_INTERVAL": "1",
    }
    with running_system(prefix, workdir, extra) as sys_:
        yield sys_


async def api_key(system: System, office: str) -> str:
    """A front-office key written straight into this run's intake database."""
    from shared.settings import BaseServiceSettings

    client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
    try:
        keys = MongoApiKeys(client[f"{system.prefix}_intake"])
        _, key = await intake_handlers.create_api_key(office, keys=keys, now=datetime.now(UTC))
        return key
    finally:
        client.close()


def official(office: str, *roles: str) -> dict[str, str]:
    """Authorization header of an official's token from the suite's identity provider."""
    return bearer(office, *roles, sub=f"{roles[0]}@{office}")
