"""Composition root of the intake service: builds real adapters and wires them to entry points."""

from __future__ import annotations

from fastapi import FastAPI

from services.intake.settings import IntakeSettings
from shared.runtime import ServiceRuntime


def bootstrap(settings: IntakeSettings | None = None) -> FastAPI:
    """Build the intake app: store, broker, relays and routes."""
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime(settings)
    return runtime.create_app(
        title="LienThong intake",
        description="Receives dossiers from front-office apps and the portal: receipts, dossier codes, legal due dates, supplements, counter queue tickets.",
        routers=[],
    )
