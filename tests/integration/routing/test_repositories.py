"""Routing's repositories on the real store: a route round-trips, the named queries, concurrent changes, statuses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.routing.adapters.repositories import MongoOfficeStatuses, MongoRoutes, RouteMapper
from services.routing.domain.offices import OfficeBoard, OfficeStatus
from services.routing.domain.registry import build_registry
from services.routing.domain.route import Route
from services.routing.domain.rules import Jurisdiction
from shared.events import ContactPoint, DossierStatus, DossierStatusChanged
from shared.reference.procedures import load_catalogue
from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client
from tests.support.infra import MONGO
from tests.support.service import drop_databases
from tests.unit.routing.fakes import received
from tests.unit.routing.fakes import status as status_at_now

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def status(*args: Any, **kwargs: Any) -> DossierStatusChanged:
    """A status change that happened at NOW (the store keeps dates to the millisecond)."""
    return status_at_now(*args, **kwargs).model_copy(update={"occurred_at": NOW})


@pytest.fixture
async def db(isolation: str) -> AsyncIterator[Any]:
    """Routing's collections on a database of their own."""
    name = f"{isolation}_routing_repo"
    client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
    yield client[name]
    client.close()
    await drop_databases(MONGO, name)


@pytest.fixture
def jurisdiction() -> Jurisdiction:
    """The real rules over a fresh board (every office open)."""
    return Jurisdiction(load_catalogue(), OfficeBoard(build_registry()))


async def test_a_route_round_trips_every_field(db: Any, jurisdiction: Jurisdiction) -> None:
    """Decisions, hand-offs with all their dates, tried offices, chain step and the received facts come back equal;
    the stored document keeps no contact data and its one event waits in the outbox for the relay."""
    routes = MongoRoutes(db)
    data = received().model_copy(update={"contact": ContactPoint(phone="0912345678", sealed="v1.x")})
    route = Route.receive(data, jurisdiction=jurisdiction, now=NOW)
    route.follow(status(data, "00070.UBND", DossierStatus.ACCEPTED), jurisdiction=jurisdiction, now=NOW)
    route.follow(
        status(data, "00070.UBND", DossierStatus.TRANSFERRED, reason="sai thẩm quyền"),
        jurisdiction=jurisdiction,
        now=NOW + timedelta(hours=1),
    )
    route.follow(status(data, route.open_at or "", DossierStatus.REFUSED), jurisdiction=jurisdiction, now=NOW)
    assert await routes.add(route, consumed="r1")
    stored = await routes.get(data.dossier_id)
    assert stored == route and stored is not None and stored.recorded == []
    assert len(stored.decisions) == 2 and all(h.received_at or h.returned_at for h in stored.handoffs.values())
    doc = await db["routes"].find_one({"_id": data.dossier_id})
    assert "contact" not in doc["received"] and "0912345678" not in str(doc) and "v1.x" not in str(doc)
    assert doc["outbox_pending"] == 2 and doc["seen_events"] == ["r1"]
    assert RouteMapper().from_document(doc) == route


async def test_named_queries_find_by_code_parked_and_open_counts(db: Any, jurisdiction: Jurisdiction) -> None:
    """by_code finds a route by its dossier code, parked lists only parked routes, open_counts counts per office."""
    routes = MongoRoutes(db)
    await routes.ensure_indexes()
    jurisdiction.board.set_status("00004.UBND", OfficeStatus.CLOSED)
    parked = Route.receive(received("LT-DD-001", subject="00004"), jurisdiction=jurisdiction, now=NOW)
    at_70 = [Route.receive(received(), jurisdiction=jurisdiction, now=NOW) for _ in range(2)]
    at_73 = Route.receive(received(receiving_ward="00073"), jurisdiction=jurisdiction, now=NOW)
    for route in (parked, *at_70, at_73):
        assert await routes.add(route)
    assert parked.parked and (await routes.by_code(at_73.code)) == at_73
    assert await routes.by_code("00070.TTHCC-000000-none") is None
    assert [r.dossier_id for r in await routes.parked()] == [parked.dossier_id]
    assert await routes.open_counts() == {"00070.UBND": 2, "00073.UBND": 1}


async def test_concurrent_status_events_lose_nothing(db: Any, jurisdiction: Jurisdiction) -> None:
    """An acceptance and a transfer of one route committed at once: both land (the transfer re-decides on the
    accepted route), each exactly once, whatever the order the store serialised them in."""
    routes = MongoRoutes(db)
    data = received()
    await routes.add(Route.receive(data, jurisdiction=jurisdiction, now=NOW))
    accepted = status(data, "00070.UBND", DossierStatus.ACCEPTED)
    transfer = status(data, "00070.UBND", DossierStatus.TRANSFERRED)
    outcomes = await asyncio.gather(
        *(
            routes.change(data.dossier_id, lambda r, c=c: r.follow(c, jurisdiction=jurisdiction, now=NOW), consumed=e)
            for e, c in (("s1", accepted), ("s2", transfer), ("s1", accepted), ("s2", transfer))
        )
    )
    route = await routes.get(data.dossier_id)
    assert route is not None and len(route.decisions) == 2 and route.open_at not in (None, "00070.UBND")
    doc = await db["routes"].find_one({"_id": data.dossier_id})
    assert doc["outbox_pending"] == 2, "the first decision and one transfer, never two"
    # the acceptance landed (once) exactly when it came before the transfer; after it, it is a past office's news
    first_handoff = route.handoffs[route.decisions[0].decision_id]
    accepted_applied = [o for o, e in zip(outcomes, ("s1", "s2", "s1", "s2"), strict=True) if e == "s1" and o.applied]
    assert len(accepted_applied) == int("s1" in doc["seen_events"]) == int(first_handoff.received_at is not None)
    assert sum(o.applied for o in outcomes) == 1 + len(accepted_applied)


async def test_office_statuses_are_set_and_read_back(db: Any) -> None:
    """A status set twice keeps the last; every stored status comes back as an OfficeStatus."""
    statuses = MongoOfficeStatuses(db)
    await statuses.set("00070.UBND", OfficeStatus.CLOSED, at=NOW)
    await statuses.set("00070.UBND", OfficeStatus.OVER_CAPACITY, at=NOW)
    await statuses.set("00073.UBND", OfficeStatus.OPEN, at=NOW)
    assert await statuses.all() == {"00070.UBND": OfficeStatus.OVER_CAPACITY, "00073.UBND": OfficeStatus.OPEN}
