"""Routing's Kafka consumers: new dossiers, and status changes (load, transfers, chains)."""

from __future__ import annotations

from services.routing import handlers
from services.routing.entrypoints.deps import RoutingDeps
from shared.broker import subscribe
from shared.envelope import CloudEvent
from shared.events import DossierReceived, DossierStatusChanged
from shared.runtime import ServiceRuntime
from shared.topics import Topics


def register(runtime: ServiceRuntime, deps: RoutingDeps) -> None:
    """Groups ``lienthong.routing.received`` and ``lienthong.routing.status``."""

    async def on_received(event: CloudEvent) -> None:
        received = DossierReceived.model_validate(event.data)
        await handlers.receive_dossier(event.id, received, routes=deps.routes, jurisdiction=deps.jurisdiction)

    async def on_status(event: CloudEvent) -> None:
        change = DossierStatusChanged.model_validate(event.data)
        await handlers.follow_status(event.id, change, routes=deps.routes, jurisdiction=deps.jurisdiction)

    settings = runtime.settings
    # every partition of new dossiers at once: their decisions and inserts run side by side
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
