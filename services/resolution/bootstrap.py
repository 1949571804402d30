"""Composition root of the resolution service: builds real adapters and wires them to entry points."""

from __future__ import annotations

from fastapi import FastAPI

from services.resolution.settings import ResolutionSettings
from shared.runtime import ServiceRuntime


def bootstrap(settings: ResolutionSettings | None = None) -> FastAPI:
    """Build the resolution app: store, broker, relays and routes."""
    settings = settings or ResolutionSettings()
    runtime = ServiceRuntime(settings)
    return runtime.create_app(
        title="LienThong resolution",
        description="Officials process dossiers: worklists, actions, the legal clock, overdue flags and apology letters, signed results, operations-centre figures.",
        routers=[],
    )
