"""Composition root of the notify service: real adapters unless replacements are passed in by name."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from services.notify.adapters.email import SmtpSender
from services.notify.adapters.live import LiveUpdates, StreamSlots
from services.notify.adapters.metrics import NotifyMetrics
from services.notify.adapters.papers import TrackingLogForms
from services.notify.adapters.repositories import (
    DeliveryRepository,
    MongoSubscriptions,
    NotificationRepository,
    ViewRepository,
)
from services.notify.adapters.sms import FailoverSender, build_sender
from services.notify.adapters.webhooks import HttpWebhookClient
from services.notify.domain.templates import TemplateSet
from services.notify.entrypoints import consumers
from services.notify.entrypoints.deps import NotifyDeps
from services.notify.entrypoints.http import router
from services.notify.handlers import Notifier
from services.notify.settings import NotifySettings
from shared.abuse import AbuseGuard
from shared.audit import AuditTrail, audit_router
from shared.identity import TokenVerifier
from shared.runtime import ServiceRuntime
from shared.topics import Topics

#: what ``bootstrap(**overrides)`` may replace besides the fields of NotifyDeps (the notifier's own ports)
PORTS = ("templates", "sms", "email", "webhook_client", "views", "notifications", "deliveries", "subscriptions")


def bootstrap(settings: NotifySettings | None = None, **overrides: Any) -> FastAPI:
    """Build the notify app. Any port of the notifier (``sms``, ``email``, ``webhook_client``, ``templates``, the
    repositories) or field of :class:`NotifyDeps` may be replaced by name; the template set is built here, so a
    bad template stops start-up."""
    settings = settings or NotifySettings()
    runtime = ServiceRuntime(settings)
    runtime.produces(Topics.NOTIFICATION_DELIVERY)
    db = runtime.db

    dependencies = runtime.dependencies(overrides)
    build = dependencies.build

    http = httpx.AsyncClient(headers={"user-agent": "lienthong-notify"}, follow_redirects=False)
    templates = build("templates", TemplateSet).build()
    sms = build(
        "sms",
        lambda: build_sender(
            settings.sms_providers,
            outbox_path=settings.sms_outbox_path,
            cooldown=settings.sms_failover_cooldown,
            client=http,
        ),
    )
    email = build(
        "email",
        lambda: (
            SmtpSender(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender)
            if settings.smtp_host
            else None
        ),
    )
    metrics = NotifyMetrics(
        runtime.registry, sms=sms if isinstance(sms, FailoverSender) else None, smtp=email is not None
    )
    if isinstance(sms, FailoverSender):
        sms.observer = metrics.provider_attempt
    runtime.metrics.add("sms_providers", metrics.refresh)
    live = LiveUpdates()
    notifier = Notifier(
        views=build("views", lambda: ViewRepository(db)),
        # the relays publish each aggregate's outbox (the one publication path); the unit of work kicks them
        notifications=build("notifications", lambda: NotificationRepository(db, runtime.relay(db["notifications"]))),
        deliveries=build("deliveries", lambda: DeliveryRepository(db, runtime.relay(db["webhook_deliveries"]))),
        subscriptions=build(
            "subscriptions", lambda: MongoSubscriptions(db, cache_ttl=settings.subscriptions_cache_ttl)
        ),
        templates=templates,
        sms=sms,
        email=email,
        webhook_client=build(
            "webhook_client",
            lambda: HttpWebhookClient(
                http,
                timeout=settings.webhook_timeout,
                production=settings.environment == "production",
                allowed_networks=settings.allowed_networks(),
            ),
        ),
        live=live,
        settings=settings,
        outcomes=metrics,
    )
    deps = NotifyDeps(
        settings=settings,
        notifier=build("notifier", lambda: notifier),
        live=build("live", lambda: live),
        streams=build(
            "streams",
            lambda: StreamSlots(per_dossier=settings.streams_per_dossier, per_client=settings.streams_per_client),
        ),
        papers=build("papers", TrackingLogForms),
        abuse=build("abuse", lambda: AbuseGuard.from_settings(db, settings)),
        audit=build("audit", lambda: AuditTrail(db, service="notify")),
        verifier=build("verifier", lambda: TokenVerifier.from_settings(settings)),
    )
    dependencies.refuse_unused()
    runtime.on_shutdown(deps.notifier.drain)  # before the HTTP client closes: sends under way still need it
    runtime.on_shutdown(http.aclose)
    consumers.register(runtime, deps.notifier)
    runtime.background(deps.notifier.work_forever)  # the one background loop of notify
    app = runtime.create_app(
        title="LienThong notify",
        description="Tells citizens of every status change: SMS with provider failover and receipts, live app "
        "updates (Server-Sent Events), signed webhooks for app back ends, e-mail, and a tracking page at /track.",
        deps=deps,
        routers=[router, audit_router("notify")],
        openapi_tags=[
            {"name": "citizens", "description": "Tracking a dossier with its code and tracking token."},
            {"name": "providers", "description": "Callbacks from SMS gateways."},
            {"name": "webhooks", "description": "Signed deliveries to app back ends (operators)."},
        ],
    )
    return app
