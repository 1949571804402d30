"""Suite-wide fixtures: markers by folder, and isolated settings (own topic prefix and databases) per test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.identity import TEST_SECRETS
from tests.support.infra import delete_session_topics, infra_settings

# Outside ENVIRONMENT=development every service refuses public secrets: the suite brings its own
# (in-process settings read them from here, and service processes inherit them).
for _name, _value in TEST_SECRETS.items():
    os.environ.setdefault(_name, _value)

_FOLDER_MARKERS = {"unit": "unit", "integration": "integration", "e2e": "e2e", "reliability": "reliability"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by the folder it lives in, so `-m unit` / `-m integration` select by kind."""
    root = Path(str(config.rootpath)) / "tests"
    for item in items:
        try:
            kind = Path(str(item.path)).relative_to(root).parts[0]
        except ValueError:
            continue
        if marker := _FOLDER_MARKERS.get(kind):
            item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture
def isolation() -> str:
    """A unique prefix for topics, consumer groups and databases of one test."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def base_settings(isolation: str) -> dict[str, str]:
    """Environment-like settings pointing at the real local infrastructure, isolated by prefix."""
    return infra_settings(prefix=isolation)


#: personal data the suite's dossiers carry (tests/e2e/test_journey.py::body, bench/load.py)
PERSONAL_DATA = ("001303012345", "0912345678")


@pytest.fixture(scope="session", autouse=True)
def service_logs_hold_no_personal_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the whole suite: no log of any service process started by any test shows a citizen ID or phone."""
    yield
    base = tmp_path_factory.getbasetemp()
    logs = list(base.rglob("*.log"))
    leaks = [
        f"{path.relative_to(base)}: {secret}"
        for path in logs
        for secret in PERSONAL_DATA
        if secret in path.read_text("utf-8", errors="replace")
    ]
    assert not leaks, f"personal data in service logs: {leaks}"


@pytest.fixture(scope="session", autouse=True)
def topics_of_the_session_are_deleted() -> Iterator[None]:
    """After the whole suite: delete the topics this session created (best effort: the broker may be down)."""
    yield
    with contextlib.suppress(Exception):
        asyncio.run(delete_session_topics())
