"""Issue #11 on real Kafka and the store: an SMS that waited for the contact is sent although its releaser died."""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path
from typing import Any

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
from services.notify.bootstrap import bootstrap
from services.notify.domain.templates import TemplateSet
from services.notify.domain.view import from_received
from services.notify.handlers import Notifier
from services.notify.settings import NotifySettings
from shared.envelope import CloudEvent
from shared.events import DossierStatus
from shared.store import make_mongo_client, service_database
from shared.topics import Topics
from tests.integration.notify.test_notify import received, send, sms_lines, status
from tests.support.service import drop_databases, running
from tests.support.waiting import eventually


class Killed(BaseException):
    """kill -9 of the process, as far as the code that runs is concerned: nothing after it runs."""


class DiesAfterClaiming(NotificationRepository):
    """The real repository; the process holding it dies right after it took the claim of one notification."""

    def __init__(self, db: Any, doomed: str) -> None:
        super().__init__(db)
        self.doomed = doomed

    async def claim(self, claim_id: str, at: datetime, *, stale_before: datetime) -> bool:
        taken = await super().claim(claim_id, at, stale_before=stale_before)
        if taken and claim_id.startswith(self.doomed):
            raise Killed
        return taken


async def test_a_waiting_sms_is_sent_when_the_instance_releasing_it_dies(
    base_settings: dict[str, str], isolation: str, tmp_path: Path
) -> None:
    """Status before receipt: the SMS waits; the instance that stores the contact dies while releasing it.

    The receipt's redelivery reaches the other instance while the dead one's claim is still fresh, so that
    instance cannot send it then; the release is stored with the contact, so a later worker pass of that
    instance sends it once the claim is stale. The 30-s safety-net sweep is pushed out of reach
    (``sweep_interval``): without the stored release nothing sends the SMS (the test fails).
    """
    settings = NotifySettings(
        **base_settings,
        mongodb_database=f"{isolation}_notify",
        sms_outbox_path=str(tmp_path / "sms.jsonl"),
        worker_interval=0.1,
        sweep_interval=3600,
        claim_stale_after=3,
    )
    r = received()
    async with running(bootstrap(settings)):
        accepted = await send(settings, Topics.DOSSIER_STATUS, status(r, DossierStatus.ACCEPTED, 2))
        doomed = f"{accepted.id}:sms"
        mongo = make_mongo_client(settings)
        db = service_database(mongo, settings)
        notifications = DiesAfterClaiming(db, doomed)

        async def waiting() -> str | None:
            found = await notifications.get(doomed)
            return found.status.value if found else None

        await eventually(waiting, until=lambda s: s == "waiting_contact")
        receipt = CloudEvent(
            source="/lienthong/test",
            type=f"vn.lienthong.{Topics.DOSSIER_RECEIVED}",
            subject=r.dossier_code,
            data=r.model_dump(mode="json"),
        )
        async with httpx.AsyncClient() as http:
            other = Notifier(
                views=ViewRepository(db),
                notifications=notifications,
                deliveries=DeliveryRepository(db),
                subscriptions=MongoSubscriptions(db),
                templates=TemplateSet().build(),
                sms=build_sender(
                    settings.sms_providers, outbox_path=settings.sms_outbox_path, cooldown=60, client=http
                ),
                email=None,
                webhook_client=HttpWebhookClient(http, timeout=5, production=False, allowed_networks=()),
                live=LiveUpdates(),
                settings=settings,
            )
            with contextlib.suppress(Killed):
                # the contact is stored, the receipt's own SMS sent, the waiting one claimed: then the crash
                # (with the stored release the live instance's worker may even send it before this one gets to it)
                await other.on_change(from_received(receipt.id, r), event=receipt)
        # the dead instance never committed the receipt's offset: Kafka redelivers it to the live instance
        await send(settings, Topics.DOSSIER_RECEIVED, r, event=receipt)

        async def sms() -> list[str]:
            return [line["event_id"] for line in sms_lines(settings)]

        sent = await eventually(sms, until=lambda ids: accepted.id in ids, timeout=30)
        assert sorted(sent) == sorted([receipt.id, accepted.id]), "one SMS per change, none lost, none doubled"
        mongo.close()
    await drop_databases(settings.mongodb_url, settings.mongodb_database)
