"""Resolution's composition root: every dependency replaceable by name, unknown names refused, indexes at start."""

from __future__ import annotations

import pytest

from services.resolution.bootstrap import bootstrap
from services.resolution.entrypoints.deps import ResolutionDeps
from services.resolution.settings import ResolutionSettings
from tests.support.audit import MemoryAudit
from tests.unit.resolution.fakes import InMemoryCases

SETTINGS = ResolutionSettings(environment="test")


def test_given_dependencies_are_the_ones_the_app_uses_and_get_no_start_up_work() -> None:
    """A replaced repository and audit trail are used as given; bootstrap creates no index for them."""
    repo, audit = InMemoryCases(), MemoryAudit("resolution")
    app = bootstrap(SETTINGS, cases=repo, audit=audit)
    deps: ResolutionDeps = app.state.deps
    assert deps.cases.cases is repo and deps.operations.cases is repo and deps.audit is audit
    assert deps.operations.changes is deps.watch.changes and deps.operations.figures is deps.watch.figures
    hooks = app.state.runtime.startup_hooks
    assert all(getattr(hook, "__self__", None) not in (repo, audit) for hook in hooks)
    assert deps.abuse.ensure_indexes in hooks, "what is not replaced is built, with its indexes"


def test_the_real_store_dependencies_get_their_indexes_created_at_start() -> None:
    """Cases, audit trail and abuse counters: each built one's ensure_indexes runs at start-up."""
    app = bootstrap(SETTINGS)
    deps: ResolutionDeps = app.state.deps
    hooks = app.state.runtime.startup_hooks
    for indexed in (deps.cases.cases, deps.audit, deps.abuse):
        assert indexed.ensure_indexes in hooks


def test_a_misspelt_dependency_name_is_refused() -> None:
    """An override that names no dependency fails at once instead of silently testing the real one."""
    with pytest.raises(TypeError, match="caes"):
        bootstrap(SETTINGS, caes=InMemoryCases())
