"""The four services as real processes against the real Kafka and store, isolated by a prefix."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.intake import handlers as intake_handlers
from services.intake.adapters.store import IntakeStore
from services.resolution.entrypoints.auth import mint_dev_token
from services.resolution.settings import ResolutionSettings
from shared.store import make_mongo_client
from tests.support.infra import MONGO
from tests.support.processes import System, running_system

ROUTING_ADMIN = "e2e-routing-operator"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """All four services, started once per module."""
    prefix = f"e{uuid.uuid4().hex[:8]}"
    workdir: Path = tmp_path_factory.mktemp(prefix)
    extra = {
        "ROUTING_ADMIN_TOKEN": ROUTING_ADMIN,
        "NOTIFY_ADMIN_TOKEN": "e2e-notify-operator",
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
        store = IntakeStore(client[f"{system.prefix}_intake"])
        _, key = await intake_handlers.create_api_key(office, store=store, now=datetime.now(UTC))
        return key
    finally:
        client.close()


def official(office: str, *roles: str) -> dict[str, str]:
    """Authorization header of a development official token."""
    token = mint_dev_token(
        ResolutionSettings(environment="test"), office=office, roles=list(roles), sub=f"{roles[0]}@{office}"
    )
    return {"Authorization": f"Bearer {token}"}
