"""The composition roots' shared override mechanism (shared.runtime.Overrides)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.runtime import Overrides


class _Runtime:
    def __init__(self) -> None:
        self.startup: list[Any] = []

    def on_startup(self, hook: Any) -> None:
        self.startup.append(hook)


class _Indexed:
    async def ensure_indexes(self) -> None:
        """Nothing to create in this test."""


def test_an_override_replaces_the_real_dependency_and_its_indexes_are_not_created() -> None:
    runtime = _Runtime()
    deps = Overrides(runtime.on_startup, {"store": "fake"})
    assert deps.build("store", _Indexed) == "fake"
    assert runtime.startup == []
    deps.refuse_unused()


def test_a_real_dependency_gets_its_indexes_created_at_start() -> None:
    runtime = _Runtime()
    made = Overrides(runtime.on_startup, {}).build("store", _Indexed)
    assert isinstance(made, _Indexed) and runtime.startup == [made.ensure_indexes]


def test_a_misspelt_override_is_refused() -> None:
    deps = Overrides(_Runtime().on_startup, {"stroe": "fake"})
    deps.build("store", _Indexed)
    with pytest.raises(TypeError, match="stroe"):
        deps.refuse_unused()
