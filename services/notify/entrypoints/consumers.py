"""Notify's Kafka consumers: received, routed and status events all become timeline entries and messages."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from services.notify.handlers import Notifier
from shared.broker import subscribe
from shared.envelope import CloudEvent
from shared.events import DossierReceived, DossierRouted, DossierStatusChanged
from shared.topics import Topics


def register(runtime: Any, notifier: Notifier) -> None:
    """Groups ``lienthong.notify.received|routed|status``."""

    def handler(model: type[BaseModel]) -> Any:
        async def on_event(event: CloudEvent) -> None:
            model.model_validate(event.data)  # malformed data goes to the DLQ, not into messages
            await notifier.on_event(event)

        return on_event

    for topic, group, model in (
        (Topics.DOSSIER_RECEIVED, "received", DossierReceived),
        (Topics.DOSSIER_ROUTED, "routed", DossierRouted),
        (Topics.DOSSIER_STATUS, "status", DossierStatusChanged),
    ):
        subscribe(
            runtime.broker,
            runtime.settings,
            topic=topic,
            group=group,
            handler=handler(model),
            registry=runtime.registry,
        )
