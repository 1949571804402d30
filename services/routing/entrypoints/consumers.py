"""Routing's Kafka consumers: new dossiers, and status changes (load, transfers, chains)."""

from __future__ import annotations

from typing import Any

from services.routing.handlers import Router
from shared.broker import subscribe
from shared.envelope import CloudEvent
from shared.events import DossierReceived, DossierStatusChanged
from shared.topics import Topics


def register(runtime: Any, router: Router) -> None:
    """Groups ``lienthong.routing.received`` and ``lienthong.routing.status``."""

    async def on_received(event: CloudEvent) -> None:
        await router.on_received(event.id, DossierReceived.model_validate(event.data))

    async def on_status(event: CloudEvent) -> None:
        await router.on_status(event.id, DossierStatusChanged.model_validate(event.data))

    for topic, group, handler in (
        (Topics.DOSSIER_RECEIVED, "received", on_received),
        (Topics.DOSSIER_STATUS, "status", on_status),
    ):
        subscribe(
            runtime.broker, runtime.settings, topic=topic, group=group, handler=handler, registry=runtime.registry
        )
