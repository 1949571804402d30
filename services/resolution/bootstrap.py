"""Composition root of the resolution service."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from services.resolution.adapters.business_metrics import BusinessMetrics
from services.resolution.adapters.metrics import OverdueMetrics
from services.resolution.adapters.signing import OfficeKeys
from services.resolution.adapters.store import ResolutionStore
from services.resolution.entrypoints import consumers, operations
from services.resolution.entrypoints.http import public, router
from services.resolution.entrypoints.scheduler import business_metrics_loop, overdue_loop
from services.resolution.handlers import Resolution
from services.resolution.settings import ResolutionSettings
from shared.abuse import AbuseGuard
from shared.audit import AuditTrail, audit_router
from shared.identity import TokenVerifier
from shared.reference.legal_clock import LegalClock, default_clock
from shared.reference.procedures import Catalogue, load_catalogue
from shared.runtime import ServiceRuntime
from shared.topics import Topics


def bootstrap(
    settings: ResolutionSettings | None = None,
    *,
    keys: OfficeKeys | None = None,
    clock: LegalClock | None = None,
    catalogue: Catalogue | None = None,
) -> FastAPI:
    """Build the resolution app: cases, clock loop, signing keys, consumers and routes (real adapters unless given)."""
    settings = settings or ResolutionSettings()
    if settings.environment == "production" and settings.signing_keys_dir is None and keys is None:
        raise ValueError("production needs RESOLUTION_SIGNING_KEYS_DIR (development keys are refused)")
    verifier = TokenVerifier.from_settings(settings)
    runtime = ServiceRuntime(settings)
    runtime.produces(Topics.DOSSIER_STATUS)
    store = ResolutionStore(runtime.db)
    resolution = Resolution(
        store=store,
        publisher=runtime.publisher,
        catalogue=catalogue or load_catalogue(),
        clock=clock or default_clock(),
        keys=keys
        or OfficeKeys(
            keys_dir=settings.signing_keys_dir,
            # outside development the settings refuse the public seed; production takes no seed at all
            dev_seed=settings.signing_seed.get_secret_value() if settings.environment != "production" else None,
            dev_generation=settings.signing_key_generation,
        ),
        settings=settings,
        relay=runtime.relay(store.cases),
        business=BusinessMetrics(runtime.registry),
    )
    audit = AuditTrail(runtime.db, service="resolution")
    runtime.on_startup(store.ensure_indexes)
    runtime.metrics.add("overdue", OverdueMetrics(runtime.registry, store).refresh)
    runtime.on_startup(audit.ensure_indexes)
    consumers.register(runtime, resolution)

    async def overdue_scheduler() -> None:
        await overdue_loop(resolution, max_wait=settings.overdue_check_interval)

    async def business_metrics() -> None:
        await business_metrics_loop(resolution, interval=settings.metrics_refresh_interval)

    runtime.background(overdue_scheduler)
    runtime.background(business_metrics)
    app = runtime.create_app(
        title="LienThong resolution",
        description="Officials process dossiers: worklists, actions, the legal clock (paused during supplements), "
        "overdue flags and apology letters, digitally signed results, operations-centre figures. Officials "
        "authenticate with `Authorization: Bearer <JWT>` (claims sub, office, roles).",
        routers=[operations.router, router, public, audit_router("resolution")],
    )
    # the tracking page (notify's origin) posts the citizen's rating here; token in the query, no cookies
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
        allow_methods=["GET", "POST"],
        allow_headers=["content-type"],
    )
    static = resources.files("services.resolution") / "static"
    app.mount("/operations/static", StaticFiles(directory=str(static)), name="operations-static")
    app.state.resolution = resolution
    app.state.settings = settings
    app.state.verifier = verifier
    app.state.audit = audit
    app.state.abuse = AbuseGuard.from_settings(runtime.db, settings)
    runtime.on_startup(app.state.abuse.ensure_indexes)
    return app
