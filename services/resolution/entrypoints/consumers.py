"""Resolution's Kafka consumers: routing decisions open cases; supplements resume the clock."""

from __future__ import annotations

from typing import Any

from services.resolution.handlers import Cases
from shared.broker import subscribe
from shared.envelope import CloudEvent
from shared.events import DossierRouted, DossierSupplemented
from shared.topics import Topics


def register(runtime: Any, cases: Cases) -> None:
    """Groups ``lienthong.resolution.routed`` and ``lienthong.resolution.supplemented``."""

    async def on_routed(event: CloudEvent) -> None:
        await cases.open_case(event.id, DossierRouted.model_validate(event.data))

    async def on_supplemented(event: CloudEvent) -> None:
        await cases.supplement_received(event.id, DossierSupplemented.model_validate(event.data))

    for topic, group, handler in (
        (Topics.DOSSIER_ROUTED, "routed", on_routed),
        (Topics.DOSSIER_SUPPLEMENTED, "supplemented", on_supplemented),
    ):
        subscribe(
            runtime.broker, runtime.settings, topic=topic, group=group, handler=handler, registry=runtime.registry
        )
