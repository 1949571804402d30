"""Intake's Kafka consumers: routing decisions and status events keep the filing office's view current."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from services.intake import handlers
from services.intake.domain.ports import Dossiers
from shared.broker import subscribe
from shared.envelope import CloudEvent
from shared.events import DossierRouted, DossierStatusChanged
from shared.topics import Topics

ViewUpdate = Callable[..., Awaitable[bool]]

#: (topic, consumer group, event model, use case) of each event that updates the filing office's view
VIEW_EVENTS: tuple[tuple[str, str, type[BaseModel], ViewUpdate], ...] = (
    (Topics.DOSSIER_STATUS, "status-view", DossierStatusChanged, handlers.apply_status),
    (Topics.DOSSIER_ROUTED, "routed-view", DossierRouted, handlers.apply_routed),
)


def register(runtime: Any, dossiers: Dossiers) -> None:
    """Subscribe to ``dossier.status.v1`` and ``dossier.routed.v1`` (groups ``status-view``, ``routed-view``)."""
    for topic, group, model, apply in VIEW_EVENTS:

        async def on_event(event: CloudEvent, model: type[BaseModel] = model, apply: ViewUpdate = apply) -> None:
            await apply(event.id, model.model_validate(event.data), dossiers=dossiers)

        subscribe(
            runtime.broker,
            runtime.settings,
            topic=topic,
            group=group,
            handler=on_event,
            registry=runtime.registry,
        )
