"""What routing's use cases need from outside, as ports (implemented in ``services/routing/adapters``)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from services.routing.domain.offices import OfficeStatus
from services.routing.domain.route import Route
from shared.aggregate import Aggregates


class Routes(Aggregates[Route], Protocol):
    """The routes of every dossier, with the queries routing asks of them."""

    async def by_code(self, code: str) -> Route | None:
        """The route of the dossier with that code (mã hồ sơ)."""
        ...

    async def parked(self, *, limit: int = 500) -> list[Route]:
        """Routes waiting for a competent office to open."""
        ...

    async def open_counts(self) -> dict[str, int]:
        """Open dossiers per office (the load), counted from the routes."""
        ...

    async def ensure_indexes(self) -> None:
        """Create what the queries look up by."""
        ...


class OfficeStatuses(Protocol):
    """Operators' statuses of offices, stored (the CLI and every instance share them)."""

    async def all(self) -> dict[str, OfficeStatus]:
        """Every status set (offices not listed are open)."""
        ...

    async def set(self, code: str, status: OfficeStatus, *, at: datetime) -> None:
        """Record an operator's status for an office."""
        ...
