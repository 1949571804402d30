"""Intake running in-process against the real Kafka and FerretDB, with a front-office key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.intake import handlers
from services.intake.bootstrap import bootstrap
from services.intake.entrypoints.deps import deps_of
from services.intake.settings import IntakeSettings
from tests.support.filings import birth_registration
from tests.support.service import drop_databases, running

OFFICE = "00070.TTHCC"  # service centre of Phường Hoàn Kiếm, Hà Nội


@pytest.fixture
def intake_settings(base_settings: dict[str, str], isolation: str) -> IntakeSettings:
    """Settings with this test's topics and database."""
    return IntakeSettings(**base_settings, mongodb_database=f"{isolation}_intake")


@pytest.fixture
async def intake(intake_settings: IntakeSettings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """(client, app) of a running intake; the database is dropped afterwards."""
    app = bootstrap(intake_settings)
    async with running(app) as client:
        yield client, app
    await drop_databases(intake_settings.mongodb_url, intake_settings.mongodb_database)


@pytest.fixture
async def api_key(intake: tuple[httpx.AsyncClient, Any]) -> str:
    """A front-office key of the Hoàn Kiếm service centre."""
    _, app = intake
    _, key = await handlers.create_api_key(OFFICE, keys=deps_of(app).api_keys, now=datetime.now(UTC))
    return key


def dossier_body(**overrides: Any) -> dict[str, Any]:
    """A complete birth-registration dossier."""
    body = birth_registration(address={"ward_code": "00070", "detail": "12 Hàng Bạc"}) | {
        "documents": [
            {
                "code": "to_khai",
                "title": "Tờ khai",
                "content_type": "application/pdf",
                "size": 1000,
                "sha256": "a" * 64,
            },
            {
                "code": "giay_chung_sinh",
                "title": "Giấy chứng sinh",
                "content_type": "application/pdf",
                "size": 2000,
                "sha256": "b" * 64,
            },
        ],
        "notify": {"sms": True, "email": False, "app": True},
    }
    body.update(overrides)
    return body
