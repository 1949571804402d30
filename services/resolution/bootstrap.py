"""Composition root of the resolution service: every dependency built here, once, and replaceable by name."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from services.resolution.adapters.business_metrics import BusinessMetrics
from services.resolution.adapters.letters import apology_letter
from services.resolution.adapters.metrics import OverdueMetrics
from services.resolution.adapters.papers import OfficePapers
from services.resolution.adapters.repositories import MongoCases
from services.resolution.adapters.results import SignedResults
from services.resolution.adapters.signing import OfficeKeys
from services.resolution.entrypoints import consumers, operations
from services.resolution.entrypoints.deps import ResolutionDeps
from services.resolution.entrypoints.http import public, router
from services.resolution.entrypoints.scheduler import business_metrics_loop, overdue_loop
from services.resolution.handlers import Cases, Operations, Watch
from services.resolution.settings import ResolutionSettings
from shared.abuse import AbuseGuard
from shared.audit import AuditTrail, audit_router
from shared.identity import TokenVerifier
from shared.reference.legal_clock import default_clock
from shared.reference.procedures import load_catalogue
from shared.runtime import ServiceRuntime
from shared.topics import Topics


def bootstrap(settings: ResolutionSettings | None = None, **overrides: Any) -> FastAPI:
    """Build the resolution app: cases, clock loop, signing keys, consumers and routes.

    Real adapters unless given by name in ``overrides``: ``keys``, ``clock``, ``catalogue``, ``cases``
    (the repository), ``results``, ``papers``, ``letters``, ``business``, ``verifier``, ``audit``, ``abuse``.
    """
    settings = settings or ResolutionSettings()
    if settings.environment == "production" and settings.signing_keys_dir is None and "keys" not in overrides:
        raise ValueError("production needs RESOLUTION_SIGNING_KEYS_DIR (development keys are refused)")
    runtime = ServiceRuntime(settings)
    runtime.produces(Topics.DOSSIER_STATUS)

    dependencies = runtime.dependencies(overrides)
    build = dependencies.build

    keys = build(
        "keys",
        lambda: OfficeKeys(
            keys_dir=settings.signing_keys_dir,
            # outside development the settings refuse the public seed; production takes no seed at all
            dev_seed=settings.signing_seed.get_secret_value() if settings.environment != "production" else None,
            dev_generation=settings.signing_key_generation,
        ),
    )
    clock, catalogue = build("clock", default_clock), build("catalogue", load_catalogue)
    cases_repo: MongoCases = build("cases", lambda: _cases(runtime))
    business = build("business", lambda: BusinessMetrics(runtime.registry))
    watch = Watch(figures=business)
    results = build("results", lambda: SignedResults(runtime.db, keys=keys, public_base_url=settings.public_base_url))
    cases = Cases(
        cases=cases_repo,
        results=results,
        catalogue=catalogue,
        clock=clock,
        letters=build("letters", lambda: apology_letter),
        auto_accepts=settings.auto_accepts,
        watch=watch,
    )
    figures = Operations.beside(cases, ranking_min_sample=settings.ranking_min_sample)
    deps = ResolutionDeps(
        settings=settings,
        cases=cases,
        operations=figures,
        watch=watch,
        results=results,
        papers=build("papers", lambda: OfficePapers(tracking_page_url=settings.tracking_page_url)),
        verifier=build("verifier", lambda: TokenVerifier.from_settings(settings)),
        audit=build("audit", lambda: AuditTrail(runtime.db, service="resolution")),
        abuse=build("abuse", lambda: AbuseGuard.from_settings(runtime.db, settings)),
    )
    dependencies.refuse_unused()
    runtime.metrics.add("overdue", OverdueMetrics(runtime.registry, cases_repo).refresh)
    consumers.register(runtime, cases)

    async def overdue_scheduler() -> None:
        await overdue_loop(cases, max_wait=settings.overdue_check_interval)

    async def business_metrics() -> None:
        await business_metrics_loop(figures, interval=settings.metrics_refresh_interval)

    runtime.background(overdue_scheduler)
    runtime.background(business_metrics)
    app = runtime.create_app(
        title="LienThong resolution",
        description="Officials process dossiers: worklists, actions, the legal clock (paused during supplements), "
        "overdue flags and apology letters, digitally signed results, operations-centre figures. Officials "
        "authenticate with `Authorization: Bearer <JWT>` (claims sub, office, roles).",
        deps=deps,
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
    return app


def _cases(runtime: ServiceRuntime) -> MongoCases:
    """The cases repository on the service's database, its outbox published by the shared relay."""
    repo = MongoCases(runtime.db, source=runtime.publisher.source)
    repo.relay = runtime.relay(repo.collection)
    return repo
