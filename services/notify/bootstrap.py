"""Composition root of the notify service."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from services.notify.adapters.email import SmtpSender
from services.notify.adapters.sms import build_sender
from services.notify.adapters.store import NotifyStore
from services.notify.domain.templates import TemplateSet
from services.notify.entrypoints import consumers
from services.notify.entrypoints.http import router
from services.notify.handlers import Hub, Notifier
from services.notify.settings import NotifySettings
from shared.logging import get_logger
from shared.runtime import ServiceRuntime

log = get_logger(__name__)


def bootstrap(settings: NotifySettings | None = None) -> FastAPI:
    """Build the notify app; a template that does not render fails here, at start-up."""
    settings = settings or NotifySettings()
    templates = TemplateSet().build()
    runtime = ServiceRuntime(settings)
    store = NotifyStore(runtime.db)
    http = httpx.AsyncClient()
    notifier = Notifier(
        store=store,
        publisher=runtime.publisher,
        templates=templates,
        sms=build_sender(
            settings.sms_providers,
            outbox_path=settings.sms_outbox_path,
            cooldown=settings.sms_failover_cooldown,
            client=http,
        ),
        email=SmtpSender(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender)
        if settings.smtp_host
        else None,
        http=http,
        settings=settings,
        hub=Hub(),
        relay=runtime.relay(store.notifications),
    )
    runtime.on_startup(store.ensure_indexes)
    runtime.on_shutdown(http.aclose)
    consumers.register(runtime, notifier)

    async def workers() -> None:
        while True:
            try:
                await notifier.run_workers()
            except Exception as exc:  # keep the workers alive through store hiccups
                log.warning("notify_workers_failed", error=str(exc))
            await asyncio.sleep(settings.worker_interval)

    runtime.background(workers)
    app = runtime.create_app(
        title="LienThong notify",
        description="Tells citizens of every status change: SMS with provider failover and receipts, live app updates "
        "(Server-Sent Events), signed webhooks for app back ends, e-mail, and a tracking page at /track.",
        routers=[router],
    )
    app.state.notifier = notifier
    return app
