"""The composition root of the intake service: builds every dependency, wires entry points, registers loops."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from services.intake.adapters.citizen_identity import OidcCitizenLogin
from services.intake.adapters.citizen_store import CitizenStore
from services.intake.adapters.files import DossierFiles
from services.intake.adapters.key_cache import TtlKeyCache
from services.intake.adapters.papers import ReceiptForms
from services.intake.adapters.repositories import (
    DossierRepository,
    MongoApiKeys,
    MongoIdempotencyClaims,
    MongoSequences,
    TicketRepository,
)
from services.intake.entrypoints import consumers
from services.intake.entrypoints.citizen import register_results
from services.intake.entrypoints.citizen import router as citizen_router
from services.intake.entrypoints.deps import IntakeDeps, RateLimit
from services.intake.entrypoints.http import install_domain_errors, install_validation_codes, router
from services.intake.settings import IntakeSettings
from shared.abuse import AbuseGuard
from shared.audit import AuditTrail, audit_router
from shared.identity import TokenVerifier
from shared.pii import PersonalDataKeys
from shared.reference.procedures import load_catalogue
from shared.runtime import ServiceRuntime
from shared.topics import Topics


def bootstrap(settings: IntakeSettings | None = None, **overrides: Any) -> FastAPI:
    """Build the intake app. Any field of :class:`IntakeDeps` may be replaced by name (e.g. in-memory
    repositories in unit tests: ``bootstrap(s, dossiers=..., tickets=...)``); what is replaced is not built."""
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime(settings)
    runtime.produces(Topics.DOSSIER_RECEIVED, Topics.DOSSIER_SUPPLEMENTED)
    db = runtime.db

    dependencies = runtime.dependencies(overrides)
    build = dependencies.build

    def dossiers() -> DossierRepository:
        # the relay publishes the dossiers' outbox (the one publication path); off only to simulate a crash
        return DossierRepository(db, runtime.relay(db["dossiers"]) if settings.relay_enabled else None)

    deps = IntakeDeps(
        settings=settings,
        dossiers=build("dossiers", dossiers),
        tickets=build("tickets", lambda: TicketRepository(db)),
        sequences=build("sequences", lambda: MongoSequences(db)),
        claims=build("claims", lambda: MongoIdempotencyClaims(db)),
        api_keys=build("api_keys", lambda: MongoApiKeys(db)),
        key_cache=build("key_cache", lambda: TtlKeyCache(settings.api_key_cache_ttl)),
        files=build("files", lambda: DossierFiles(runtime.mongo[settings.mongodb_database])),
        printer=build("printer", lambda: ReceiptForms(settings.tracking_page_url)),
        catalogue=build("catalogue", load_catalogue),
        pii=build("pii", lambda: PersonalDataKeys.from_settings(settings)),
        limiter=build("limiter", lambda: RateLimit(settings.rate_limit)),
        # abuse counters in the service's own database, shared by its instances
        abuse=build("abuse", lambda: AbuseGuard.from_settings(db, settings)),
        audit=build("audit", lambda: AuditTrail(db, service="intake")),
        verifier=build("verifier", lambda: TokenVerifier.from_settings(settings)),
        citizen_login=build("citizen_login", lambda: _citizen_login(settings, runtime)),
        citizen_store=build("citizen_store", lambda: CitizenStore(db)),
    )
    dependencies.refuse_unused()
    consumers.register(runtime, deps.dossiers)
    register_results(runtime, deps)
    app = runtime.create_app(
        title="LienThong intake",
        description="Receives dossiers from front-office apps and the portal: receipts, dossier codes, legal due "
        "dates, supplements and counter queue tickets. Front-office apps authenticate with "
        "`Authorization: Bearer <API key>`; each key is bound to its reception office.",
        deps=deps,
        routers=[router, citizen_router, audit_router("intake")],
    )
    install_validation_codes(app)
    install_domain_errors(app)
    return app


def _citizen_login(settings: IntakeSettings, runtime: ServiceRuntime) -> OidcCitizenLogin | None:
    """The citizens' OpenID Connect provider when one is configured (None: citizen login is off)."""
    issuer = settings.citizen_issuer
    if issuer is None:
        return None
    http = httpx.AsyncClient(timeout=10.0, follow_redirects=False)
    runtime.on_shutdown(http.aclose)
    return OidcCitizenLogin(
        issuer=issuer,
        client_id=settings.citizen_oidc_client_id,
        client_secret=settings.citizen_oidc_client_secret.get_secret_value(),
        redirect_url=settings.citizen_redirect_url,
        scopes=settings.citizen_oidc_scopes,
        citizen_id_claim=settings.citizen_oidc_citizen_id_claim,
        http=http,
    )
