"""Notify's data lifecycle: finished timelines and sent messages move to the archive; contacts can be erased.

Declarations only (shared/lifecycle.py applies them; docs/data-lifecycle.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.lifecycle import CollectionLifecycle, PersonalFields, ServiceLifecycle

#: timeline statuses after which the citizen hears nothing more about the dossier
FINISHED_STATUSES = ("returned", "refused", "withdrawn")
#: a message in one of these states is done (``sent`` only once no delivery receipt is awaited)
DONE_MESSAGES = ("sent", "delivered", "failed", "suppressed")


def _timeline_finished_at(dossier: Mapping[str, Any]) -> datetime | None:
    """When the timeline's last entry, a finished status, happened."""
    timeline = dossier.get("timeline") or []
    if not timeline or timeline[-1].get("status") not in FINISHED_STATUSES:
        return None
    at = timeline[-1].get("at")
    if isinstance(at, str):
        try:
            return datetime.fromisoformat(at)
        except ValueError:
            return None
    return at if isinstance(at, datetime) else None


def _message_finished_at(notification: Mapping[str, Any]) -> datetime | None:
    """When a message reached its final state."""
    if notification.get("status") not in DONE_MESSAGES or notification.get("awaiting_receipt"):
        return None
    at = notification.get("finished_at")
    return at if isinstance(at, datetime) else None


LIFECYCLE = ServiceLifecycle(
    service="notify",
    collections=(
        CollectionLifecycle(
            name="dossiers",
            finished_filter={"timeline.status": {"$in": list(FINISHED_STATUSES)}},
            finished_at=_timeline_finished_at,
            dossier_field="_id",
            # the contact stays a document (notify reads "no contact yet" as "wait for it"), without address
            personal=PersonalFields(
                remove=("contact.phone_enc", "contact.phone_hash", "contact.email_enc", "contact.email_hash")
            ),
        ),
        CollectionLifecycle(
            name="notifications",
            finished_filter={"status": {"$in": list(DONE_MESSAGES)}},
            finished_at=_message_finished_at,
        ),
    ),
)
