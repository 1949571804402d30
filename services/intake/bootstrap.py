"""Composition root of the intake service: builds real adapters and wires them to entry points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from services.intake import citizen, handlers
from services.intake.adapters.citizen_identity import OidcCitizenLogin
from services.intake.adapters.citizen_store import CitizenStore
from services.intake.adapters.files import DossierFiles
from services.intake.adapters.store import IntakeStore
from services.intake.entrypoints import consumers
from services.intake.entrypoints.citizen import CitizenPortal, origin_of, register_results
from services.intake.entrypoints.citizen import router as citizen_router
from services.intake.entrypoints.http import RateLimit, install_validation_codes, router
from services.intake.settings import IntakeSettings
from shared.abuse import AbuseGuard
from shared.audit import AuditTrail, audit_router
from shared.broker import EventPublisher
from shared.identity import TokenVerifier
from shared.outbox import OutboxRelay
from shared.pii import PersonalDataKeys
from shared.reference.procedures import Catalogue, load_catalogue
from shared.runtime import ServiceRuntime
from shared.topics import Topics


@dataclass
class IntakeDeps:
    """What the routes need, built once."""

    store: handlers.IntakeStore
    catalogue: Catalogue
    publisher: EventPublisher
    relay: OutboxRelay | None
    limiter: RateLimit
    rate: Any
    tracking_page_url: str
    files: handlers.FileStore
    settings: IntakeSettings


def bootstrap(
    settings: IntakeSettings | None = None,
    *,
    store: handlers.IntakeStore | None = None,
    catalogue: Catalogue | None = None,
    files: handlers.FileStore | None = None,
    citizen_login: citizen.CitizenLogin | None = None,
    citizen_store: citizen.CitizenSessions | None = None,
) -> FastAPI:
    """Build the intake app: store, catalogue, broker, outbox relay, consumer and routes.

    ``store`` and ``catalogue`` replace the real ones in tests (an in-memory fake store has no relay);
    ``citizen_login`` replaces the citizens' OpenID Connect provider (a test double, in unit tests only) and
    ``citizen_store`` their sessions.
    """
    settings = settings or IntakeSettings()
    verifier = TokenVerifier.from_settings(settings)
    runtime = ServiceRuntime(settings)
    runtime.produces(Topics.DOSSIER_RECEIVED, Topics.DOSSIER_SUPPLEMENTED)
    faked = store is not None
    if store is None:
        mongo_store = IntakeStore(runtime.db)
        runtime.on_startup(mongo_store.ensure_indexes)
        relay = runtime.relay(mongo_store.dossiers) if settings.relay_enabled else None
        store = mongo_store
    else:
        relay = None
    consumers.register(runtime, store)
    limiter = RateLimit(settings.rate_limit)
    app = runtime.create_app(
        title="LienThong intake",
        description="Receives dossiers from front-office apps and the portal: receipts, dossier codes, legal due "
        "dates, supplements and counter queue tickets. Front-office apps authenticate with "
        "`Authorization: Bearer <API key>`; each key is bound to its reception office.",
        routers=[router, citizen_router, audit_router("intake")],
    )
    install_validation_codes(app)
    # counters in the service's own database, shared by its instances (in memory with a fake store)
    app.state.pii = PersonalDataKeys.from_settings(settings)
    app.state.verifier = verifier  # auditors read /v1/audit with a JWT
    app.state.audit = AuditTrail(runtime.db, service="intake")
    runtime.on_startup(app.state.audit.ensure_indexes)
    app.state.abuse = AbuseGuard.from_settings(None if faked else runtime.db, settings)
    runtime.on_startup(app.state.abuse.ensure_indexes)
    app.state.intake = IntakeDeps(
        store,
        catalogue or load_catalogue(),
        runtime.publisher,
        relay,
        limiter,
        limiter.rate,
        settings.tracking_page_url,
        files or DossierFiles(runtime.mongo[settings.mongodb_database]),
        settings,
    )
    app.state.citizen = _citizen_portal(settings, runtime, citizen_login, citizen_store)
    return app


def _citizen_portal(
    settings: IntakeSettings,
    runtime: ServiceRuntime,
    login: citizen.CitizenLogin | None,
    store: citizen.CitizenSessions | None,
) -> CitizenPortal:
    """The citizen portal: sessions in intake's store, the OpenID Connect provider when one is configured."""
    if store is None:
        mongo = CitizenStore(runtime.db)
        runtime.on_startup(mongo.ensure_indexes)
        store = mongo
    register_results(runtime, store)
    issuer = settings.citizen_issuer
    if login is None and issuer is not None:
        http = httpx.AsyncClient(timeout=10.0, follow_redirects=False)
        runtime.on_shutdown(http.aclose)
        login = OidcCitizenLogin(
            issuer=issuer,
            client_id=settings.citizen_oidc_client_id,
            client_secret=settings.citizen_oidc_client_secret.get_secret_value(),
            redirect_url=settings.citizen_redirect_url,
            scopes=settings.citizen_oidc_scopes,
            citizen_id_claim=settings.citizen_oidc_citizen_id_claim,
            http=http,
        )
    return CitizenPortal(
        login=login,
        store=store,
        secure_cookies=settings.environment != "development",
        session_lifetime=timedelta(seconds=settings.citizen_session_lifetime),
        public_origin=origin_of(settings.citizen_redirect_url),
    )
