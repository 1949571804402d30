"""What a committed case change tells this process: live dashboards, the overdue scheduler, business metrics."""

from __future__ import annotations

import asyncio
from datetime import datetime

from services.resolution.domain.case import Case
from services.resolution.domain.ports import BusinessFigures
from shared.events import DossierStatus


class ChangeSignal:
    """Wakes every live dashboard stream of this process when a case changes."""

    def __init__(self) -> None:
        self._listeners: set[asyncio.Event] = set()
        self.generation = 0

    def listen(self) -> asyncio.Event:
        """An event set at the next change (the listener clears it)."""
        event = asyncio.Event()
        self._listeners.add(event)
        return event

    def stop(self, event: asyncio.Event) -> None:
        """Stop waking ``event``."""
        self._listeners.discard(event)

    def notify(self) -> None:
        """Wake every listener."""
        self.generation += 1
        for event in self._listeners:
            event.set()


class DueSignal:
    """Wakes the overdue scheduler when a due date appears or moves before its planned wake-up (it re-plans)."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.planned_wake: datetime | None = None

    def moved(self, due_at: datetime) -> None:
        """A case's due date is now ``due_at``."""
        if self.planned_wake is None or due_at < self.planned_wake:
            self.changed.set()


class Watch:
    """The process-local effects of a committed change (after the write; never part of it)."""

    def __init__(self, *, figures: BusinessFigures | None = None) -> None:
        self.changes = ChangeSignal()
        self.due = DueSignal()
        self.figures = figures

    def changed(self, case: Case | None, *, opened: bool = False) -> None:
        """Tell live dashboards a case moved, and count the business metrics of the change."""
        if case is None:
            return
        self.changes.notify()
        if self.figures is None:
            return
        province = case.office_province_code or "??"
        if opened and case.first_case:
            self.figures.received(province)
        if case.ends_dossier:
            self.figures.resolved(province, late=case.late, refused=case.status is DossierStatus.REFUSED)
