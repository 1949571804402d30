"""Composition root of the notify service: real adapters unless fakes are passed in."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.notify.adapters.email import SmtpSender
from services.notify.adapters.live import LiveUpdates, StreamSlots
from services.notify.adapters.metrics import NotifyMetrics
from services.notify.adapters.sms import FailoverSender, build_sender
from services.notify.adapters.store import MongoNotifyStore
from services.notify.adapters.webhooks import HttpWebhookClient
from services.notify.domain.templates import TemplateSet
from services.notify.entrypoints import consumers
from services.notify.entrypoints.http import router
from services.notify.handlers import EmailSender, Notifier, SmsSender, WebhookClient
from services.notify.settings import NotifySettings
from shared.abuse import AbuseGuard
from shared.audit import AuditTrail, audit_router
from shared.identity import TokenVerifier
from shared.runtime import ServiceRuntime
from shared.topics import Topics


def bootstrap(
    settings: NotifySettings | None = None,
    *,
    templates: TemplateSet | None = None,
    sms: SmsSender | None = None,
    email: EmailSender | None = None,
    webhook_client: WebhookClient | None = None,
) -> FastAPI:
    """Build the notify app; the template set is built here, so a bad template stops start-up."""
    settings = settings or NotifySettings()
    templates = (templates or TemplateSet()).build()
    verifier = TokenVerifier.from_settings(settings)
    runtime = ServiceRuntime(settings)
    runtime.produces(Topics.NOTIFICATION_DELIVERY)
    store = MongoNotifyStore(runtime.db)
    http = httpx.AsyncClient(headers={"user-agent": "lienthong-notify"}, follow_redirects=False)
    if sms is None:
        sms = build_sender(
            settings.sms_providers,
            outbox_path=settings.sms_outbox_path,
            cooldown=settings.sms_failover_cooldown,
            client=http,
        )
    if email is None and settings.smtp_host:
        email = SmtpSender(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender)
    metrics = NotifyMetrics(
        runtime.registry, sms=sms if isinstance(sms, FailoverSender) else None, smtp=email is not None
    )
    if isinstance(sms, FailoverSender):
        sms.observer = metrics.provider_attempt
    runtime.metrics.add("sms_providers", metrics.refresh)
    live = LiveUpdates()
    notifier = Notifier(
        store=store,
        templates=templates,
        sms=sms,
        email=email,
        webhook_client=webhook_client
        or HttpWebhookClient(
            http,
            timeout=settings.webhook_timeout,
            production=settings.environment == "production",
            allowed_networks=settings.allowed_networks(),
        ),
        live=live,
        settings=settings,
        notifications_outbox=runtime.relay(store.notifications),
        deliveries_outbox=runtime.relay(store.deliveries),
        outcomes=metrics,
    )
    audit = AuditTrail(runtime.db, service="notify")
    runtime.on_startup(store.ensure_indexes)
    runtime.on_shutdown(notifier.drain)  # before the HTTP client closes: sends under way still need it
    runtime.on_shutdown(http.aclose)
    runtime.on_startup(audit.ensure_indexes)
    consumers.register(runtime, notifier)
    runtime.background(notifier.work_forever)
    app = runtime.create_app(
        title="LienThong notify",
        description="Tells citizens of every status change: SMS with provider failover and receipts, live app "
        "updates (Server-Sent Events), signed webhooks for app back ends, e-mail, and a tracking page at /track.",
        routers=[router, audit_router("notify")],
        openapi_tags=[
            {"name": "citizens", "description": "Tracking a dossier with its code and tracking token."},
            {"name": "providers", "description": "Callbacks from SMS gateways."},
            {"name": "webhooks", "description": "Signed deliveries to app back ends (operators)."},
        ],
    )
    app.state.notifier = notifier
    app.state.live = live
    app.state.audit = audit
    app.state.abuse = AbuseGuard.from_settings(runtime.db, settings)
    runtime.on_startup(app.state.abuse.ensure_indexes)
    app.state.streams = StreamSlots(per_dossier=settings.streams_per_dossier, per_client=settings.streams_per_client)
    app.state.verifier = verifier
    return app
