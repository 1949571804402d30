"""An in-memory repository of domain objects, for unit tests only (the real one is shared.unit_of_work).

It keeps aggregates as objects (copied in and out, so a test sees only what was committed), the events
each commit recorded, and the consumed ids; it interprets no store query. A service's fake repository
subclasses it and adds its named queries in plain Python.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Generic, TypeVar

from shared.aggregate import EventRecorder, Outcome, Recorded, Unchanged

A = TypeVar("A", bound=EventRecorder)
R = TypeVar("R")


class InMemoryAggregates(Generic[A]):
    """``get`` / ``add`` / ``change`` with the unit of work's semantics, in a dict."""

    def __init__(self, id_of: Callable[[A], str]) -> None:
        self.id_of = id_of
        self.items: dict[str, A] = {}
        self.seen: dict[str, list[str]] = {}
        self.published: list[Recorded] = []

    async def get(self, aggregate_id: str) -> A | None:
        item = self.items.get(aggregate_id)
        return copy.deepcopy(item) if item is not None else None

    async def add(self, aggregate: A, *, consumed: str | None = None) -> bool:
        key = self.id_of(aggregate)
        if key in self.items:
            return False
        self.published.extend(aggregate.pull_events())
        self.items[key] = copy.deepcopy(aggregate)
        self.seen[key] = [consumed] if consumed else []
        return True

    async def change(self, aggregate_id: str, fn: Callable[[A], R], *, consumed: str | None = None) -> Outcome[A, R]:
        current = self.items.get(aggregate_id)
        if current is None:
            return Outcome(None)
        aggregate = copy.deepcopy(current)
        if consumed is not None and consumed in self.seen[aggregate_id]:
            return Outcome(aggregate, duplicate=True)
        try:
            result = fn(aggregate)
        except Unchanged:
            return Outcome(aggregate)
        events = aggregate.pull_events()
        self.published.extend(events)
        self.items[aggregate_id] = copy.deepcopy(aggregate)
        if consumed is not None:
            self.seen[aggregate_id].append(consumed)
        return Outcome(aggregate, result, applied=True, events=list(events))
