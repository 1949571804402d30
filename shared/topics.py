"""Kafka topic names: the only place they are spelled out (README.md, "Architecture at a glance")."""

from __future__ import annotations

from typing import Final


class Topics:
    """Topic constants; every producer and consumer refers to these names."""

    DOSSIER_RECEIVED: Final = "dossier.received.v1"
    DOSSIER_ROUTED: Final = "dossier.routed.v1"
    DOSSIER_STATUS: Final = "dossier.status.v1"
    DOSSIER_SUPPLEMENTED: Final = "dossier.supplemented.v1"
    NOTIFICATION_DELIVERY: Final = "notification.delivery.v1"

    ALL: Final = (
        DOSSIER_RECEIVED,
        DOSSIER_ROUTED,
        DOSSIER_STATUS,
        DOSSIER_SUPPLEMENTED,
        NOTIFICATION_DELIVERY,
    )


DLQ_SUFFIX: Final = ".dlq"


def dlq_of(topic: str) -> str:
    """Name of the dead-letter topic that belongs to ``topic``."""
    return topic if topic.endswith(DLQ_SUFFIX) else f"{topic}{DLQ_SUFFIX}"


def event_type_of(topic: str) -> str:
    """CloudEvents ``type`` attribute for events on ``topic`` (``vn.lienthong.<topic>``)."""
    return f"vn.lienthong.{topic}"
