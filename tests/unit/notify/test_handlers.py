"""Notify's use cases against in-memory fakes: one message per change per channel, waiting, retries, webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta
from typing import Any

import pytest

from services.notify.adapters.sms import Accepted, FailoverSender, SmsError, SmsMessage
from services.notify.domain import webhooks
from services.notify.domain.notifications import NotificationStatus
from services.notify.domain.templates import TemplateSet
from services.notify.domain.view import from_received, from_routed, from_status
from services.notify.handlers import Notifier
from services.notify.settings import NotifySettings
from shared.aggregate import Unchanged
from shared.events import DossierReceived, DossierRouted, DossierStatusChanged, ResultDocument
from tests.unit.notify.builders import (
    PHONE,
    RECEIVED,
    ROUTED,
    STATUS,
    TOKEN,
    cloud_event,
    received,
    routed,
    status_changed,
)
from tests.unit.notify.fakes import (
    Clock,
    FakeEmail,
    FakeLive,
    FakeProvider,
    FakeSms,
    FakeWebhooks,
    InMemoryDeliveries,
    InMemoryNotifications,
    InMemorySubscriptions,
    InMemoryViews,
)

TEMPLATES = TemplateSet().build()


class World:
    """A notifier wired to fakes, with helpers to feed it events."""

    def __init__(
        self,
        *,
        sms: FakeSms | None = None,
        webhook_plan: list[int] | None = None,
        outcomes: Any = None,
        **settings: Any,
    ) -> None:
        self.views, self.sms, self.email = InMemoryViews(), sms or FakeSms(), FakeEmail()
        self.webhooks, self.live, self.clock = FakeWebhooks(webhook_plan), FakeLive(), Clock()
        self.notifications, self.deliveries = InMemoryNotifications(), InMemoryDeliveries()
        self.notifier = Notifier(
            views=self.views,
            notifications=self.notifications,
            deliveries=self.deliveries,
            subscriptions=InMemorySubscriptions(),
            templates=TEMPLATES,
            sms=self.sms,
            email=self.email,
            webhook_client=self.webhooks,
            live=self.live,
            settings=NotifySettings(**settings),
            clock=self.clock,
            outcomes=outcomes,
        )

    async def feed(self, data: Any, *, event_id: str | None = None) -> str:
        topic, convert = {
            DossierReceived: (RECEIVED, from_received),
            DossierRouted: (ROUTED, from_routed),
            DossierStatusChanged: (STATUS, from_status),
        }[type(data)]
        event = cloud_event(topic, data, event_id=event_id)
        await self.notifier.on_change(convert(event.id, data), event=event)  # type: ignore[operator]
        return event.id

    def statuses(self) -> dict[str, str]:
        return {n.id: n.status.value for n in self.notifications.items.values()}

    def published(self) -> list[dict[str, Any]]:
        """Every delivery event recorded (notifications and webhook deliveries), by time."""
        events = [e.data for e in (*self.notifications.published, *self.deliveries.published)]
        return sorted(events, key=lambda e: e["occurred_at"])


async def test_a_status_event_delivered_three_times_sends_one_sms() -> None:
    """Redeliveries of one event add nothing to the timeline and send nothing more; the outcome is published once."""
    w = World()
    r = received()
    await w.feed(r)
    change = status_changed(r, "accepted", 2)
    event_id = await w.feed(change)
    await w.feed(change, event_id=event_id)
    await w.feed(change, event_id=event_id)
    assert [m.event_id for m in w.sms.sent][1:] == [event_id]
    assert len(w.sms.sent) == 2 and all(m.to == PHONE and r.dossier_code in m.text for m in w.sms.sent)
    view = await w.notifier.view(r.dossier_id)
    assert view is not None and [e["kind"] for e in view["timeline"]] == ["received", "accepted"]
    assert [(e["channel"], e["status"]) for e in w.published()] == [("sms", "sent"), ("sms", "sent")]
    assert len(w.live.pushed) == 2


async def test_a_change_before_the_receipt_waits_for_the_contact_and_is_sent_once() -> None:
    """Topics are not ordered between each other: a status change first waits, then goes out when the contact comes."""
    w = World()
    r = received()
    await w.feed(status_changed(r, "accepted", 2))
    assert not w.sms.sent and set(w.statuses().values()) == {"waiting_contact"}
    await w.feed(r)
    assert len(w.sms.sent) == 2
    kinds = sorted(n.kind for n in w.notifications.items.values() if n.status == "sent")
    assert kinds == ["accepted", "received"]
    # the waiting e-mail was created before the preferences were known: the citizen did not choose e-mail
    email = next(n for n in w.notifications.items.values() if n.channel == "email")
    assert email.status == "suppressed" and email.detail is not None and "not chosen email" in email.detail
    await w.notifier.run_workers()
    assert len(w.sms.sent) == 2


async def test_a_change_stored_while_the_contact_comes_is_sent_after_the_receipt_message() -> None:
    """The routed consumer wrote its view without the contact; the receipt's consumer wrote the contact before
    the routed one stored its message: that message is left to the receipt's consumer, which sends its own
    first, so the citizen reads "received" before "parked"."""
    w = World()
    r = received()
    receipt = cloud_event(RECEIVED, r)
    add = w.notifications.add

    async def contact_written_meanwhile(notification: Any, **kwargs: Any) -> bool:
        stored = await add(notification, **kwargs)
        if notification.channel == "sms":  # the receipt's consumer is between its view write and its message
            await w.notifier._record(from_received(receipt.id, r))
        return stored

    w.notifications.add = contact_written_meanwhile  # type: ignore[method-assign]
    parked_id = await w.feed(routed(r, parked=True))
    assert not w.sms.sent  # left to the receipt's consumer
    w.notifications.add = add  # type: ignore[method-assign]
    await w.notifier.on_change(from_received(receipt.id, r), event=receipt)  # that consumer goes on
    assert [m.event_id for m in w.sms.sent] == [receipt.id, parked_id]
    view = await w.views.get(r.dossier_id)
    assert view is not None and not view.release_pending


async def test_a_worker_pass_leaves_the_late_messages_while_the_receipt_message_is_not_stored() -> None:
    """A worker pass between the receipt's view write and its message's insert sends nothing of that dossier;
    once the receipt message is stored it releases the late ones after it, in timeline order."""
    w = World()
    r = received()
    await w.feed(status_changed(r, "accepted", 2))
    await w.feed(status_changed(r, "returned", 3))
    add = w.notifications.add

    async def worker_pass_first(notification: Any, **kwargs: Any) -> bool:
        if notification.kind == "received":
            await w.notifier.run_workers()
            assert not w.sms.sent  # held: the receipt message is not stored yet
        return await add(notification, **kwargs)

    w.notifications.add = worker_pass_first  # type: ignore[method-assign]
    await w.feed(r)
    kinds = [next(n.kind for n in w.notifications.items.values() if n.event_id == m.event_id) for m in w.sms.sent]
    assert kinds == ["received", "accepted", "returned"]


async def test_preferences_choose_the_channels() -> None:
    """E-mail only: no SMS at all, one e-mail per change with the code in the subject."""
    w = World()
    r = received(notify={"sms": False, "email": True, "app": True})
    await w.feed(r)
    await w.feed(status_changed(r, "refused", 2, action="reject", reason="Thiếu giấy chứng sinh"))
    assert not w.sms.sent
    assert [m["to"] for m in w.email.sent] == ["binh@example.vn"] * 2
    assert r.dossier_code in w.email.sent[1]["subject"] and "Thiếu giấy chứng sinh" in w.email.sent[1]["text"]


async def test_opting_out_suppresses_a_deferred_sms() -> None:
    """A citizen who opts out of SMS during quiet hours never gets the deferred message."""
    w = World(quiet_hours="21:00-07:00")
    w.clock.advance(hours=13)  # 23:00 in Vietnam
    r = received()
    await w.feed(r)
    assert not w.sms.sent and set(w.statuses().values()) == {"deferred"}
    await w.notifier.set_preferences(r.dossier_id, {"sms": False})
    w.clock.advance(hours=9)
    await w.notifier.run_workers()
    assert not w.sms.sent and set(w.statuses().values()) == {"suppressed"}


async def test_quiet_hours_defer_sms_until_the_window_ends() -> None:
    """At 23:00 the SMS waits; at 07:00 it goes out, once."""
    w = World(quiet_hours="21:00-07:00")
    w.clock.advance(hours=13)  # 23:00 in Vietnam
    r = received()
    await w.feed(r)
    await w.notifier.run_workers()
    assert not w.sms.sent
    w.clock.advance(hours=7, minutes=59)  # 06:59
    await w.notifier.run_workers()
    assert not w.sms.sent
    w.clock.advance(minutes=1)
    await w.notifier.run_workers()
    await w.notifier.run_workers()
    assert len(w.sms.sent) == 1


async def test_when_every_provider_fails_the_sms_is_retried_by_the_table_then_failed() -> None:
    """All providers down: deferred 30 s, then 120 s, then failed for good — one failure event, no duplicates."""
    sms = FakeSms()
    sms.failing = True
    w = World(sms=sms, send_retry_backoff=[30, 120])
    r = received()
    await w.feed(r)
    assert set(w.statuses().values()) == {"deferred"}
    w.clock.advance(seconds=30)
    await w.notifier.run_workers()
    assert set(w.statuses().values()) == {"deferred"}
    w.clock.advance(seconds=120)
    await w.notifier.run_workers()
    assert set(w.statuses().values()) == {"failed"}
    assert [(e["status"], e["attempts"]) for e in w.published()] == [("failed", 3)]


async def test_a_provider_recovering_before_the_retry_sends_once() -> None:
    """A retry after a failed attempt sends the message exactly once."""
    sms = FakeSms()
    sms.failing = True
    w = World(sms=sms)
    r = received()
    await w.feed(r)
    sms.failing = False
    w.clock.advance(seconds=30)
    await w.notifier.run_workers()
    await w.notifier.run_workers()
    assert len(sms.sent) == 1 and [e["status"] for e in w.published()] == ["sent"]


async def test_receipt_marks_delivery_and_a_late_one_is_refused() -> None:
    """With receipts the SMS is 'sent' awaiting one; the receipt (by the random reference the gateway got) makes
    it delivered; a second receipt, and one naming the guessable ``<event_id>:sms``, are refused."""
    w = World(sms=FakeSms(receipts=True))
    r = received()
    await w.feed(r)
    (notification_id,) = w.statuses()
    (message,) = w.sms.sent
    assert len(message.reference) >= 32 and message.event_id not in message.reference
    assert not await w.notifier.on_receipt(notification_id, delivered=True)  # the old, guessable id
    assert await w.notifier.on_receipt(message.reference, delivered=True)
    assert not await w.notifier.on_receipt(message.reference, delivered=False)
    assert not await w.notifier.on_receipt("no-such-id", delivered=True)
    assert [e["status"] for e in w.published()] == ["sent", "delivered"]


async def test_no_receipt_in_time_marks_the_sms_failed() -> None:
    """A message still awaiting its receipt after the time-out is marked failed by the sweeper."""
    w = World(sms=FakeSms(receipts=True), receipt_timeout=600, sweep_interval=30)
    await w.feed(received())
    w.clock.advance(seconds=599)
    await w.notifier.run_workers()
    assert set(w.statuses().values()) == {"sent"}
    w.clock.advance(seconds=31)  # the next sweep
    await w.notifier.run_workers()
    assert set(w.statuses().values()) == {"failed"}
    assert w.published()[-1]["detail"] == "no delivery receipt in time"


async def test_a_send_interrupted_by_a_crash_is_sent_again_with_the_same_idempotency_key() -> None:
    """A notification left 'sending' (the process died mid-send) is re-sent after the time-out with the same
    reference (the provider's idempotency key), not dropped and not a second message to the provider."""
    w = World(sending_timeout=60, send_retry_backoff=[30.0])
    r = received()
    await w.feed(r)
    (notification_id,) = w.statuses()
    first = w.sms.sent[0].reference
    crashed = w.notifications.items[notification_id]
    crashed.status, crashed.claimed_at = NotificationStatus.SENDING, w.clock.now
    w.clock.advance(seconds=61)
    await w.feed(r, event_id=crashed.event_id)  # redelivery after restart
    assert len(w.sms.sent) == 1  # still 'sending': the redelivery does not send
    await w.notifier.run_workers()
    assert w.statuses()[notification_id] == "deferred"
    w.clock.advance(seconds=31)
    await w.notifier.run_workers()
    assert w.statuses()[notification_id] == "sent"
    assert [m.reference for m in w.sms.sent] == [first, first]


async def test_shutdown_lets_a_send_under_way_finish_and_starts_no_new_one() -> None:
    """A send in progress when the process stops is finished (drained), even though its caller is cancelled."""
    gate = asyncio.Event()

    class SlowSms(FakeSms):
        async def send(self, message: SmsMessage) -> Accepted:
            await gate.wait()
            return await super().send(message)

    w = World(sms=SlowSms())
    feeding = asyncio.create_task(w.feed(received()))
    await asyncio.sleep(0.01)
    (notification_id,) = w.statuses()
    assert w.statuses()[notification_id] == "sending"
    feeding.cancel()  # the consumer is stopped mid-send
    drain = asyncio.create_task(w.notifier.drain())
    await asyncio.sleep(0.01)
    gate.set()
    await drain
    assert w.statuses()[notification_id] == "sent" and len(w.sms.sent) == 1
    r2 = received()
    await w.feed(r2)  # after the drain: nothing new is claimed
    assert sorted(w.statuses().values()) == ["created", "sent"]


async def test_a_send_that_does_not_finish_in_the_grace_time_is_handed_back() -> None:
    """Past NOTIFY_SHUTDOWN_GRACE the send is cancelled and handed back as deferred (sent again later)."""

    class StuckSms(FakeSms):
        async def send(self, message: SmsMessage) -> Accepted:
            await asyncio.Event().wait()
            raise AssertionError("never")

    w = World(sms=StuckSms(), shutdown_grace=0.05)
    feeding = asyncio.create_task(w.feed(received()))
    await asyncio.sleep(0.01)
    await w.notifier.drain()
    feeding.cancel()
    (status,) = w.statuses().values()
    assert status == "deferred"
    (handed_back,) = w.notifications.items.values()
    assert handed_back.deferred_for == "shutdown" and handed_back.reference


async def test_an_older_case_version_is_ignored() -> None:
    """A status event older than one already applied (same office) changes nothing and sends nothing."""
    w = World()
    r = received()
    await w.feed(r)
    await w.feed(status_changed(r, "in_process", 3, action="process"))
    await w.feed(status_changed(r, "accepted", 2))
    view = await w.notifier.view(r.dossier_id)
    assert view is not None and [e["kind"] for e in view["timeline"]] == ["received", "in_process"]
    assert len(w.sms.sent) == 2
    await w.feed(status_changed(r, "in_process", 1, office_code="00070.CA"))  # another office's own numbering
    assert len(w.sms.sent) == 3


async def test_tracking_needs_the_token() -> None:
    """The right token finds the dossier; a wrong token and an unknown code find nothing."""
    w = World()
    r = received()
    await w.feed(r)
    assert (await w.notifier.tracked(r.dossier_code, TOKEN)) is not None
    assert (await w.notifier.tracked(r.dossier_code, "wrong-token")) is None
    assert (await w.notifier.tracked("NO-SUCH", TOKEN)) is None


async def test_webhook_failing_twice_then_succeeding_is_delivered_once_on_the_table() -> None:
    """Attempts follow the backoff table (10 s, 30 s); the third succeeds; signed; one delivery event."""
    w = World(webhook_plan=[500, 503])
    sub = await w.notifier.subscribe(url="https://app.example.vn/hook", events=[], secret="s" * 20)
    r = received()
    await w.feed(r)
    await w.notifier.run_workers()
    w.clock.advance(seconds=9)
    await w.notifier.run_workers()
    assert [c["status"] for c in w.webhooks.calls] == [500]
    w.clock.advance(seconds=1)
    await w.notifier.run_workers()
    w.clock.advance(seconds=30)
    await w.notifier.run_workers()
    w.clock.advance(seconds=3600)
    await w.notifier.run_workers()
    assert [c["status"] for c in w.webhooks.calls] == [500, 503, 200]
    last = w.webhooks.calls[-1]
    assert webhooks.verify(sub["secret"], last["headers"]["X-LienThong-Signature"], last["body"])
    body = json.loads(last["body"])
    assert body["data"]["dossier_code"] == r.dossier_code and "contact" not in body["data"]
    hooks = [e for e in w.published() if e["channel"] == "webhook"]
    assert [(e["status"], e["attempts"]) for e in hooks] == [("delivered", 3)]


async def test_a_permanently_failed_webhook_can_be_resent() -> None:
    """After the table is spent the delivery fails; an operator re-send delivers it."""
    w = World(webhook_plan=[500, 500, 500], webhook_backoff=[1, 1])
    sub = await w.notifier.subscribe(url="https://app.example.vn/hook", events=[], secret=None)
    await w.feed(received())
    for _ in range(3):
        await w.notifier.run_workers()
        w.clock.advance(seconds=1)
    (delivery,) = await w.deliveries.of_subscription(sub["_id"], "failed")
    assert delivery.attempts == 3
    assert await w.notifier.resend("another-subscription", delivery.id) is None
    assert await w.notifier.resend(sub["_id"], delivery.id) is not None
    await w.notifier.run_workers()
    assert [c["status"] for c in w.webhooks.calls] == [500, 500, 500, 200]
    assert [e["status"] for e in w.published() if e["channel"] == "webhook"] == ["failed", "delivered"]


async def test_webhooks_respect_event_filters_and_app_opt_out() -> None:
    """A subscription gets only its event types; a citizen who opted out of app updates is not pushed."""
    w = World()
    await w.notifier.subscribe(url="https://a.example.vn/h", events=["vn.lienthong.dossier.status.v1"], secret=None)
    r = received()
    await w.feed(r)
    await w.feed(status_changed(r, "accepted", 2))
    assert len(w.deliveries.items) == 1
    assert all(d.body["type"].endswith("status.v1") for d in w.deliveries.items.values())
    quiet = received(notify={"sms": True, "email": False, "app": False})
    await w.feed(quiet)
    await w.feed(status_changed(quiet, "accepted", 2))
    assert not [d for d in w.deliveries.items.values() if d.dossier_id == quiet.dossier_id]


async def test_an_unbuilt_template_set_is_refused() -> None:
    """The notifier only runs with a template set that passed its build."""
    with pytest.raises(ValueError, match="build the template set"):
        Notifier(
            views=InMemoryViews(),
            notifications=InMemoryNotifications(),
            deliveries=InMemoryDeliveries(),
            subscriptions=InMemorySubscriptions(),
            templates=TemplateSet(),
            sms=FakeSms(),
            email=None,
            webhook_client=FakeWebhooks(),
            live=FakeLive(),
            settings=NotifySettings(),
        )


def _message() -> SmsMessage:
    return SmsMessage(to=PHONE, text="t", dossier_code="c", event_id="e", notification_id="n")


async def test_failover_demotes_a_failing_provider_for_the_cool_down() -> None:
    """Primary fails → secondary sends; the primary stays demoted for the cool-down, then is first again."""
    now = [0.0]
    primary, secondary = FakeProvider("primary", 1), FakeProvider("secondary", 2)
    sender = FailoverSender([secondary, primary], cooldown=60, monotonic=lambda: now[0])
    primary.failing = True
    assert (await sender.send(_message())).provider == "secondary"
    primary.failing = False
    now[0] = 59
    assert (await sender.send(_message())).provider == "secondary" and sender.demoted() == ["primary"]
    now[0] = 61
    assert (await sender.send(_message())).provider == "primary" and sender.demoted() == []
    primary.failing = secondary.failing = True
    with pytest.raises(SmsError, match="primary: HTTP 503; secondary: HTTP 503"):
        await sender.send(_message())


def test_a_bad_template_stops_the_service_from_being_built() -> None:
    """bootstrap() builds the template set: a bad variable fails there, before anything is sent."""
    import jinja2

    from services.notify.bootstrap import bootstrap
    from services.notify.domain.templates import TemplateBuildError

    broken = TemplateSet(loader=jinja2.DictLoader({"vi/received.sms.j2": "{{ code }} {{ citizen_name }}"}))
    with pytest.raises(TemplateBuildError, match="citizen_name"):
        bootstrap(NotifySettings(), templates=broken)


async def test_a_claim_left_by_a_store_outage_is_taken_over_and_the_sms_sent_once() -> None:
    """A message that waited for the contact is claimed on release; the store fails right after the claim: the
    redelivery finds the claim fresh and waits, the sweeper takes the stale claim, one SMS of that change."""
    from pymongo.errors import AutoReconnect

    w = World(claim_stale_after=30)
    r = received()
    accepted = await w.feed(status_changed(r, "accepted", 2))  # before the receipt: it waits for the contact
    real_change = w.notifications.change
    outage = [True]

    async def flaky(notification_id: str, fn: Any, *, consumed: str | None = None) -> Any:
        probe = await w.notifications.get(notification_id)
        if outage[0] and probe is not None and probe.claimable:
            with contextlib.suppress(Unchanged):
                fn(probe)
            if probe.status == NotificationStatus.SENDING:  # the write that would store 'sending'
                outage[0] = False
                raise AutoReconnect("ferretdb restarting")
        return await real_change(notification_id, fn, consumed=consumed)

    w.notifications.change = flaky  # type: ignore[method-assign]
    with pytest.raises(AutoReconnect):
        await w.feed(r, event_id="e-1")
    await w.feed(r, event_id="e-1")  # Kafka redelivers: the claim is fresh, nobody knows if it is in use
    assert [m.event_id for m in w.sms.sent] == ["e-1"] and w.statuses()[f"{accepted}:sms"] == "waiting_contact"
    w.clock.advance(seconds=31)
    await w.notifier.run_workers()
    await w.notifier.run_workers()
    assert [m.event_id for m in w.sms.sent] == ["e-1", accepted] and w.statuses()[f"{accepted}:sms"] == "sent"


async def test_a_new_message_is_stored_claimed_in_one_insert_and_an_outage_there_loses_nothing() -> None:
    """With the contact known, the message is inserted already 'sending' (attempt 1, its reference set): no
    separate claim; a store outage on that insert stores nothing, and the redelivery sends it once."""
    from pymongo.errors import AutoReconnect

    w = World()
    real_add = w.notifications.add
    seen: list[tuple[str, int, bool]] = []

    async def failing_once(notification: Any, **kwargs: Any) -> bool:
        seen.append((notification.status.value, notification.attempts, bool(notification.reference)))
        if len(seen) == 1:
            raise AutoReconnect("ferretdb restarting")
        return await real_add(notification, **kwargs)

    w.notifications.add = failing_once  # type: ignore[method-assign]
    r = received()
    with pytest.raises(AutoReconnect):
        await w.feed(r, event_id="e-1")
    assert not w.sms.sent and not w.notifications.items
    await w.feed(r, event_id="e-1")
    assert seen == [("sending", 1, True), ("sending", 1, True)]
    assert len(w.sms.sent) == 1 and w.statuses() == {"e-1:sms": "sent"} and not w.notifications.claims


async def test_worker_passes_scan_only_when_work_can_exist() -> None:
    """Between sweeps, with nothing deferred, no receipts and no subscribers, a pass reads no notifications."""
    w = World(sweep_interval=30, quiet_hours="21:00-07:00")
    scans: list[str] = []
    real = w.notifications.in_status

    async def counted(status: NotificationStatus, **kwargs: Any) -> list[Any]:
        scans.append(status)
        return await real(status, **kwargs)

    w.notifications.in_status = counted  # type: ignore[method-assign]
    await w.feed(received())
    await w.notifier.run_workers()  # the first pass is a sweep
    assert "deferred" in scans and "sending" in scans
    scans.clear()
    w.clock.advance(seconds=10)
    await w.notifier.run_workers()
    assert scans == []
    w.clock.advance(hours=12)  # 22:00 in Vietnam: the next SMS is deferred to 07:00
    await w.feed(received())
    w.clock.advance(seconds=1)
    await w.notifier.run_workers()  # a sweep (more than 30 s passed): nothing due yet
    scans.clear()
    w.clock.advance(seconds=10)
    await w.notifier.run_workers()
    assert scans == [] and len(w.sms.sent) == 1
    w.clock.advance(hours=9)  # 07:00: this process knows a deferred SMS is due
    w.notifier._next_sweep = w.clock.now + timedelta(hours=1)  # rule out the sweep as the reason
    await w.notifier.run_workers()
    assert scans == ["deferred"] and len(w.sms.sent) == 2


async def test_the_result_link_reaches_the_result_and_return_messages_and_the_timeline_names_offices() -> None:
    """The signed result's verification link from the result-ready event is in that SMS and, kept on the dossier,
    in the later return SMS; timeline entries show the office's name and keep its code aside."""
    w = World()
    r = received()
    link = "http://127.0.0.1:8003/verify?id=1f0c2a9e-3b7d-4c55-9d0e-6a1b2c3d4e5f"
    result = ResultDocument(
        document_id="1f0c", sha256="0" * 64, signature="s", signed_by_office="00070.UBND", verify_url=link
    )
    await w.feed(r)
    await w.feed(status_changed(r, "accepted", 2))
    ready = await w.feed(status_changed(r, "result_ready", 3, action="approve", result=result))
    back = await w.feed(status_changed(r, "returned", 4, action="return"))
    texts = {m.event_id: m.text for m in w.sms.sent}
    assert link in texts[ready] and link in texts[back]
    assert all(link not in text for event_id, text in texts.items() if event_id not in (ready, back))
    view = await w.notifier.view(r.dossier_id)
    assert view is not None and view["result_url"] == link
    accepted = view["timeline"][1]
    assert accepted["office"] == "Ủy ban nhân dân Phường Hoàn Kiếm" and accepted["office_code"] == "00070.UBND"


async def test_file_provider_writes_one_line_per_idempotency_key(tmp_path: Any) -> None:
    """The development provider honours the idempotency key, also across a restart (it re-reads its file)."""
    from services.notify.adapters.sms import FileSmsProvider

    path = tmp_path / "outbox.jsonl"
    message = SmsMessage(to=PHONE, text="t", dossier_code="c", event_id="e", notification_id="n", reference="r1")
    await FileSmsProvider("file", 1, str(path)).send(message)
    await FileSmsProvider("file", 1, str(path)).send(message)  # a new process re-sends after a crash
    provider = FileSmsProvider("file", 1, str(path))
    await provider.send(
        SmsMessage(to=PHONE, text="t", dossier_code="c", event_id="e2", notification_id="n2", reference="r2")
    )
    await provider.send(message)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["idempotency_key"] for line in lines] == ["r1", "r2"]


async def test_a_sealed_contact_is_opened_and_kept_encrypted() -> None:
    """Intake seals the contact for notify: notify sends to the phone, but its store holds only ciphertext
    and keyed hashes; the old clear contact of earlier events is kept encrypted the same way."""
    w = World()
    sealing = w.notifier.pii.contact
    r = received(contact={"sealed": sealing.seal({"phone": PHONE, "email": None}), "phone_hash": "h", "locale": "vi"})
    await w.feed(r)
    assert [m.to for m in w.sms.sent] == [PHONE]
    stored = w.views.items[r.dossier_id].contact
    assert PHONE not in str(w.views.items) and PHONE not in str(w.notifications.items)
    assert stored is not None and stored.phone_hash == w.notifier.pii.hash(PHONE)
    assert stored.phone_enc is not None and stored.phone_enc.startswith("v1.")
    old_style = received()  # phone in clear, as events before sealing carried it
    await w.feed(old_style)
    assert PHONE not in str(w.views.items) and len(w.sms.sent) == 2
