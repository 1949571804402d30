"""What every service's aggregates share: recording events, and the port their repositories implement.

Pure: no store, no broker. An aggregate (a dossier, a case, a route, a notification) is a plain typed
object whose methods check invariants, change state and *record* the events the change causes; the
unit of work (:mod:`shared.unit_of_work`) commits state and recorded events in one conditional write.
A handler reads as: load, call the domain, commit (cosmicpython's ``Product.events`` and
``unit_of_work.py``, with the single-document outbox of docs/adr/0001 instead of a transaction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel


@dataclass(frozen=True)
class Recorded:
    """One event an aggregate recorded: where it goes and what it says (the envelope is added at commit)."""

    topic: str
    key: str
    data: dict[str, Any]
    subject: str | None = None


class EventRecorder:
    """Mixin of an aggregate: ``record`` events during a change, the unit of work ``pull_events`` them.

    The list lives outside the dataclass fields so aggregates stay plain dataclasses and compare by state.
    """

    def record(self, topic: str, data: BaseModel | dict[str, Any], *, key: str, subject: str | None = None) -> None:
        """Record one event of this change (a pydantic model is dumped as JSON)."""
        body = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
        self.__dict__.setdefault("_recorded", []).append(Recorded(topic, key, body, subject))

    @property
    def recorded(self) -> list[Recorded]:
        """The events recorded since the last commit (read-only view)."""
        return list(self.__dict__.get("_recorded", []))

    def pull_events(self) -> list[Recorded]:
        """Take the recorded events (the unit of work does this once per commit)."""
        events: list[Recorded] = self.__dict__.pop("_recorded", [])
        return events


class Unchanged(Exception):
    """Raised by a change function: the aggregate's rule says there is nothing to do (no write)."""


A = TypeVar("A")
R = TypeVar("R")


@dataclass
class Outcome(Generic[A, R]):
    """What one ``change`` did: the aggregate after it, the change function's result, what was published."""

    aggregate: A | None
    result: R | None = None
    applied: bool = False
    duplicate: bool = False
    events: list[Any] = field(default_factory=list)


class Aggregates(Protocol[A]):
    """The port of every aggregate repository (implemented by ``shared.unit_of_work.MongoAggregates``).

    ``consumed`` is the id of the Kafka event a change handles: it is recorded in the same write, and a
    change whose ``consumed`` id is already recorded is not applied again (``Outcome.duplicate``).
    """

    async def get(self, aggregate_id: str) -> A | None:
        """The aggregate, or None."""
        ...

    async def add(self, aggregate: A, *, consumed: str | None = None) -> bool:
        """Insert a new aggregate with its recorded events; False when one with its id already exists."""
        ...

    async def change(self, aggregate_id: str, fn: Callable[[A], R], *, consumed: str | None = None) -> Outcome[A, R]:
        """Load, apply ``fn`` (raise :class:`Unchanged` for "nothing to do"), commit; retried on a lost race."""
        ...
