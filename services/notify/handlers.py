"""Notify use cases: keep the citizen's timeline, send one message per change per channel, webhooks, receipts."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from services.notify.adapters.sms import Accepted, SmsMessage
from services.notify.domain import webhooks
from services.notify.domain.messages import Change, is_stale, version_key
from services.notify.domain.notifications import (
    DEFAULT_PREFERENCES,
    MESSAGE_CHANNELS,
    NotificationStatus,
    awaits_receipt,
    backoff_delay,
    can_claim,
    delivery_status,
    stuck,
    wants,
)
from services.notify.domain.quiet_hours import resume_at
from services.notify.domain.sms import fold_to_ascii, segments
from services.notify.domain.templates import TemplateSet
from services.notify.settings import NotifySettings
from shared.envelope import CloudEvent
from shared.events import NotificationDelivery
from shared.logging import get_logger
from shared.outbox import outbox_entry, with_outbox
from shared.pii import PersonalDataKeys
from shared.topics import Topics, event_type_of

log = get_logger(__name__)

Guard = Callable[[dict[str, Any]], bool]
S = NotificationStatus


class NotifyStore(Protocol):
    """What the use cases need from notify's database (adapters.store.MongoNotifyStore, or a fake in tests)."""

    async def dossier(self, dossier_id: str) -> dict[str, Any] | None:
        """The dossier view by id."""

    async def dossier_by_code(self, code: str) -> dict[str, Any] | None:
        """The dossier view by code."""

    async def insert_dossier(self, doc: dict[str, Any]) -> bool:
        """Insert a view once; False when it exists."""

    async def update_dossier(
        self,
        dossier_id: str,
        update: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any] | None],
        *,
        guard: Guard,
    ) -> dict[str, Any] | None:
        """Guarded single-document update (or one computed from the view; None = nothing); the new view or None."""

    async def dossiers_to_release(self, limit: int = 100) -> list[dict[str, Any]]:
        """Views whose contact came after notifications that may still wait for it (``release_pending``)."""

    async def insert_notification(self, doc: dict[str, Any]) -> bool:
        """Insert once; False when it exists."""

    async def notification(self, notification_id: str) -> dict[str, Any] | None:
        """One notification."""

    async def notification_by_reference(self, reference: str) -> dict[str, Any] | None:
        """The notification with this provider reference."""

    async def update_notification(
        self, notification_id: str, update: dict[str, Any], *, guard: Guard
    ) -> dict[str, Any] | None:
        """Guarded update; the new document or None."""

    async def claim(self, claim_id: str, at: datetime, *, stale_before: datetime) -> bool:
        """True for exactly one caller of ``claim_id`` across instances (stale claims are taken over)."""

    async def notifications_in(
        self,
        status: str,
        *,
        dossier_id: str | None = None,
        awaiting_receipt: bool | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Notifications in one status."""

    async def notifications_of(self, dossier_id: str, limit: int = 500) -> list[dict[str, Any]]:
        """Every notification of a dossier."""

    async def insert_subscription(self, doc: dict[str, Any]) -> None:
        """Store a subscription."""

    async def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        """One subscription."""

    async def update_subscription(self, subscription_id: str, update: dict[str, Any]) -> dict[str, Any] | None:
        """Change a subscription."""

    async def active_subscriptions(self) -> list[dict[str, Any]]:
        """Subscriptions that receive deliveries."""

    async def insert_delivery(self, doc: dict[str, Any]) -> bool:
        """Insert once; False when it exists."""

    async def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        """One webhook delivery."""

    async def update_delivery(self, delivery_id: str, update: dict[str, Any], *, guard: Guard) -> dict[str, Any] | None:
        """Guarded update of a delivery."""

    async def due_deliveries(self, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """Pending deliveries whose next attempt is due."""

    async def deliveries_of(self, subscription_id: str, status: str | None, limit: int = 500) -> list[dict[str, Any]]:
        """Deliveries of one subscription."""


class SmsSender(Protocol):
    """The SMS port (adapters.sms.FailoverSender over the configured providers)."""

    async def send(self, message: SmsMessage) -> Accepted:
        """Hand the SMS to a provider or raise."""


class EmailSender(Protocol):
    """The e-mail port (adapters.email.SmtpSender)."""

    async def send(self, *, to: str, subject: str, text: str) -> None:
        """Send one e-mail or raise."""


class WebhookClient(Protocol):
    """The outgoing webhook port (adapters.webhooks.HttpWebhookClient)."""

    async def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> int:
        """POST one delivery; the HTTP status, or raise when unreachable."""

    async def check(self, url: str) -> str:
        """The address ``url`` may be delivered to now; ValueError with the reason when it may not."""


class Outbox(Protocol):
    """The outbox relay of a collection (shared.outbox.OutboxRelay)."""

    def kick(self, doc_id: Any = None) -> None:
        """Publish that document's pending events now."""


class LiveFeed(Protocol):
    """In-process fan-out to SSE streams (adapters.live.LiveUpdates)."""

    def publish(self, dossier_id: str, entry: dict[str, Any]) -> None:
        """Push a timeline entry to the dossier's live listeners."""


class OutcomeCounter(Protocol):
    """Counts notification outcomes (adapters.metrics.NotifyMetrics)."""

    def outcome(self, *, channel: str, provider: str | None, outcome: str) -> None:
        """Count one outcome."""
        ...


def utcnow() -> datetime:
    """The current time (UTC); tests pass their own clock."""
    return datetime.now(UTC)


def token_matches(dossier: dict[str, Any] | None, token: str) -> bool:
    """Constant-time check of a citizen's tracking token against the stored SHA-256."""
    expected = (dossier or {}).get("token_sha256") or "0" * 64
    given = hashlib.sha256(token.encode()).hexdigest()
    return hmac.compare_digest(given, expected) and dossier is not None


class Notifier:
    """Everything notify does, over its store, senders and outbox relays."""

    def __init__(
        self,
        *,
        store: NotifyStore,
        templates: TemplateSet,
        sms: SmsSender,
        email: EmailSender | None,
        webhook_client: WebhookClient,
        live: LiveFeed,
        settings: NotifySettings,
        notifications_outbox: Outbox | None = None,
        deliveries_outbox: Outbox | None = None,
        clock: Callable[[], datetime] = utcnow,
        outcomes: OutcomeCounter | None = None,
    ) -> None:
        if not templates.built:
            raise ValueError("build the template set first (TemplateSet().build()) so bad templates stop start-up")
        self.store, self.templates, self.sms, self.email = store, templates, sms, email
        self.webhook_client, self.live, self.settings, self.clock = webhook_client, live, settings, clock
        self._notifications_outbox, self._deliveries_outbox = notifications_outbox, deliveries_outbox
        self._outcomes = outcomes
        self.source = f"/lienthong/{settings.service_name}"
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
        if dossier.get("release_pending"):
            await self.release(change.dossier_id)

    async def release(self, dossier_id: str) -> None:
        """Send what waited for the contact; the view's mark is cleared only once nothing of it waits any more.

        The mark is set in the same write that stores the contact, so the release survives the death of the
        process that stored it: any instance's worker pass (``run_workers``) or a redelivery picks it up.
        Sends are claimed, so two instances releasing one dossier at once send each message once.
        """
        for waiting in await self.store.notifications_of(dossier_id):
            # "created" too: a consumer of another topic may have inserted one before it could see the contact
            if waiting["status"] in (S.WAITING_CONTACT, S.CREATED):
                await self.send(waiting["_id"])
        if any(n["status"] in (S.WAITING_CONTACT, S.CREATED) for n in await self.store.notifications_of(dossier_id)):
            return  # claimed elsewhere (or by a process that died: stale after NOTIFY_CLAIM_STALE_AFTER): next pass
        await self.store.update_dossier(
            dossier_id, {"$unset": {"release_pending": ""}}, guard=lambda view: bool(view.get("release_pending"))
        )

    async def _record(self, change: Change) -> dict[str, Any] | None:
        """Apply the change to the dossier view (deduplicated by event id, guarded by case version)."""
        await self.store.insert_dossier(
            {
                "_id": change.dossier_id,
                "code": change.code,
                "timeline": [],
                "seen_events": [],
                "versions": {},
                "contact": None,
                "preferences": None,
                "token_sha256": None,
                "created_at": self.clock(),
            }
        )
        sets: dict[str, Any] = {}
        if change.contact is not None:
            sets["contact"] = self._contact_at_rest(change.contact)
            sets["preferences"] = change.preferences
        if change.token_sha256:
            sets["token_sha256"] = change.token_sha256
        if change.result_url:
            sets["result_url"] = change.result_url
        if change.procedure:
            sets["procedure"] = change.procedure
        if change.office_code is not None and change.version is not None:
            sets[f"versions.{version_key(change.office_code)}"] = change.version
        refused: list[str] = []

        def update(view: dict[str, Any]) -> dict[str, Any] | None:
            refused.clear()  # judged again on a fresh read after a lost race
            if change.event_id in view.get("seen_events", []):
                refused.append("seen")
                return None
            if is_stale(change, view):
                refused.append("stale")
                return None
            marks: dict[str, Any] = {}
            if change.contact is not None and view.get("timeline"):
                # notifications made before the contact may wait for it: the mark is stored with the contact,
                # so their release does not depend on this process living on (see release)
                marks["release_pending"] = True
            pushed = {"timeline": change.timeline_entry(), "seen_events": change.event_id}
            return {"$push": pushed, **({"$set": sets | marks} if sets or marks else {})}

        updated = await self.store.update_dossier(change.dossier_id, update, guard=lambda view: True)
        if updated is not None:
            self.live.publish(change.dossier_id, change.timeline_entry())
            log.info("timeline_recorded", dossier_code=change.code, kind=change.kind, event_id=change.event_id)
            return updated
        if refused == ["stale"]:
            log.info("event_stale", dossier_code=change.code, event_id=change.event_id, version=change.version)
            return None
        # a redelivery: carry on idempotently, a crash may have stopped the first run before sending
        return await self.store.dossier(change.dossier_id)

    def _contact_at_rest(self, contact: dict[str, Any]) -> dict[str, Any]:
        """Open the contact sealed for notify in the receipt event; keep it encrypted with notify's own key."""
        clear = {"phone": contact.get("phone"), "email": contact.get("email")}  # events before sealing
        if contact.get("sealed"):
            clear = self.pii.contact.open(contact["sealed"])
        stored: dict[str, Any] = {"locale": contact.get("locale") or "vi"}
        for field in ("phone", "email"):
            if clear.get(field):
                stored[f"{field}_enc"] = self.pii.at_rest.encrypt(str(clear[field]))
                stored[f"{field}_hash"] = self.pii.hash(str(clear[field]))
        return stored

    def _contact_in_clear(self, stored: dict[str, Any]) -> dict[str, Any]:
        """Phone and e-mail decrypted, only at the moment of sending."""
        clear: dict[str, Any] = {"locale": stored.get("locale") or "vi"}
        for field in ("phone", "email"):
            if f"{field}_enc" in stored:
                clear[field] = self.pii.at_rest.decrypt(stored[f"{field}_enc"])
            elif stored.get(field):  # a view stored before encryption at rest
                clear[field] = stored[field]
        return clear

    async def _notify(self, dossier: dict[str, Any], change: Change) -> None:
        contact_known = dossier.get("contact") is not None
        context = dict(change.context)
        if not context.get("result_url") and dossier.get("result_url"):
            # the return message links the result signed earlier (its event carried the link)
            context["result_url"] = dossier["result_url"]
        for channel in MESSAGE_CHANNELS:
            if contact_known and not wants(dossier.get("preferences"), channel):
                continue
            notification_id = f"{change.event_id}:{channel}"
            await self.store.insert_notification(
                {
                    "_id": notification_id,
                    "dossier_id": change.dossier_id,
                    "dossier_code": change.code,
                    "event_id": change.event_id,
                    "channel": channel,
                    "kind": change.message_kind,
                    "context": context,
                    "template_version": self.templates.version,
                    "status": S.CREATED.value,
                    "attempts": 0,
                    "created_at": self.clock(),
                    "outbox": {},
                    "outbox_pending": 0,
                }
            )
            # always try: the status guard makes a redelivered event harmless
            await self.send(notification_id)

    # -- sending one notification ----------------------------------------------------------------
    async def send(self, notification_id: str) -> None:
        """Send one notification if its status allows it (the guard runs before any side effect)."""
        notification = await self.store.notification(notification_id)
        if notification is None or not can_claim(notification):
            return
        if notification["status"] == S.DEFERRED and notification["send_after"] > self.clock():
            return
        dossier = await self.store.dossier(notification["dossier_id"])  # fresh: the contact may just have come
        stored_contact = (dossier or {}).get("contact")
        contact = self._contact_in_clear(stored_contact) if stored_contact is not None else None
        now = self.clock()
        if contact is None:
            await self.store.update_notification(
                notification_id,
                {"$set": {"status": S.WAITING_CONTACT.value, "waiting_since": now}},
                guard=lambda n: n["status"] == S.CREATED,
            )
            return
        channel = notification["channel"]
        address = contact.get("phone") if channel == "sms" else contact.get("email")
        reason = None
        if not wants((dossier or {}).get("preferences"), channel):
            reason = f"the citizen has not chosen {channel}"
        elif not address:
            reason = f"no {channel} address"
        elif channel == "email" and self.email is None:
            reason = "e-mail is not configured (NOTIFY_SMTP_HOST)"
        if reason is not None:
            await self._finish(notification, S.SUPPRESSED, detail=reason, guard=can_claim)
            return
        if channel == "sms" and (resume := resume_at(now, self.settings.quiet_hours)) is not None:
            await self.store.update_notification(
                notification_id,
                {"$set": {"status": S.DEFERRED.value, "send_after": resume, "deferred_for": "quiet_hours"}},
                guard=can_claim,
            )
            self._expect_deferred(resume)
            log.info("sms_deferred_quiet_hours", notification_id=notification_id, send_after=resume.isoformat())
            return
        if self._stopping:
            return  # shutting down: left as it is, the next start (or another instance) sends it
        claimed = await self._claim(notification)
        if claimed is None:
            return
        # shielded: a shutdown that cancels the caller lets the send finish (drain) or hands it back
        task = asyncio.create_task(self._deliver(claimed, contact, str(address), now))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        await asyncio.shield(task)

    async def _deliver(self, claimed: dict[str, Any], contact: dict[str, Any], address: str, now: datetime) -> None:
        """The side effect of one claimed notification, and its outcome."""
        notification_id, channel = claimed["_id"], claimed["channel"]
        try:
            await self._deliver_claimed(claimed, contact, address, now)
        except asyncio.CancelledError:
            # the drain ran out of time: hand the send back; the reference keeps a re-send idempotent
            await asyncio.shield(
                self.store.update_notification(
                    notification_id,
                    {"$set": {"status": S.DEFERRED.value, "send_after": now, "deferred_for": "shutdown"}},
                    guard=lambda n: n["status"] == S.SENDING,
                )
            )
            log.warning("notification_handed_back", notification_id=notification_id, channel=channel)
            raise

    async def _deliver_claimed(
        self, claimed: dict[str, Any], contact: dict[str, Any], address: str, now: datetime
    ) -> None:
        notification_id, channel = claimed["_id"], claimed["channel"]
        locale = contact.get("locale") or "vi"
        rendered = self.templates.render(claimed["kind"], locale, channel, claimed["context"])
        try:
            if channel == "sms":
                text = fold_to_ascii(rendered.text) if self.settings.sms_ascii else rendered.text
                encoding, parts = segments(text)
                accepted = await self.sms.send(
                    SmsMessage(
                        to=address,
                        text=text,
                        dossier_code=claimed["dossier_code"],
                        event_id=claimed["event_id"],
                        notification_id=notification_id,
                        reference=claimed["reference"],
                    )
                )
                self._receipts_possible |= accepted.awaits_receipt
                extra = {
                    "encoding": encoding,
                    "segments": parts,
                    "provider_message_id": accepted.provider_message_id,
                    "awaiting_receipt": accepted.awaits_receipt,
                    "sent_at": now,
                }
                await self._finish(claimed, S.SENT, provider=accepted.provider, extra=extra)
            else:
                assert self.email is not None
                await self.email.send(
                    to=address, subject=rendered.subject or claimed["dossier_code"], text=rendered.text
                )
                await self._finish(claimed, S.SENT, provider="smtp", extra={"sent_at": now})
        except Exception as exc:
            await self._attempt_failed(claimed, exc)

    async def _claim(self, notification: dict[str, Any]) -> dict[str, Any] | None:
        """created|waiting|deferred → sending, for exactly one caller (also across notify instances)."""
        now = self.clock()
        attempt = notification["attempts"] + 1
        # the send happens only after the status below is stored, so a claim whose holder stopped before
        # storing it sent nothing and may be taken over once stale
        stale_before = now - timedelta(seconds=self.settings.claim_stale_after)
        if not await self.store.claim(f"{notification['_id']}#{attempt}", now, stale_before=stale_before):
            return None
        # the reference is random (receipts cannot be forged from the event id on the timeline) and
        # kept across attempts: it is the provider's idempotency key, so a re-send after a crash is safe
        reference = notification.get("reference") or secrets.token_urlsafe(24)
        return await self.store.update_notification(
            notification["_id"],
            {
                "$set": {"status": S.SENDING.value, "claimed_at": now, "reference": reference},
                "$inc": {"attempts": 1},
            },
            guard=lambda n: can_claim(n) and n["attempts"] == attempt - 1,
        )

    async def _attempt_failed(self, notification: dict[str, Any], exc: Exception) -> None:
        """Every provider failed: try again later by the backoff table, then give up (failed)."""
        detail = str(exc)[:300] or type(exc).__name__
        delay = backoff_delay(notification["attempts"], self.settings.send_retry_backoff)
        log.warning(
            "notification_attempt_failed",
            notification_id=notification["_id"],
            channel=notification["channel"],
            attempt=notification["attempts"],
            error_type=type(exc).__name__,
        )
        if delay is None:
            await self._finish(notification, S.FAILED, detail=detail)
            return
        send_after = self.clock() + delay
        self._expect_deferred(send_after)
        await self.store.update_notification(
            notification["_id"],
            {"$set": {"status": S.DEFERRED.value, "send_after": send_after, "deferred_for": "retry", "detail": detail}},
            guard=lambda n: n["status"] == S.SENDING,
        )

    async def _finish(
        self,
        notification: dict[str, Any],
        status: NotificationStatus,
        *,
        provider: str | None = None,
        detail: str | None = None,
        extra: dict[str, Any] | None = None,
        guard: Guard | None = None,
    ) -> dict[str, Any] | None:
        """Store the outcome and its ``notification.delivery.v1`` event in one document update."""
        now = self.clock()
        provider = provider or notification.get("provider")
        event = self._delivery_event(
            NotificationDelivery(
                notification_id=notification["_id"],
                dossier_id=notification["dossier_id"],
                dossier_code=notification["dossier_code"],
                channel=notification["channel"],
                status=delivery_status(status),
                provider=provider,
                source_event_id=notification["event_id"],
                attempts=notification.get("attempts", 0),
                detail=detail,
                occurred_at=now,
            )
        )
        update = with_outbox(
            {
                "$set": {
                    "status": status.value,
                    "provider": provider,
                    "detail": detail,
                    "finished_at": now,
                    **(extra or {}),
                }
            },
            outbox_entry(Topics.NOTIFICATION_DELIVERY, event, key=notification["dossier_id"]),
        )
        expected = notification["status"]
        updated = await self.store.update_notification(
            notification["_id"], update, guard=guard or (lambda n: n["status"] == expected)
        )
        if updated is None:
            return None
        if self._notifications_outbox is not None:
            self._notifications_outbox.kick(notification["_id"])
        if self._outcomes is not None:
            self._outcomes.outcome(channel=notification["channel"], provider=provider, outcome=status.value)
        log.info(
            f"notification_{status.value}",
            notification_id=notification["_id"],
            dossier_code=notification["dossier_code"],
            channel=notification["channel"],
            provider=provider,
            detail=detail,
        )
        return updated

    def _delivery_event(self, delivery: NotificationDelivery) -> CloudEvent:
        return CloudEvent(
            source=self.source,
            type=event_type_of(Topics.NOTIFICATION_DELIVERY),
            subject=delivery.dossier_code,
            data=delivery.model_dump(mode="json"),
        )

    async def on_receipt(self, reference: str, *, delivered: bool, detail: str | None = None) -> bool:
        """A provider's delivery receipt by our reference; False when unknown or not awaiting one (already final)."""
        notification = await self.store.notification_by_reference(reference)
        if notification is None or not awaits_receipt(notification):
            return False
        status = S.DELIVERED if delivered else S.FAILED
        updated = await self._finish(
            notification, status, detail=detail, extra={"awaiting_receipt": False}, guard=awaits_receipt
        )
        return updated is not None

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
        for view in await self.store.dossiers_to_release():
            await self.release(view["_id"])  # an indexed equality look-up: cheap enough for every pass
        if sweep:
            await self._sweep(now)
        if await self.store.active_subscriptions():
            for delivery in await self.store.due_deliveries(now):
                await self.deliver_webhook(delivery["_id"])

    async def _send_deferred(self, now: datetime) -> None:
        self._next_deferred = None
        for deferred in await self.store.notifications_in(S.DEFERRED):
            if deferred["send_after"] <= now:
                await self.send(deferred["_id"])
            else:
                self._expect_deferred(deferred["send_after"])

    async def _sweep(self, now: datetime) -> None:
        """Safety net: late contacts, work a crash left behind, receipts that never came."""
        for waiting in await self.store.notifications_in(S.WAITING_CONTACT):
            dossier = await self.store.dossier(waiting["dossier_id"])
            if (dossier or {}).get("contact") is not None:
                await self.send(waiting["_id"])
            elif waiting.get("waiting_since") and waiting["waiting_since"] <= now - timedelta(
                seconds=self.settings.contact_timeout
            ):
                await self._finish(waiting, S.SUPPRESSED, detail="the receipt event with the contact never came")
        for created in await self.store.notifications_in(S.CREATED):
            # left behind by a process that stopped between inserting (or claiming) and sending
            if created["created_at"] <= now - timedelta(seconds=self.settings.claim_stale_after):
                await self.send(created["_id"])
        candidates = [*await self.store.notifications_in(S.SENDING)]
        if self._receipts_possible:
            candidates += await self.store.notifications_in(S.SENT, awaiting_receipt=True)
        for candidate in candidates:
            why = stuck(
                candidate,
                now=now,
                sending_timeout=self.settings.sending_timeout,
                receipt_timeout=self.settings.receipt_timeout,
            )
            if why is None:
                continue
            if candidate["status"] == S.SENDING:
                # the process died mid-send: the outcome is unknown, so send again with the same reference
                # (the provider's idempotency key drops a duplicate), by the backoff table, never silently
                log.warning("notification_send_recovered", notification_id=candidate["_id"])
                await self._attempt_failed(candidate, RuntimeError(why))
            else:
                await self._finish(candidate, S.FAILED, detail=why, extra={"awaiting_receipt": False})

    async def work_forever(self) -> None:
        """Run the worker passes until cancelled; woken early when a webhook delivery is queued."""
        while True:
            try:
                await self.run_workers()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("notify_workers_failed", error=str(exc), error_type=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=self.settings.worker_interval)
            self.wake.clear()

    # -- citizens --------------------------------------------------------------------------------
    async def tracked(self, code: str, token: str) -> dict[str, Any] | None:
        """The dossier view when code and token match; None otherwise (unknown and wrong look the same)."""
        dossier = await self.store.dossier_by_code(code)
        if not token_matches(dossier, token):
            return None
        assert dossier is not None
        return dossier

    async def set_preferences(self, dossier_id: str, changes: dict[str, bool]) -> dict[str, bool]:
        """The citizen changes channels (opt-out included); pending messages of a dropped channel are suppressed."""
        current = await self.store.dossier(dossier_id)
        merged = {**DEFAULT_PREFERENCES, **((current or {}).get("preferences") or {}), **changes}
        await self.store.update_dossier(dossier_id, {"$set": {"preferences": merged}}, guard=lambda d: True)
        log.info("preferences_changed", dossier_id=dossier_id, **{k: v for k, v in merged.items()})
        for status in (S.DEFERRED, S.WAITING_CONTACT):
            for pending in await self.store.notifications_in(status, dossier_id=dossier_id):
                if not wants(merged, pending["channel"]):
                    await self._finish(pending, S.SUPPRESSED, detail=f"the citizen opted out of {pending['channel']}")
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
        await self.store.insert_subscription(doc)
        log.info("subscription_created", subscription_id=doc["_id"], events=events)
        return doc

    async def unsubscribe(self, subscription_id: str) -> bool:
        """Stop deliveries to a subscription; False when unknown."""
        updated = await self.store.update_subscription(
            subscription_id, {"$set": {"active": False, "deactivated_at": self.clock()}}
        )
        return updated is not None

    async def _queue_webhooks(self, dossier: dict[str, Any], event: CloudEvent) -> None:
        """One pending delivery per (event, subscription), inserted once."""
        if not wants(dossier.get("preferences"), "app"):
            return  # the citizen opted out of app updates
        queued = False
        for sub in await self.store.active_subscriptions():
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
            queued |= await self.store.insert_delivery(
                {
                    "_id": f"{event.id}:{sub['_id']}",
                    "subscription_id": sub["_id"],
                    "dossier_id": dossier["_id"],
                    "dossier_code": dossier["code"],
                    "event_id": event.id,
                    "url": sub["url"],
                    "body": body,
                    "status": "pending",
                    "attempts": 0,
                    "resends": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "log": [],
                    "outbox": {},
                    "outbox_pending": 0,
                }
            )
        if queued:
            self.wake.set()

    async def deliver_webhook(self, delivery_id: str) -> None:
        """One attempt of a due delivery; reschedules by the backoff table or ends delivered/failed."""
        delivery = await self.store.delivery(delivery_id)
        now = self.clock()
        if delivery is None or delivery["status"] != "pending" or delivery["next_attempt_at"] > now:
            return
        attempt = delivery["attempts"] + 1
        # a lease, not a claim: if this process dies mid-POST the delivery is simply retried later
        # (at-least-once; subscribers dedupe by X-LienThong-Event-Id)
        lease = now + timedelta(seconds=self.settings.webhook_timeout + 5)
        leased = await self.store.update_delivery(
            delivery_id,
            {"$set": {"next_attempt_at": lease}},
            guard=lambda d: d["status"] == "pending" and d["attempts"] == attempt - 1 and d["next_attempt_at"] <= now,
        )
        if leased is None:
            return
        sub = await self.store.subscription(delivery["subscription_id"])
        if sub is None or not sub.get("active"):
            await self.store.update_delivery(
                delivery_id, {"$set": {"status": "cancelled"}}, guard=lambda d: d["status"] == "pending"
            )
            return
        body = json.dumps(delivery["body"], ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            "X-LienThong-Signature": webhooks.sign(sub["secret"], int(now.timestamp()), body),
            "X-LienThong-Event-Id": delivery["event_id"],
            "X-LienThong-Delivery-Attempt": str(attempt),
        }
        try:
            code = await self.webhook_client.post(delivery["url"], body=body, headers=headers)
            ok, outcome = 200 <= code < 300, f"HTTP {code}"
        except Exception as exc:
            ok, outcome = False, type(exc).__name__
        await self._webhook_outcome(delivery, attempt=attempt, ok=ok, outcome=outcome)

    async def _webhook_outcome(self, delivery: dict[str, Any], *, attempt: int, ok: bool, outcome: str) -> None:
        now = self.clock()
        entry = {"at": now, "attempt": attempt, "outcome": outcome}
        delay = None if ok else backoff_delay(attempt, self.settings.webhook_backoff)
        sets: dict[str, Any] = {"attempts": attempt, "last_outcome": outcome}
        if ok:
            sets |= {"status": "delivered", "delivered_at": now}
        elif delay is not None:
            sets |= {"next_attempt_at": now + delay}
        else:
            sets |= {"status": "failed", "failed_at": now}
        update: dict[str, Any] = {"$set": sets, "$push": {"log": entry}}
        final = sets.get("status")
        if final is not None:
            event = self._delivery_event(
                NotificationDelivery(
                    notification_id=delivery["_id"],
                    dossier_id=delivery["dossier_id"],
                    dossier_code=delivery["dossier_code"],
                    channel="webhook",
                    status=delivery_status(S(final)),
                    provider=delivery["subscription_id"],
                    source_event_id=delivery["event_id"],
                    attempts=attempt,
                    detail=outcome,
                    occurred_at=now,
                )
            )
            update = with_outbox(update, outbox_entry(Topics.NOTIFICATION_DELIVERY, event, key=delivery["dossier_id"]))
        updated = await self.store.update_delivery(
            delivery["_id"], update, guard=lambda d: d["status"] == "pending" and d["attempts"] == attempt - 1
        )
        if updated is not None and final is not None and self._deliveries_outbox is not None:
            self._deliveries_outbox.kick(delivery["_id"])
        if updated is not None and final is not None and self._outcomes is not None:
            self._outcomes.outcome(channel="webhook", provider="webhook", outcome=final)
        name = {"delivered": "webhook_delivered", "failed": "webhook_failed"}.get(
            final or "", "webhook_retry_scheduled"
        )
        log.info(
            name,
            delivery_id=delivery["_id"],
            subscription_id=delivery["subscription_id"],
            attempt=attempt,
            outcome=outcome,
        )

    async def resend(self, subscription_id: str, delivery_id: str) -> dict[str, Any] | None:
        """Admin: queue a permanently failed delivery again (a fresh run through the backoff table)."""
        updated = await self.store.update_delivery(
            delivery_id,
            {
                "$set": {"status": "pending", "attempts": 0, "next_attempt_at": self.clock()},
                "$inc": {"resends": 1},
            },
            guard=lambda d: d["status"] == "failed" and d["subscription_id"] == subscription_id,
        )
        if updated is not None:
            log.info("webhook_resend_queued", delivery_id=delivery_id, subscription_id=subscription_id)
            self.wake.set()
        return updated
