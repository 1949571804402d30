"""Composition root of the routing service: every dependency, the consumers, the routes and the one loop."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI

from services.routing import handlers
from services.routing.adapters.repositories import MongoOfficeStatuses, MongoRoutes
from services.routing.domain.offices import OfficeBoard
from services.routing.domain.registry import build_registry
from services.routing.domain.rules import Jurisdiction
from services.routing.entrypoints import consumers
from services.routing.entrypoints.deps import RoutingDeps
from services.routing.entrypoints.http import router as http_router
from services.routing.settings import RoutingSettings
from shared.audit import AuditTrail, audit_router
from shared.identity import TokenVerifier
from shared.logging import get_logger
from shared.reference.procedures import load_catalogue
from shared.runtime import ServiceRuntime
from shared.topics import Topics

log = get_logger(__name__)


def bootstrap(settings: RoutingSettings | None = None, **overrides: Any) -> FastAPI:
    """Build the routing app; any dependency of :class:`RoutingDeps` (or ``catalogue``, ``registry``) by name."""
    settings = settings or RoutingSettings()
    runtime = ServiceRuntime(settings)
    runtime.produces(Topics.DOSSIER_ROUTED)

    dependencies = runtime.dependencies(overrides)
    build = dependencies.build

    def routes() -> MongoRoutes:
        # the shared relay publishes every dossier.routed.v1 the unit of work stores (the one publication path)
        repo = MongoRoutes(runtime.db, relay=runtime.relay(runtime.db["routes"]))
        runtime.on_startup(repo.retire_published_log)  # before the relay's start-up sweep sends what it leaves
        return repo

    board = OfficeBoard(build("registry", build_registry))
    deps = RoutingDeps(
        routes=build("routes", routes),
        statuses=build("statuses", lambda: MongoOfficeStatuses(runtime.db)),
        jurisdiction=build("jurisdiction", lambda: Jurisdiction(build("catalogue", load_catalogue), board)),
        audit=build("audit", lambda: AuditTrail(runtime.db, service="routing")),
        verifier=build("verifier", lambda: TokenVerifier.from_settings(settings)),
    )
    dependencies.refuse_unused()

    async def start_offices() -> None:
        await handlers.start_offices(routes=deps.routes, statuses=deps.statuses, jurisdiction=deps.jurisdiction)

    runtime.on_startup(start_offices)
    consumers.register(runtime, deps)

    async def retry_parked_loop() -> None:
        while True:
            await asyncio.sleep(settings.parked_retry_interval)
            try:
                await handlers.place_parked(routes=deps.routes, statuses=deps.statuses, jurisdiction=deps.jurisdiction)
            except Exception as exc:  # the loop must outlive a store hiccup
                log.warning("parked_retry_failed", error=str(exc))

    runtime.background(retry_parked_loop)
    app = runtime.create_app(
        title="LienThong routing",
        description="Finds the competent office for every dossier across boundaries: jurisdiction rules as data, "
        "office load, transfers and inter-agency chains. Operators authenticate with `Authorization: Bearer "
        "<JWT>` (role operator; auditors read /v1/audit).",
        deps=deps,
        routers=[http_router, audit_router("routing")],
    )
    return app
