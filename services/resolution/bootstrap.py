"""Composition root of the resolution service."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from services.resolution.adapters.signing import OfficeKeys
from services.resolution.adapters.store import ResolutionStore
from services.resolution.entrypoints import consumers
from services.resolution.entrypoints.http import public, router
from services.resolution.entrypoints.scheduler import overdue_loop
from services.resolution.handlers import Resolution
from services.resolution.settings import ResolutionSettings
from shared.legal_clock import LegalClock, default_clock
from shared.procedures import Catalogue, load_catalogue
from shared.runtime import ServiceRuntime


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
    if settings.environment == "production" and not settings.jwt_public_key and settings.jwt_secret is None:
        raise ValueError("production needs RESOLUTION_JWT_PUBLIC_KEY or RESOLUTION_JWT_SECRET")
    runtime = ServiceRuntime(settings)
    store = ResolutionStore(runtime.db)
    resolution = Resolution(
        store=store,
        publisher=runtime.publisher,
        catalogue=catalogue or load_catalogue(),
        clock=clock or default_clock(),
        keys=keys
        or OfficeKeys(
            keys_dir=settings.signing_keys_dir,
            dev_seed=settings.signing_seed.get_secret_value() if settings.environment != "production" else None,
            dev_generation=settings.signing_key_generation,
        ),
        settings=settings,
        relay=runtime.relay(store.cases),
    )
    runtime.on_startup(store.ensure_indexes)
    consumers.register(runtime, resolution)

    async def overdue_scheduler() -> None:
        await overdue_loop(resolution, max_wait=settings.overdue_check_interval)

    runtime.background(overdue_scheduler)
    app = runtime.create_app(
        title="LienThong resolution",
        description="Officials process dossiers: worklists, actions, the legal clock (paused during supplements), "
        "overdue flags and apology letters, digitally signed results, operations-centre figures. Officials "
        "authenticate with `Authorization: Bearer <JWT>` (claims sub, office, roles).",
        routers=[router, public],
    )
    # the tracking page (notify's origin) posts the citizen's rating here; token in the query, no cookies
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
        allow_methods=["GET", "POST"],
        allow_headers=["content-type"],
    )
    app.state.resolution = resolution
    app.state.settings = settings
    return app
