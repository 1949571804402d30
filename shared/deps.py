"""A service's one dependencies object, ``app.state.deps``: kept by ServiceRuntime.create_app, read through here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request

D = TypeVar("D")


def app_deps(app: Any) -> Any:
    """The dependencies object of a built app (its ``<Svc>Deps``, or what shared code reads of it)."""
    return app.state.deps


def deps_dependency(kind: type[D]) -> Callable[[Request], D]:
    """The FastAPI dependency giving a route its service's ``kind`` (the ``<Svc>Deps`` dataclass)."""

    def get_deps(request: Request) -> D:
        deps: D = app_deps(request.app)
        return deps

    get_deps.__doc__ = f"The app's :class:`{kind.__name__}` (FastAPI dependency)."
    return get_deps
