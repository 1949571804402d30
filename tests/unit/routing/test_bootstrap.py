"""Routing's composition root: one deps object, every dependency replaceable by name, no unknown names."""

from __future__ import annotations

import pytest

from services.routing.bootstrap import bootstrap
from services.routing.settings import RoutingSettings
from tests.unit.routing.fakes import InMemoryOfficeStatuses, InMemoryRoutes


def test_dependencies_are_replaceable_by_name_and_kept_on_app_state_deps() -> None:
    """Given repositories are the ones the app uses; the rest are built (the real registry and rules)."""
    routes, statuses = InMemoryRoutes(), InMemoryOfficeStatuses()
    app = bootstrap(RoutingSettings(environment="test"), routes=routes, statuses=statuses)
    deps = app.state.deps
    assert deps.routes is routes and deps.statuses is statuses
    assert len(deps.board.registry.offices) == 13522 and deps.jurisdiction.catalogue.get("LT-HT-001") is not None
    assert app.state.runtime.relays == [], "no relay for a repository that is not the store's"


def test_an_unknown_dependency_name_is_refused() -> None:
    """A misspelt override fails at once instead of being silently ignored."""
    with pytest.raises(TypeError, match="rootes"):
        bootstrap(RoutingSettings(environment="test"), rootes=InMemoryRoutes())
