"""Notify use cases: keep the citizen's timeline, send one message per change per channel, webhooks, receipts."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from services.notify.domain import webhooks
from services.notify.domain.deliveries import WebhookDelivery
from services.notify.domain.notifications import (
    AWAITING_RELEASE,
    CLAIMABLE,
    DEFAULT_PREFERENCES,
    MESSAGE_CHANNELS,
    Notification,
    NotificationStatus,
    SentDetails,
    backoff_delay,
    releasable,
    stuck,
    wants,
)
from services.notify.domain.ports import (
    DossierViews,
    EmailSender,
    LiveFeed,
    Notifications,
    OutcomeCounter,
    SmsMessage,
    SmsSender,
    Subscriptions,
    WebhookClient,
    WebhookDeliveries,
)
from services.notify.domain.quiet_hours import resume_at
from services.notify.domain.templates import TemplateSet, fold_to_ascii, segments
from services.notify.domain.view import Change, DossierView, StoredContact
from services.notify.settings import NotifySettings
from shared.aggregate import Outcome
from shared.aio import wait_event
from shared.envelope import CloudEvent
from shared.logging import get_logger
from shared.pii import PersonalDataKeys

log = get_logger(__name__)

S = NotificationStatus


def utcnow() -> datetime:
    """The current time (UTC); tests pass their own clock."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Step:
    """A notification's next step: wait for the contact, suppress, defer, send, or leave it (shutting down)."""

    kind: Literal["wait", "suppress", "defer", "send", "leave"]
    detail: str | None = None
    resume: datetime | None = None
    contact: dict[str, Any] | None = None
    address: str = ""


def token_matches(view: DossierView | None, token: str) -> bool:
    """Constant-time check of a citizen's tracking token against the stored SHA-256."""
    expected = (view.token_sha256 if view is not None else None) or "0" * 64
    given = hashlib.sha256(token.encode()).hexdigest()
    return hmac.compare_digest(given, expected) and view is not None


class Notifier:
    """Notify's use cases, over its repositories (ports), senders and live feed."""

    def __init__(
        self,
        *,
        views: DossierViews,
        notifications: Notifications,
        deliveries: WebhookDeliveries,
        subscriptions: Subscriptions,
        templates: TemplateSet,
        sms: SmsSender,
        email: EmailSender | None,
        webhook_client: WebhookClient,
        live: LiveFeed,
        settings: NotifySettings,
        clock: Callable[[], datetime] = utcnow,
        outcomes: OutcomeCounter | None = None,
    ) -> None:
        if not templates.built:
            raise ValueError("build the template set first (TemplateSet().build()) so bad templates stop start-up")
        self.views, self.notifications, self.deliveries = views, notifications, deliveries
        self.subscriptions, self.templates, self.sms, self.email = subscriptions, templates, sms, email
        self.webhook_client, self.live, self.settings, self.clock = webhook_client, live, settings, clock
        self._outcomes = outcomes
        self.wake = asyncio.Event()
        # scans read whole collections on FerretDB: run them only when work can exist (see run_workers)
        self._next_sweep = datetime.min.replace(tzinfo=UTC)
        self._next_deferred: datetime | None = None
        self._receipts_possible = any(p.receipts for p in settings.sms_providers)
        self.pii = PersonalDataKeys.from_settings(settings)
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def drain(self) -> None:
        """Shutdown: start no new send, let those under way finish, hand back what does not finish in time."""
        self._stopping = True
        pending = set(self._inflight)
        if not pending:
            return
        log.info("notify_draining", sends=len(pending))
        _, late = await asyncio.wait(pending, timeout=self.settings.shutdown_grace)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=5)

    # -- consuming dossier events ----------------------------------------------------------------
    async def on_change(self, change: Change, *, event: CloudEvent) -> None:
        """Record the change on the timeline once, then notify each channel once (redeliveries send nothing)."""
        dossier = await self._record(change)
        if dossier is None:
            return  # stale: a newer version of this office's case is already known
        await self._notify(dossier, change)
        await self._queue_webhooks(dossier, event)
        if dossier.release_pending:
            await self.release(change.dossier_id)

    async def release(self, dossier_id: str) -> None:
        """Send what waited for the contact; the view's mark is cleared only once nothing of it waits any more.

        The mark is set in the same write that stores the contact, so the release survives the death of the
        process that stored it: any instance's worker pass (``run_workers``) or a redelivery picks it up.
        Sends are claimed, so two instances releasing one dossier at once send each message once.
        """
        view = await self.views.get(dossier_id)
        if view is None:
            return
        for waiting in releasable(view, await self.notifications.of_dossier(dossier_id)):
            await self.send(waiting.id)
        if any(n.status in AWAITING_RELEASE for n in await self.notifications.of_dossier(dossier_id)):
            return  # claimed elsewhere (or by a process that died: stale after NOTIFY_CLAIM_STALE_AFTER): next pass
        await self.views.change(dossier_id, lambda view: view.released())

    async def _record(self, change: Change) -> DossierView | None:
        """Apply the change to the dossier view once (the consumed window), guarded by the case version."""
        contact = self._contact_at_rest(change.contact) if change.contact is not None else None
        done = await self.views.change(change.dossier_id, lambda v: v.apply(change, contact), consumed=change.event_id)
        if done.aggregate is None:  # the dossier's first event here
            view = DossierView(id=change.dossier_id, code=change.code, created_at=self.clock())
            view.apply(change, contact)
            if await self.views.add(view, consumed=change.event_id):
                done = Outcome(view, applied=True)
            else:  # a concurrent first event created it
                done = await self.views.change(
                    change.dossier_id, lambda v: v.apply(change, contact), consumed=change.event_id
                )
        if done.applied:
            self.live.publish(change.dossier_id, change.timeline_entry().as_dict())
            log.info("timeline_recorded", dossier_code=change.code, kind=change.kind, event_id=change.event_id)
            return done.aggregate
        if not done.duplicate:
            log.info("event_stale", dossier_code=change.code, event_id=change.event_id, version=change.version)
            return None
        # a redelivery: carry on idempotently, a crash may have stopped the first run before sending
        return done.aggregate

    def _contact_at_rest(self, contact: dict[str, Any]) -> StoredContact:
        """Open the contact sealed for notify in the receipt event; keep it encrypted with notify's own key."""
        clear = {"phone": contact.get("phone"), "email": contact.get("email")}  # events before sealing
        if contact.get("sealed"):
            clear = self.pii.contact.open(contact["sealed"])
        stored: dict[str, Any] = {"locale": contact.get("locale") or "vi"}
        for name in ("phone", "email"):
            if clear.get(name):
                stored[f"{name}_enc"] = self.pii.at_rest.encrypt(str(clear[name]))
                stored[f"{name}_hash"] = self.pii.hash(str(clear[name]))
        return StoredContact(**stored)

    def _contact_in_clear(self, stored: StoredContact) -> dict[str, Any]:
        """Phone and e-mail decrypted, only at the moment of sending."""
        clear: dict[str, Any] = {"locale": stored.locale or "vi"}
        for name, encrypted, legacy in (
            ("phone", stored.phone_enc, stored.phone),
            ("email", stored.email_enc, stored.email),
        ):
            if encrypted is not None:
                clear[name] = self.pii.at_rest.decrypt(encrypted)
            elif legacy:  # a view stored before encryption at rest
                clear[name] = legacy
        return clear

    async def _notify(self, dossier: DossierView, change: Change) -> None:
        contact_known = dossier.contact is not None
        context = dict(change.context)
        if not context.get("result_url") and dossier.result_url:
            # the return message links the result signed earlier (its event carried the link)
            context["result_url"] = dossier.result_url
        for channel in MESSAGE_CHANNELS:
            if contact_known and not wants(dossier.preferences, channel):
                continue
            notification = Notification.for_change(
                change, channel, context=context, template_version=self.templates.version, now=self.clock()
            )
            if dossier.contact is not None:
                if not await self._insert_and_send(notification, dossier):
                    await self.send(notification.id)  # a redelivery: the stored status decides
                continue
            # no contact yet: stored to wait, then read fresh, since the contact may have come meanwhile (the
            # writer's release then sees this notification, or this read sees its contact). When it came
            # meanwhile, its writer sends the receipt message and then releases this one: left to it, the
            # citizen reads them in the dossier's order.
            await self.notifications.add(notification)
            await self.send(notification.id, unless_released_later=True)

    # -- sending one notification ----------------------------------------------------------------
    async def send(self, notification_id: str, *, unless_released_later: bool = False) -> None:
        """Send one notification if its status allows it (the guard runs before any side effect).

        ``unless_released_later``: leave it when the view is marked for release (the contact's writer, or
        any instance's worker pass if that writer died, sends it after the messages before it).
        """
        notification = await self.notifications.get(notification_id)
        if notification is None or not notification.claimable or not notification.due(self.clock()):
            return
        dossier = await self.views.get(notification.dossier_id)  # fresh: the contact may just have come
        if unless_released_later and dossier is not None and dossier.release_pending:
            return
        await self._send_loaded(notification, dossier)

    def _next_step(self, notification: Notification, dossier: DossierView | None, now: datetime) -> _Step:
        """What a claimable notification does next with its view as read: wait, suppress, defer or send."""
        stored_contact = dossier.contact if dossier is not None else None
        if stored_contact is None:
            return _Step("wait")
        contact = self._contact_in_clear(stored_contact)
        channel = notification.channel
        address = contact.get("phone") if channel == "sms" else contact.get("email")
        if not wants(dossier.preferences if dossier is not None else None, channel):
            return _Step("suppress", detail=f"the citizen has not chosen {channel}")
        if not address:
            return _Step("suppress", detail=f"no {channel} address")
        if channel == "email" and self.email is None:
            return _Step("suppress", detail="e-mail is not configured (NOTIFY_SMTP_HOST)")
        if channel == "sms" and (resume := resume_at(now, self.settings.quiet_hours)) is not None:
            return _Step("defer", resume=resume)
        if self._stopping:
            return _Step("leave")  # shutting down: left as it is, the next start (or another instance) sends it
        return _Step("send", contact=contact, address=str(address))

    async def _send_loaded(self, notification: Notification, dossier: DossierView | None) -> None:
        """Send a stored claimable notification with its view as read: wait, suppress, defer, or claim and deliver."""
        notification_id, now = notification.id, self.clock()
        step = self._next_step(notification, dossier, now)
        if step.kind == "wait":
            await self.notifications.change(notification_id, lambda n: n.wait_for_contact(now))
        elif step.kind == "suppress":
            await self._finish(notification_id, S.SUPPRESSED, detail=step.detail, expected=CLAIMABLE)
        elif step.kind == "defer" and step.resume is not None:
            resume = step.resume
            deferred = await self.notifications.change(notification_id, lambda n: n.defer(resume, "quiet_hours"))
            if deferred.applied:
                self._deferred(notification_id, resume)
        elif step.kind == "send" and step.contact is not None:
            claimed = await self._claim(notification)
            if claimed is not None:
                await self._start_delivery(claimed, step.contact, step.address, now)

    async def _insert_and_send(self, notification: Notification, dossier: DossierView) -> bool:
        """A new notification whose view holds the contact: its next step taken before it is stored, so one
        insert stores it already claimed (attempt 1: the unique id is the claim), suppressed or deferred.

        False when it exists already (a redelivery: the stored one decides). A crash after the insert leaves
        it ``sending``, which the sweeper retries with the same reference (the provider's idempotency key).
        """
        now = self.clock()
        step = self._next_step(notification, dossier, now)
        if step.kind == "suppress":
            notification.finish(S.SUPPRESSED, now, expected=CLAIMABLE, detail=step.detail)
        elif step.kind == "defer" and step.resume is not None:
            notification.defer(step.resume, "quiet_hours")
        elif step.kind == "send":
            notification.start_sending(now, attempt=1, reference=secrets.token_urlsafe(24))
        if not await self.notifications.add(notification):
            return False
        if step.kind == "suppress":
            self._finished(notification, step.detail)
        elif step.kind == "defer" and step.resume is not None:
            self._deferred(notification.id, step.resume)
        elif step.kind == "send" and step.contact is not None:
            await self._start_delivery(notification, step.contact, step.address, now)
        return True

    def _deferred(self, notification_id: str, resume: datetime) -> None:
        self._expect_deferred(resume)
        log.info("sms_deferred_quiet_hours", notification_id=notification_id, send_after=resume.isoformat())

    async def _start_delivery(
        self, claimed: Notification, contact: dict[str, Any], address: str, now: datetime
    ) -> None:
        # shielded: a shutdown that cancels the caller lets the send finish (drain) or hands it back
        task = asyncio.create_task(self._deliver(claimed, contact, address, now))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        await asyncio.shield(task)

    async def _deliver(self, claimed: Notification, contact: dict[str, Any], address: str, now: datetime) -> None:
        """The side effect of one claimed notification, and its outcome."""
        try:
            await self._deliver_claimed(claimed, contact, address, now)
        except asyncio.CancelledError:
            # the drain ran out of time: hand the send back; the reference keeps a re-send idempotent
            await asyncio.shield(
                self.notifications.change(claimed.id, lambda n: n.defer(now, "shutdown", retrying=True))
            )
            log.warning("notification_handed_back", notification_id=claimed.id, channel=claimed.channel)
            raise

    async def _deliver_claimed(
        self, claimed: Notification, contact: dict[str, Any], address: str, now: datetime
    ) -> None:
        channel = claimed.channel
        locale = contact.get("locale") or "vi"
        rendered = self.templates.render(claimed.kind, locale, channel, claimed.context)
        try:
            if channel == "sms":
                text = fold_to_ascii(rendered.text) if self.settings.sms_ascii else rendered.text
                encoding, parts = segments(text)
                reference = claimed.reference or ""
                message = SmsMessage(address, text, claimed.dossier_code, claimed.event_id, claimed.id, reference)
                accepted = await self.sms.send(message)
                self._receipts_possible |= accepted.awaits_receipt
                sent = SentDetails(now, encoding, parts, accepted.provider_message_id, accepted.awaits_receipt)
                await self._finish(claimed.id, S.SENT, provider=accepted.provider, sent=sent)
            else:
                assert self.email is not None
                await self.email.send(to=address, subject=rendered.subject or claimed.dossier_code, text=rendered.text)
                await self._finish(claimed.id, S.SENT, provider="smtp", sent=SentDetails(sent_at=now))
        except Exception as exc:
            await self._attempt_failed(claimed, exc)

    async def _claim(self, notification: Notification) -> Notification | None:
        """created|waiting|deferred → sending, for exactly one caller (also across notify instances)."""
        now = self.clock()
        attempt = notification.attempts + 1
        # the send happens only after the status below is stored, so a claim whose holder stopped before
        # storing it sent nothing and may be taken over once stale
        stale_before = now - timedelta(seconds=self.settings.claim_stale_after)
        if not await self.notifications.claim(f"{notification.id}#{attempt}", now, stale_before=stale_before):
            return None
        # the reference is random (receipts cannot be forged from the event id on the timeline) and
        # kept across attempts: it is the provider's idempotency key, so a re-send after a crash is safe
        reference = notification.reference or secrets.token_urlsafe(24)
        claimed = await self.notifications.change(
            notification.id, lambda n: n.start_sending(now, attempt=attempt, reference=n.reference or reference)
        )
        return claimed.aggregate if claimed.applied else None

    async def _attempt_failed(self, notification: Notification, exc: Exception) -> None:
        """Every provider failed: try again later by the backoff table, then give up (failed)."""
        detail = str(exc)[:300] or type(exc).__name__
        delay = backoff_delay(notification.attempts, self.settings.send_retry_backoff)
        log.warning(
            "notification_attempt_failed",
            notification_id=notification.id,
            channel=notification.channel,
            attempt=notification.attempts,
            error_type=type(exc).__name__,
        )
        if delay is None:
            await self._finish(notification.id, S.FAILED, detail=detail, expected=frozenset({S.SENDING}))
            return
        send_after = self.clock() + delay
        self._expect_deferred(send_after)
        await self.notifications.change(
            notification.id, lambda n: n.defer(send_after, "retry", detail=detail, retrying=True)
        )

    async def _finish(
        self,
        notification_id: str,
        status: NotificationStatus,
        *,
        expected: frozenset[NotificationStatus] = frozenset({S.SENDING}),
        provider: str | None = None,
        detail: str | None = None,
        sent: SentDetails | None = None,
    ) -> Outcome[Notification, None]:
        """Store the outcome; the aggregate records its ``notification.delivery.v1`` in the same write."""
        now = self.clock()
        done = await self.notifications.change(
            notification_id,
            lambda n: n.finish(status, now, expected=expected, provider=provider, detail=detail, sent=sent),
        )
        if done.applied and done.aggregate is not None:
            self._finished(done.aggregate, detail)
        return done

    def _finished(self, notification: Notification, detail: str | None) -> None:
        if self._outcomes is not None:
            self._outcomes.outcome(
                channel=notification.channel, provider=notification.provider, outcome=notification.status.value
            )
        log.info(
            f"notification_{notification.status.value}",
            notification_id=notification.id,
            dossier_code=notification.dossier_code,
            channel=notification.channel,
            provider=notification.provider,
            detail=detail,
        )

    async def on_receipt(self, reference: str, *, delivered: bool, detail: str | None = None) -> bool:
        """A provider's delivery receipt by our reference; False when unknown or not awaiting one (already final)."""
        notification = await self.notifications.by_reference(reference)
        if notification is None or not notification.awaiting_receipt:
            return False
        now = self.clock()
        done = await self.notifications.change(notification.id, lambda n: n.receipt(delivered, now, detail=detail))
        if done.applied and done.aggregate is not None:
            self._finished(done.aggregate, detail)
        return done.applied

    # -- background work -------------------------------------------------------------------------
    def _expect_deferred(self, at: datetime) -> None:
        """Remember the earliest deferred message of this process, so the worker looks only when one is due."""
        if self._next_deferred is None or at < self._next_deferred:
            self._next_deferred = at

    async def run_workers(self) -> None:
        """One pass of the background work; each scan runs only when its kind of work can exist.

        Deferred messages: when one of this process is due, or at a sweep. Late contacts, crashed sends and
        missing receipts: at a sweep (every ``NOTIFY_SWEEP_INTERVAL``; the first pass is one). Webhooks:
        when a subscription is active. On FerretDB every scan reads the whole collection.
        """
        now = self.clock()
        sweep = now >= self._next_sweep
        if sweep:
            self._next_sweep = now + timedelta(seconds=self.settings.sweep_interval)
        if sweep or (self._next_deferred is not None and self._next_deferred <= now):
            await self._send_deferred(now)
        for view in await self.views.to_release():
            await self.release(view.id)  # an indexed equality look-up: cheap enough for every pass
        if sweep:
            await self._sweep(now)
        if await self.subscriptions.active():
            for delivery in await self.deliveries.due(now):
                await self.deliver_webhook(delivery.id)

    async def _send_deferred(self, now: datetime) -> None:
        self._next_deferred = None
        for deferred in await self.notifications.in_status(S.DEFERRED):
            if deferred.due(now):
                await self.send(deferred.id)
            elif deferred.send_after is not None:
                self._expect_deferred(deferred.send_after)

    async def _sweep(self, now: datetime) -> None:
        """Safety net: late contacts, work a crash left behind, receipts that never came."""
        released: set[str] = set()
        for waiting in await self.notifications.in_status(S.WAITING_CONTACT):
            dossier = await self.views.get(waiting.dossier_id)
            if dossier is not None and dossier.contact is not None:
                if dossier.id not in released:  # in the dossier's order, as the contact's writer would
                    released.add(dossier.id)
                    await self.release(dossier.id)
            elif waiting.waiting_since and waiting.waiting_since <= now - timedelta(
                seconds=self.settings.contact_timeout
            ):
                detail = "the receipt event with the contact never came"
                await self._finish(waiting.id, S.SUPPRESSED, detail=detail, expected=frozenset({S.WAITING_CONTACT}))
        for created in await self.notifications.in_status(S.CREATED):
            # left behind by a process that stopped between inserting (or claiming) and sending
            if created.created_at <= now - timedelta(seconds=self.settings.claim_stale_after):
                await self.send(created.id)
        candidates = [*await self.notifications.in_status(S.SENDING)]
        if self._receipts_possible:
            candidates += await self.notifications.awaiting_receipt()
        for candidate in candidates:
            why = stuck(
                candidate,
                now=now,
                sending_timeout=self.settings.sending_timeout,
                receipt_timeout=self.settings.receipt_timeout,
            )
            if why is None:
                continue
            if candidate.status == S.SENDING:
                # the process died mid-send: the outcome is unknown, so send again with the same reference
                # (the provider's idempotency key drops a duplicate), by the backoff table, never silently
                log.warning("notification_send_recovered", notification_id=candidate.id)
                await self._attempt_failed(candidate, RuntimeError(why))
            else:
                await self._finish(candidate.id, S.FAILED, detail=why, expected=frozenset({S.SENT}))

    async def work_forever(self) -> None:
        """Run the worker passes until cancelled; woken early when a webhook delivery is queued."""
        while True:
            try:
                await self.run_workers()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("notify_workers_failed", error=str(exc), error_type=type(exc).__name__)
            await wait_event(self.wake, self.settings.worker_interval)
            self.wake.clear()

    # -- citizens --------------------------------------------------------------------------------
    async def tracked(self, code: str, token: str) -> dict[str, Any] | None:
        """The dossier view when code and token match; None otherwise (unknown and wrong look the same)."""
        view = await self.views.by_code(code)
        if view is None or not token_matches(view, token):
            return None
        return view.public()

    async def view(self, dossier_id: str) -> dict[str, Any] | None:
        """The dossier view as stored now (a live stream catches up with changes recorded by another instance)."""
        view = await self.views.get(dossier_id)
        return view.public() if view is not None else None

    async def set_preferences(self, dossier_id: str, changes: dict[str, bool]) -> dict[str, bool]:
        """The citizen changes channels (opt-out included); pending messages of a dropped channel are suppressed."""
        done = await self.views.change(dossier_id, lambda view: view.choose(changes))
        merged = done.result if done.result is not None else {**DEFAULT_PREFERENCES, **changes}
        log.info("preferences_changed", dossier_id=dossier_id, **{k: v for k, v in merged.items()})
        for status in (S.DEFERRED, S.WAITING_CONTACT):
            for pending in await self.notifications.pending_of(dossier_id, status):
                if not wants(merged, pending.channel):
                    detail = f"the citizen opted out of {pending.channel}"
                    await self._finish(pending.id, S.SUPPRESSED, detail=detail, expected=frozenset({status}))
        return merged

    # -- webhooks --------------------------------------------------------------------------------
    async def subscribe(self, *, url: str, events: list[str], secret: str | None) -> dict[str, Any]:
        """Register an app back end; deliveries are signed with the returned secret (ValueError: unsafe URL)."""
        await self.webhook_client.check(url)  # checked again at every delivery (DNS may change)
        doc = {
            "_id": f"sub_{secrets.token_hex(8)}",
            "url": url,
            "events": events,
            "secret": secret or secrets.token_urlsafe(32),
            "active": True,
            "created_at": self.clock(),
        }
        await self.subscriptions.add(doc)
        log.info("subscription_created", subscription_id=doc["_id"], events=events)
        return doc

    async def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        """One subscription, or None."""
        return await self.subscriptions.get(subscription_id)

    async def deliveries_of(self, subscription_id: str, status: str | None) -> list[WebhookDelivery]:
        """Deliveries of one subscription (optionally in one status), oldest first."""
        return await self.deliveries.of_subscription(subscription_id, status)

    async def delivery(self, delivery_id: str) -> WebhookDelivery | None:
        """One webhook delivery, or None."""
        return await self.deliveries.get(delivery_id)

    async def unsubscribe(self, subscription_id: str) -> bool:
        """Stop deliveries to a subscription; False when unknown."""
        return await self.subscriptions.deactivate(subscription_id, self.clock())

    async def _queue_webhooks(self, dossier: DossierView, event: CloudEvent) -> None:
        """One pending delivery per (event, subscription), inserted once."""
        if not wants(dossier.preferences, "app"):
            return  # the citizen opted out of app updates
        queued = False
        for sub in await self.subscriptions.active():
            if sub["events"] and event.type not in sub["events"]:
                continue
            now = self.clock()
            body = webhooks.webhook_body(
                event_id=event.id,
                event_type=event.type,
                subject=event.subject,
                time=event.time.isoformat(),
                data=event.data,
            )
            queued |= await self.deliveries.add(
                WebhookDelivery(
                    id=f"{event.id}:{sub['_id']}",
                    subscription_id=sub["_id"],
                    dossier_id=dossier.id,
                    dossier_code=dossier.code,
                    event_id=event.id,
                    url=sub["url"],
                    body=body,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
        if queued:
            self.wake.set()

    async def deliver_webhook(self, delivery_id: str) -> None:
        """One attempt of a due delivery; reschedules by the backoff table or ends delivered/failed."""
        delivery = await self.deliveries.get(delivery_id)
        now = self.clock()
        if delivery is None or not delivery.is_due(now):
            return
        attempt = delivery.attempts + 1
        # a lease, not a claim: if this process dies mid-POST the delivery is simply retried later
        # (at-least-once; subscribers dedupe by X-LienThong-Event-Id)
        until = now + timedelta(seconds=self.settings.webhook_timeout + 5)
        leased = await self.deliveries.change(delivery_id, lambda d: d.lease(now, attempt=attempt, until=until))
        if not leased.applied:
            return
        sub = await self.subscriptions.get(delivery.subscription_id)
        if sub is None or not sub.get("active"):
            await self.deliveries.change(delivery_id, lambda d: d.cancel())
            return
        body = json.dumps(delivery.body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            "X-LienThong-Signature": webhooks.sign(sub["secret"], int(now.timestamp()), body),
            "X-LienThong-Event-Id": delivery.event_id,
            "X-LienThong-Delivery-Attempt": str(attempt),
        }
        try:
            code = await self.webhook_client.post(delivery.url, body=body, headers=headers)
            ok, outcome = 200 <= code < 300, f"HTTP {code}"
        except Exception as exc:
            ok, outcome = False, type(exc).__name__
        await self._webhook_outcome(delivery, attempt=attempt, ok=ok, outcome=outcome)

    async def _webhook_outcome(self, delivery: WebhookDelivery, *, attempt: int, ok: bool, outcome: str) -> None:
        now, backoff = self.clock(), self.settings.webhook_backoff
        done = await self.deliveries.change(
            delivery.id, lambda d: d.attempted(now, attempt=attempt, ok=ok, outcome=outcome, backoff=backoff)
        )
        final = done.result if done.applied else None
        if final is not None and self._outcomes is not None:
            self._outcomes.outcome(channel="webhook", provider="webhook", outcome=final)
        name = {"delivered": "webhook_delivered", "failed": "webhook_failed"}.get(
            final or "", "webhook_retry_scheduled"
        )
        log.info(
            name,
            delivery_id=delivery.id,
            subscription_id=delivery.subscription_id,
            attempt=attempt,
            outcome=outcome,
        )

    async def resend(self, subscription_id: str, delivery_id: str) -> WebhookDelivery | None:
        """Admin: queue a permanently failed delivery again (a fresh run through the backoff table)."""
        now = self.clock()
        done = await self.deliveries.change(delivery_id, lambda d: d.resend(subscription_id, now))
        if not done.applied:
            return None
        log.info("webhook_resend_queued", delivery_id=delivery_id, subscription_id=subscription_id)
        self.wake.set()
        return done.aggregate
