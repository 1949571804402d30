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

    settings = runtime.settings
    # every partition of new dossiers at once: their inserts share one batched write (adapters/store.py)
    received_workers = max(settings.kafka_consumer_workers, settings.kafka_topic_partitions)
    for topic, group, handler, workers in (
        (Topics.DOSSIER_RECEIVED, "received", on_received, received_workers),
        (Topics.DOSSIER_STATUS, "status", on_status, None),
    ):
        subscribe(
            runtime.broker,
            settings,
            topic=topic,
            group=group,
            handler=handler,
            registry=runtime.registry,
            max_workers=workers,
        )
