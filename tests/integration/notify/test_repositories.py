"""Notify's repositories on the real store: every field round-trips, the named queries return what they name,
claims are exclusive, and concurrent changes through two clients lose nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notify.adapters.repositories import (
    DeliveryRepository,
    MongoSubscriptions,
    NotificationRepository,
    ViewRepository,
)
from services.notify.domain.deliveries import Attempt
from services.notify.domain.notifications import Notification, NotificationStatus, SentDetails
from services.notify.domain.view import DossierView, StoredContact, TimelineEntry
from services.notify.settings import NotifySettings
from shared.store import make_mongo_client, service_database
from tests.support.service import drop_databases
from tests.unit.notify.builders import webhook_delivery

# the store keeps milliseconds: times with whole milliseconds round-trip exactly
T0 = datetime(2026, 11, 23, 2, 15, 0, 123000, tzinfo=UTC)
S = NotificationStatus


@dataclass
class Repos:
    """Two clients' repositories on one database (as two notify instances have)."""

    views: list[ViewRepository]
    notifications: list[NotificationRepository]
    deliveries: DeliveryRepository
    subscriptions: MongoSubscriptions


@pytest.fixture
async def repos(base_settings: dict[str, str], isolation: str) -> AsyncIterator[Repos]:
    settings = NotifySettings(**base_settings, mongodb_database=f"{isolation}_notify_repo")  # type: ignore[arg-type]
    clients = [make_mongo_client(settings) for _ in range(2)]
    dbs = [service_database(c, settings) for c in clients]
    repos = Repos(
        views=[ViewRepository(db) for db in dbs],
        notifications=[NotificationRepository(db) for db in dbs],
        deliveries=DeliveryRepository(dbs[0]),
        subscriptions=MongoSubscriptions(dbs[0]),
    )
    for repo in (repos.views[0], repos.notifications[0], repos.deliveries):
        await repo.ensure_indexes()
    yield repos
    for client in clients:
        client.close()
    await drop_databases(settings.mongodb_url, settings.mongodb_database)


def _view(dossier_id: str = "d-1", code: str = "00070.TTHCC-261123-0001") -> DossierView:
    return DossierView(
        id=dossier_id,
        code=code,
        created_at=T0,
        timeline=[
            TimelineEntry(event_id="e-1", kind="received", at=T0.isoformat(), status="received", office="Bộ phận"),
            TimelineEntry(
                event_id="e-2",
                kind="accepted",
                at=(T0 + timedelta(hours=1)).isoformat(),
                status="accepted",
                office="UBND",
                due_at=T0.isoformat(),
                reason="-",
                chain_step=1,
                chain_steps=2,
                office_code="00070.UBND",
                result_url="https://verify.example.vn/1",
            ),
        ],
        versions={"00070_UBND": 2},
        contact=StoredContact(locale="en", phone_enc="v1.x", phone_hash="h1", email_enc="v1.y", email_hash="h2"),
        preferences={"sms": True, "email": True, "app": False},
        token_sha256="0" * 64,
        result_url="https://verify.example.vn/1",
        procedure="Đăng ký khai sinh",
        release_pending=True,
    )


def _notification(notification_id: str = "e-2:sms", dossier_id: str = "d-1", **fields: Any) -> Notification:
    return Notification(
        id=notification_id,
        dossier_id=dossier_id,
        dossier_code="00070.TTHCC-261123-0001",
        event_id=notification_id.split(":")[0],
        channel=notification_id.split(":")[1],
        kind="accepted",
        context={"code": "00070.TTHCC-261123-0001", "office": "UBND"},
        template_version="abc123",
        created_at=T0,
        **fields,
    )


async def test_a_view_round_trips_every_field_and_is_found_by_code_and_release_mark(repos: Repos) -> None:
    views = repos.views[0]
    view = _view()
    assert await views.add(view, consumed="e-2")
    assert not await views.add(_view()), "one view per dossier"
    assert await views.get(view.id) == view
    assert await views.by_code(view.code) == view
    assert await views.by_code("NO-SUCH") is None
    quiet = _view("d-2", "00070.TTHCC-261123-0002")
    quiet.release_pending = False
    await views.add(quiet)
    assert [v.id for v in await views.to_release()] == ["d-1"]
    done = await views.change(view.id, lambda v: v.released())
    assert done.applied and await views.to_release() == []
    assert (await views.change(view.id, lambda v: v.released())).applied is False  # Unchanged: nothing to write


async def test_a_consumed_event_is_applied_once(repos: Repos) -> None:
    views = repos.views[0]
    await views.add(_view(), consumed="e-2")
    again = await views.change("d-1", lambda v: v.choose({"sms": False}), consumed="e-2")
    assert again.duplicate and not again.applied
    assert (await views.get("d-1")).preferences == {"sms": True, "email": True, "app": False}  # type: ignore[union-attr]


async def test_a_notification_round_trips_every_field_and_its_queries(repos: Repos) -> None:
    notifications = repos.notifications[0]
    sent = _notification(
        status=S.SENT,
        attempts=2,
        reference="ref-1",
        claimed_at=T0,
        provider="viettel",
        detail="ok",
        finished_at=T0,
        sent=SentDetails(T0, encoding="gsm7", segments=2, provider_message_id="m1", awaiting_receipt=True),
    )
    deferred = _notification("e-3:sms", status=S.DEFERRED, send_after=T0, deferred_for="quiet_hours", waiting_since=T0)
    other = _notification("e-9:email", dossier_id="d-9", status=S.WAITING_CONTACT, waiting_since=T0)
    for n in (sent, deferred, other):
        assert await notifications.add(n)
    assert not await notifications.add(_notification()), "one notification per change and channel"
    assert await notifications.get(sent.id) == sent
    assert await notifications.by_reference("ref-1") == sent
    assert await notifications.by_reference("nope") is None
    assert [n.id for n in await notifications.in_status(S.DEFERRED)] == [deferred.id]
    assert [n.id for n in await notifications.awaiting_receipt()] == [sent.id]
    assert [n.id for n in await notifications.pending_of("d-9", S.WAITING_CONTACT)] == [other.id]
    assert await notifications.pending_of("d-1", S.WAITING_CONTACT) == []
    assert sorted(n.id for n in await notifications.of_dossier("d-1")) == [sent.id, deferred.id]


async def test_a_finished_notification_stores_its_event_in_the_outbox(repos: Repos) -> None:
    notifications = repos.notifications[0]
    await notifications.add(_notification(status=S.SENDING, attempts=1))
    done = await notifications.change("e-2:sms", lambda n: n.finish(S.FAILED, T0, expected=frozenset({S.SENDING})))
    assert done.applied and [e.type for e in done.events] == ["vn.lienthong.notification.delivery.v1"]
    stored = await notifications.collection.find_one({"_id": "e-2:sms"})
    (entry,) = stored["outbox"].values()
    assert entry["event"]["data"]["status"] == "failed" and stored["outbox_pending"] == 1


async def test_two_instances_claiming_one_notification_start_one_send(repos: Repos) -> None:
    """The claim and the status guard inside the conditional write: of 2 × 10 racing senders, one sends."""
    await repos.notifications[0].add(_notification())

    async def take(repo: NotificationRepository) -> bool:
        if not await repo.claim("e-2:sms#1", T0, stale_before=T0 - timedelta(seconds=30)):
            return False
        done = await repo.change("e-2:sms", lambda n: n.start_sending(T0, attempt=1, reference="r"))
        return done.applied

    results = await asyncio.gather(*(take(r) for r in repos.notifications for _ in range(10)))
    assert results.count(True) == 1
    stored = await repos.notifications[1].get("e-2:sms")
    assert stored is not None and stored.status == S.SENDING and stored.attempts == 1


async def test_concurrent_view_changes_from_two_clients_lose_nothing(repos: Repos) -> None:
    """20 preference changes racing through two clients: each one's channel is kept."""
    await repos.views[0].add(_view())
    channels = [f"c{i}" for i in range(20)]
    await asyncio.gather(
        *(repos.views[i % 2].change("d-1", lambda v, c=c: v.choose({c: True})) for i, c in enumerate(channels))
    )
    stored = await repos.views[0].get("d-1")
    assert stored is not None and stored.preferences is not None
    assert set(channels) <= set(stored.preferences)


async def test_a_delivery_round_trips_and_its_queries(repos: Repos) -> None:
    deliveries = repos.deliveries
    due = webhook_delivery(
        T0,
        body={"id": "e-1", "data": {"dossier_code": "00070.TTHCC-261123-0001"}},
        attempts=1,
        resends=1,
        log=[Attempt(T0, 1, "HTTP 500")],
        last_outcome="HTTP 500",
    )
    later = webhook_delivery(
        T0 + timedelta(seconds=1), id="e-2:sub_a", event_id="e-2", next_attempt_at=T0 + timedelta(hours=1)
    )
    for d in (due, later):
        assert await deliveries.add(d)
    assert await deliveries.get(due.id) == due
    assert [d.id for d in await deliveries.due(T0 + timedelta(seconds=5))] == [due.id]
    assert [d.id for d in await deliveries.of_subscription("sub_a", None)] == [due.id, later.id]
    assert await deliveries.of_subscription("sub_a", "failed") == []


async def test_subscriptions_are_added_listed_and_deactivated(repos: Repos) -> None:
    subs = repos.subscriptions
    await subs.add({"_id": "sub_a", "url": "https://a.example.vn", "events": [], "secret": "s", "active": True})
    assert [s["_id"] for s in await subs.active()] == ["sub_a"]
    assert await subs.deactivate("sub_a", T0)
    assert not await subs.deactivate("sub_nope", T0)
    assert await subs.active() == []
    assert (await subs.get("sub_a") or {}).get("active") is False


async def test_the_active_subscriptions_are_cached_for_a_short_time_per_instance(repos: Repos) -> None:
    """Another instance's new subscription is seen once the cache time has passed; this instance's at once."""
    clock = [0.0]
    mine = MongoSubscriptions(repos.subscriptions.collection.database, cache_ttl=2.0, monotonic=lambda: clock[0])
    assert await mine.active() == []
    await repos.subscriptions.add({"_id": "sub_b", "url": "https://b.example.vn", "events": [], "active": True})
    clock[0] = 1.9
    assert await mine.active() == [], "within the cache time"
    clock[0] = 2.0
    assert [s["_id"] for s in await mine.active()] == ["sub_b"]
    await mine.deactivate("sub_b", T0)
    assert await mine.active() == [], "this instance's own change applies at once"
