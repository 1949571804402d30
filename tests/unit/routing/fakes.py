"""In-memory repositories of routing's domain objects, and routing's use cases wired over them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.routing import handlers
from services.routing.domain.offices import OfficeBoard, OfficeStatus
from services.routing.domain.registry import Office, build_registry
from services.routing.domain.route import Route
from services.routing.domain.rules import Jurisdiction
from shared.events import DossierReceived, DossierStatus, DossierStatusChanged
from shared.reference.procedures import load_catalogue
from shared.topics import Topics
from tests.support.aggregates import InMemoryAggregates
from tests.support.events import received as received


class InMemoryRoutes(InMemoryAggregates[Route]):
    """Routes as objects, with routing's named queries in plain Python."""

    def __init__(self) -> None:
        super().__init__(lambda route: route.dossier_id)
        self.parked_scans = 0

    async def by_code(self, code: str) -> Route | None:
        found = next((r.dossier_id for r in self.items.values() if r.code == code), None)
        return await self.get(found) if found else None

    async def parked(self, *, limit: int = 500) -> list[Route]:
        self.parked_scans += 1
        return [r for r in [await self.get(i) for i, r in self.items.items() if r.parked] if r][:limit]

    async def open_counts(self) -> dict[str, int]:
        return dict(Counter(r.open_at for r in self.items.values() if r.open_at))

    async def ensure_indexes(self) -> None:
        """Nothing to create in memory."""

    def route(self, dossier_id: str) -> Route:
        """The committed route of a dossier (must exist)."""
        return self.items[dossier_id]

    def events(self, dossier_id: str) -> list[dict[str, Any]]:
        """Every ``dossier.routed.v1`` payload committed for a dossier, in commit order."""
        return [e.data for e in self.published if e.key == dossier_id and e.topic == Topics.DOSSIER_ROUTED]


class InMemoryOfficeStatuses:
    """Operators' statuses in a dict."""

    def __init__(self) -> None:
        self.status: dict[str, OfficeStatus] = {}

    async def all(self) -> dict[str, OfficeStatus]:
        return dict(self.status)

    async def set(self, code: str, status: OfficeStatus, *, at: datetime) -> None:
        self.status[code] = status


@dataclass
class Routing:
    """Routing's use cases over in-memory ports, the real registry and the real catalogue."""

    routes: InMemoryRoutes = field(default_factory=InMemoryRoutes)
    statuses: InMemoryOfficeStatuses = field(default_factory=InMemoryOfficeStatuses)
    jurisdiction: Jurisdiction = field(
        default_factory=lambda: Jurisdiction(load_catalogue(), OfficeBoard(build_registry()))
    )

    @property
    def board(self) -> OfficeBoard:
        return self.jurisdiction.board

    async def start(self) -> Routing:
        await handlers.start_offices(routes=self.routes, statuses=self.statuses, jurisdiction=self.jurisdiction)
        return self

    def restarted(self) -> Routing:
        """Another process over the same store: a fresh board."""
        board = OfficeBoard(self.board.registry)
        return Routing(self.routes, self.statuses, Jurisdiction(self.jurisdiction.catalogue, board))

    async def receive(self, event_id: str, data: DossierReceived) -> None:
        await handlers.receive_dossier(event_id, data, routes=self.routes, jurisdiction=self.jurisdiction)

    async def status(self, event_id: str, change: DossierStatusChanged) -> None:
        await handlers.follow_status(event_id, change, routes=self.routes, jurisdiction=self.jurisdiction)

    async def place_parked(self) -> int:
        return await handlers.place_parked(routes=self.routes, statuses=self.statuses, jurisdiction=self.jurisdiction)

    async def set_status(self, code: str, status: OfficeStatus) -> Office:
        return await handlers.set_office_status(
            code, status, routes=self.routes, statuses=self.statuses, jurisdiction=self.jurisdiction
        )


async def make_routing() -> Routing:
    """Routing started over empty in-memory stores."""
    return await Routing().start()


def status(data: DossierReceived, office: str, new: DossierStatus, **extra: Any) -> DossierStatusChanged:
    """A status change of the dossier at ``office``."""
    return DossierStatusChanged(
        dossier_id=data.dossier_id,
        dossier_code=data.dossier_code,
        office_code=office,
        status=new,
        action=new.value,
        version=3,
        occurred_at=datetime.now(UTC),
        **extra,
    )
