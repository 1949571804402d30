"""Offices as routing sees them now: the operator's status of each and its load (open dossiers routed to it).

The one definition of the office statuses (HTTP, CLI and store use :class:`OfficeStatus`). The board is the
process's live view: statuses are re-read from the store periodically (the CLI writes them there), load is
counted from the routes at start and moved by every committed decision.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

from services.routing.domain.registry import Office, Registry


class OfficeStatus(StrEnum):
    """An operator's status of an office; an office with none set is open."""

    OPEN = "open"
    CLOSED = "closed"
    OVER_CAPACITY = "over_capacity"


class UnknownOffice(KeyError):
    """No office of the registry has that code."""


class OfficeBoard:
    """Operator statuses and load of every office of the registry, as this process knows them."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.statuses: dict[str, OfficeStatus] = {}
        self.load: Counter[str] = Counter()
        #: until a scan finds none parked, assume some may be (spares the store a read per interval)
        self.parked_possible = True
        self._changes = 0

    def office(self, code: str) -> Office:
        """The office with ``code``; :class:`UnknownOffice` when the registry has none."""
        office = self.registry.get(code)
        if office is None:
            raise UnknownOffice(code)
        return office

    def status_of(self, code: str) -> OfficeStatus:
        """The operator's status of an office (open unless set otherwise)."""
        return self.statuses.get(code, OfficeStatus.OPEN)

    def available(self, office: Office) -> bool:
        """Open offices may receive dossiers; closed and over-capacity ones may not."""
        return self.status_of(office.code) is OfficeStatus.OPEN

    def load_of(self, office: Office) -> int:
        """Open dossiers routed to ``office`` now."""
        return self.load[office.code]

    def start(self, statuses: dict[str, OfficeStatus], open_counts: dict[str, int]) -> None:
        """Take the stored statuses and the open dossiers per office (at start)."""
        self.statuses = dict(statuses)
        self.load = Counter(open_counts)

    def set_status(self, code: str, status: OfficeStatus) -> None:
        """An operator's change made here: it wins over any reload that was reading meanwhile."""
        self.statuses[code] = status
        self._changes += 1
        if status is OfficeStatus.OPEN:
            self.parked_possible = True

    def changes(self) -> int:
        """A token of the changes made here so far (see :meth:`reload`)."""
        return self._changes

    def reload(self, statuses: dict[str, OfficeStatus], *, read_after: int) -> None:
        """Take statuses re-read from the store, unless an operator changed one here since ``read_after``."""
        if read_after == self._changes:  # a stale read must not undo a change made meanwhile
            self.statuses = dict(statuses)

    def enter(self, code: str | None) -> None:
        """A dossier was routed to ``code`` (None: it was parked)."""
        if code is None:
            self.parked_possible = True
        else:
            self.load[code] += 1

    def leave(self, code: str | None) -> None:
        """A dossier left ``code`` (refused, returned, withdrawn, transferred) or its decision was not kept."""
        if code is not None:
            self.load[code] -= 1
