"""Composition root of the routing service: registry, rules, store, broker, relay and routes."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.routing.adapters.store import RoutingStore
from services.routing.domain.registry import build_registry
from services.routing.entrypoints import consumers
from services.routing.entrypoints.http import router as http_router
from services.routing.handlers import Router
from services.routing.settings import RoutingSettings
from shared.audit import AuditTrail, audit_router
from shared.identity import TokenVerifier
from shared.logging import get_logger
from shared.reference.procedures import load_catalogue
from shared.runtime import ServiceRuntime
from shared.topics import Topics

log = get_logger(__name__)


def bootstrap(settings: RoutingSettings | None = None) -> FastAPI:
    """Build the routing app."""
    settings = settings or RoutingSettings()
    verifier = TokenVerifier.from_settings(settings)
    runtime = ServiceRuntime(settings)
    runtime.produces(Topics.DOSSIER_ROUTED)
    store = RoutingStore(runtime.db)
    audit = AuditTrail(runtime.db, service="routing")
    runtime.on_startup(audit.ensure_indexes)
    router = Router(
        store=store,
        publisher=runtime.publisher,
        catalogue=load_catalogue(),
        registry=build_registry(),
        relay=runtime.relay(store.routes),
    )
    runtime.on_startup(store.ensure_indexes)
    runtime.on_startup(router.start)
    consumers.register(runtime, router)

    async def retry_parked_loop() -> None:
        while True:
            await asyncio.sleep(settings.parked_retry_interval)
            try:
                await router.refresh_and_retry()
            except Exception as exc:  # the loop must outlive a store hiccup
                log.warning("parked_retry_failed", error=str(exc))

    async def log_published_loop() -> None:
        while True:
            await asyncio.sleep(settings.published_log_interval)
            try:
                await store.flush_published()
            except Exception as exc:  # publications stay noted and are written next time
                log.warning("published_log_failed", error_type=type(exc).__name__)

    runtime.background(retry_parked_loop)
    runtime.background(log_published_loop)
    runtime.on_shutdown(store.flush_published)
    app = runtime.create_app(
        title="LienThong routing",
        description="Finds the competent office for every dossier across boundaries: jurisdiction rules as data, "
        "office load, transfers and inter-agency chains. Operators authenticate with `Authorization: Bearer "
        "<JWT>` (role operator; auditors read /v1/audit).",
        routers=[http_router, audit_router("routing")],
    )
    app.state.router = router
    app.state.verifier = verifier
    app.state.audit = audit
    return app
