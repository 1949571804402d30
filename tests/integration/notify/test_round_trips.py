"""Issue #13 for notify: the store round trips of one status change, counted on the real motor client."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx

from services.notify.adapters.live import LiveUpdates
from services.notify.adapters.repositories import (
    DeliveryRepository,
    MongoSubscriptions,
    NotificationRepository,
    ViewRepository,
)
from services.notify.adapters.sms import build_sender
from services.notify.adapters.webhooks import HttpWebhookClient
from services.notify.domain.templates import TemplateSet
from services.notify.domain.view import from_received, from_status
from services.notify.handlers import Notifier
from services.notify.settings import NotifySettings
from shared.envelope import CloudEvent
from shared.events import DossierStatus
from shared.store import make_mongo_client, service_database
from shared.topics import Topics
from tests.integration.notify.test_notify import received, sms_lines, status
from tests.support.commands import Commands
from tests.support.service import drop_databases

#: what one status change may cost (issue #13; services/notify/README.md, "Store round trips"): the view's
#: conditional write (from the snapshot of its last write: no read), the notification's insert (already
#: claimed: its unique id is the claim), the outcome's conditional write (from the insert's snapshot); the
#: provider call sits between the last two. The subscriptions' list comes from its short-lived cache.
BUDGET = 3


def _event(topic: str, data: object) -> CloudEvent:
    return CloudEvent(
        source="/lienthong/test",
        type=f"vn.lienthong.{topic}",
        subject=data.dossier_code,  # type: ignore[attr-defined]
        data=data.model_dump(mode="json"),  # type: ignore[attr-defined]
    )


async def test_one_status_change_costs_at_most_the_budgeted_round_trips(
    base_settings: dict[str, str], isolation: str, tmp_path: Path
) -> None:
    """Receipt first (the contact is known), then one status change: its SMS is sent and its commands counted."""
    settings = NotifySettings(
        **base_settings,  # type: ignore[arg-type]
        mongodb_database=f"{isolation}_notify_trips",
        sms_outbox_path=str(tmp_path / "sms.jsonl"),
    )
    commands = Commands()
    mongo = make_mongo_client(settings, event_listeners=[commands])
    db = service_database(mongo, settings)
    for repo in (ViewRepository(db), NotificationRepository(db), DeliveryRepository(db)):
        await repo.ensure_indexes()
    async with httpx.AsyncClient() as http:
        notifier = Notifier(
            # no relays: the publication of the outcome is the relay's own round trips, not the change's
            views=ViewRepository(db),
            notifications=NotificationRepository(db),
            deliveries=DeliveryRepository(db),
            subscriptions=MongoSubscriptions(db),
            templates=TemplateSet().build(),
            sms=build_sender(settings.sms_providers, outbox_path=settings.sms_outbox_path, cooldown=60, client=http),
            email=None,
            webhook_client=HttpWebhookClient(http, timeout=5, production=False, allowed_networks=()),
            live=LiveUpdates(),
            settings=settings,
        )
        r = received()
        receipt = _event(Topics.DOSSIER_RECEIVED, r)
        await notifier.on_change(from_received(receipt.id, r), event=receipt)
        accepted = status(r, DossierStatus.ACCEPTED, 2)
        event = _event(Topics.DOSSIER_STATUS, accepted)
        commands.names.clear()
        await notifier.on_change(from_status(event.id, accepted), event=event)
        spent = list(commands.names)
    mongo.close()
    await drop_databases(settings.mongodb_url, settings.mongodb_database)
    assert [line["event_id"] for line in sms_lines(settings)] == [receipt.id, event.id]
    print(f"round trips of one status change: {len(spent)} {dict(Counter(spent))}")
    assert len(spent) <= BUDGET, spent
