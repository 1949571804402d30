"""Notify's Kafka consumers: received, routed and status events become timeline entries and messages."""

from __future__ import annotations

from services.notify.domain.view import from_received, from_routed, from_status
from services.notify.handlers import Notifier
from shared.broker import subscribe
from shared.envelope import CloudEvent
from shared.events import DossierReceived, DossierRouted, DossierStatusChanged
from shared.runtime import ServiceRuntime
from shared.topics import Topics


def register(runtime: ServiceRuntime, notifier: Notifier) -> None:
    """Groups ``lienthong.notify.received``, ``.routed`` and ``.status`` (NACK_ON_ERROR, then the DLQ)."""

    async def on_received(event: CloudEvent) -> None:
        change = from_received(event.id, DossierReceived.model_validate(event.data))
        await notifier.on_change(change, event=event)

    async def on_routed(event: CloudEvent) -> None:
        change = from_routed(event.id, DossierRouted.model_validate(event.data))
        await notifier.on_change(change, event=event)

    async def on_status(event: CloudEvent) -> None:
        change = from_status(event.id, DossierStatusChanged.model_validate(event.data))
        await notifier.on_change(change, event=event)

    for topic, group, handler in (
        (Topics.DOSSIER_RECEIVED, "received", on_received),
        (Topics.DOSSIER_ROUTED, "routed", on_routed),
        (Topics.DOSSIER_STATUS, "status", on_status),
    ):
        subscribe(
            runtime.broker, runtime.settings, topic=topic, group=group, handler=handler, registry=runtime.registry
        )
