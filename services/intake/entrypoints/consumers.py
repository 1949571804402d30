"""Intake's Kafka consumers: routing decisions and status events keep the filing office's view current."""

from __future__ import annotations

from typing import Any

from services.intake import handlers
from shared.broker import subscribe
from shared.envelope import CloudEvent
from shared.events import DossierRouted, DossierStatusChanged
from shared.topics import Topics


def register(runtime: Any, store: handlers.IntakeStore) -> None:
    """Subscribe to ``dossier.status.v1`` and ``dossier.routed.v1`` (groups ``status-view``, ``routed-view``)."""

    async def on_status(event: CloudEvent) -> None:
        await handlers.apply_status(event.id, DossierStatusChanged.model_validate(event.data), store=store)

    subscribe(
        runtime.broker,
        runtime.settings,
        topic=Topics.DOSSIER_STATUS,
        group="status-view",
        handler=on_status,
        registry=runtime.registry,
    )

    async def on_routed(event: CloudEvent) -> None:
        await handlers.apply_routed(event.id, DossierRouted.model_validate(event.data), store=store)

    subscribe(
        runtime.broker,
        runtime.settings,
        topic=Topics.DOSSIER_ROUTED,
        group="routed-view",
        handler=on_routed,
        registry=runtime.registry,
    )
