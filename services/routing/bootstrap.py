"""Composition root of the routing service: builds real adapters and wires them to entry points."""

from __future__ import annotations

from fastapi import FastAPI

from services.routing.settings import RoutingSettings
from shared.runtime import ServiceRuntime


def bootstrap(settings: RoutingSettings | None = None) -> FastAPI:
    """Build the routing app: store, broker, relays and routes."""
    settings = settings or RoutingSettings()
    runtime = ServiceRuntime(settings)
    return runtime.create_app(
        title="LienThong routing",
        description="Finds the competent office for every dossier across boundaries: jurisdiction rules, office load, transfers and inter-agency chains.",
        routers=[],
    )
