"""Composition root of the notify service: builds real adapters and wires them to entry points."""

from __future__ import annotations

from fastapi import FastAPI

from services.notify.settings import NotifySettings
from shared.runtime import ServiceRuntime


def bootstrap(settings: NotifySettings | None = None) -> FastAPI:
    """Build the notify app: store, broker, relays and routes."""
    settings = settings or NotifySettings()
    runtime = ServiceRuntime(settings)
    return runtime.create_app(
        title="LienThong notify",
        description="Tells citizens of every status change: SMS with provider failover and receipts, live app updates, webhooks, e-mail.",
        routers=[],
    )
