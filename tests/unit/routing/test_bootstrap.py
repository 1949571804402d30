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


def test_the_real_store_dependencies_get_their_indexes_created_at_start() -> None:
    """Routes and the audit trail, built by bootstrap, have their ensure_indexes run at start-up, first."""
    app = bootstrap(RoutingSettings(environment="test"))
    deps = app.state.deps
    hooks = app.state.runtime.startup_hooks
    assert deps.routes.ensure_indexes in hooks and deps.audit.ensure_indexes in hooks
    assert deps.routes.retire_published_log in hooks, "the old publication log is retired before the relay sweeps"


def test_a_given_repository_gets_no_start_up_work_from_bootstrap() -> None:
    """What a test passes in is its own: bootstrap creates no index on it (as intake and notify do)."""
    routes = InMemoryRoutes()
    app = bootstrap(RoutingSettings(environment="test"), routes=routes, statuses=InMemoryOfficeStatuses())
    assert all(getattr(hook, "__self__", None) is not routes for hook in app.state.runtime.startup_hooks)
