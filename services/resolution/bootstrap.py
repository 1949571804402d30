"""Composition root of the resolution service."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.resolution.adapters.signing import OfficeKeys
from services.resolution.adapters.store import ResolutionStore
from services.resolution.entrypoints import consumers
from services.resolution.entrypoints.http import router
from services.resolution.handlers import Resolution
from services.resolution.settings import ResolutionSettings
from shared.legal_clock import default_clock
from shared.logging import get_logger
from shared.procedures import load_catalogue
from shared.runtime import ServiceRuntime

log = get_logger(__name__)


def bootstrap(settings: ResolutionSettings | None = None) -> FastAPI:
    """Build the resolution app: cases, clock loop, signing keys, consumers and routes."""
    settings = settings or ResolutionSettings()
    if settings.environment == "production" and settings.signing_keys_dir is None:
        raise ValueError("production needs RESOLUTION_SIGNING_KEYS_DIR (development keys are refused)")
    runtime = ServiceRuntime(settings)
    store = ResolutionStore(runtime.db)
    keys = OfficeKeys(
        keys_dir=settings.signing_keys_dir,
        dev_seed=settings.signing_seed.get_secret_value() if settings.environment != "production" else None,
    )
    resolution = Resolution(
        store=store,
        publisher=runtime.publisher,
        catalogue=load_catalogue(),
        clock=default_clock(),
        keys=keys,
        settings=settings,
        relay=runtime.relay(store.cases),
    )
    runtime.on_startup(store.ensure_indexes)
    consumers.register(runtime, resolution)

    async def overdue_loop() -> None:
        while True:
            try:
                await resolution.flag_overdue()
            except Exception as exc:  # keep checking after a store hiccup
                log.warning("overdue_check_failed", error=str(exc))
            await asyncio.sleep(settings.overdue_check_interval)

    runtime.background(overdue_loop)
    app = runtime.create_app(
        title="LienThong resolution",
        description="Officials process dossiers: worklists, actions, the legal clock (paused during supplements), "
        "overdue flags and apology letters, digitally signed results, operations-centre figures. Officials "
        "authenticate with `Authorization: Bearer <JWT>` (claims sub, office, roles).",
        routers=[router],
    )
    app.state.resolution = resolution
    app.state.settings = settings
    return app
