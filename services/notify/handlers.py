"""Notify use cases: keep the citizen's timeline, send one message per change per channel, webhooks, receipts."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.notify.adapters.email import SmtpSender
from services.notify.adapters.sms import FailoverSender, SmsError, SmsMessage
from services.notify.adapters.store import NotifyStore
from services.notify.domain.messages import message_for, timeline_entry
from services.notify.domain.sms import fold_to_ascii, segments
from services.notify.domain.templates import TemplateSet
from services.notify.settings import NotifySettings
from shared.broker import EventPublisher
from shared.envelope import CloudEvent
from shared.events import DeliveryStatus, NotificationDelivery
from shared.legal_clock import VIETNAM_TZ
from shared.logging import get_logger
from shared.outbox import OutboxRelay, outbox_entry, with_outbox
from shared.topics import Topics

log = get_logger(__name__)


class Hub:
    """In-process fan-out of timeline entries to live (SSE) listeners, per dossier."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def subscribe(self, dossier_id: str) -> asyncio.Queue[dict[str, Any]]:
        """A queue that receives every new entry of the dossier."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)
        self._listeners[dossier_id].add(queue)
        return queue

    def unsubscribe(self, dossier_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop delivering to ``queue``."""
        self._listeners[dossier_id].discard(queue)
        if not self._listeners[dossier_id]:
            del self._listeners[dossier_id]

    def publish(self, dossier_id: str, entry: dict[str, Any]) -> None:
        """Push an entry to every listener of the dossier (slow listeners drop entries, then resync)."""
        for queue in list(self._listeners.get(dossier_id, ())):
            if not queue.full():
                queue.put_nowait(entry)


def in_quiet_hours(now: datetime, window: str) -> datetime | None:
    """When SMS may be sent again if ``now`` is inside the quiet window (e.g. ``21:00-07:00``), else None."""
    if not window:
        return None
    start_s, end_s = window.split("-")
    local = now.astimezone(VIETNAM_TZ)
    start = local.replace(hour=int(start_s[:2]), minute=int(start_s[3:5]), second=0, microsecond=0)
    end = local.replace(hour=int(end_s[:2]), minute=int(end_s[3:5]), second=0, microsecond=0)
    if start <= end:
        return end if start <= local < end else None
    if local >= start:
        return end + timedelta(days=1)
    return end if local < end else None


def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class Notifier:
    """Everything notify does, over its store, senders and the outbox relay."""

    def __init__(
        self,
        *,
        store: NotifyStore,
        publisher: EventPublisher,
        templates: TemplateSet,
        sms: FailoverSender,
        email: SmtpSender | None,
        http: httpx.AsyncClient,
        settings: NotifySettings,
        hub: Hub,
        relay: OutboxRelay | None = None,
    ) -> None:
        self.store, self.publisher, self.templates, self.sms, self.email = store, publisher, templates, sms, email
        self.http, self.settings, self.hub, self.relay = http, settings, hub, relay
        self._next_receipt_scan = datetime.min.replace(tzinfo=UTC)

    # -- consuming events -----------------------------------------------------------------------
    async def on_event(self, event: CloudEvent, *, now: datetime | None = None) -> None:
        """Record the change on the timeline, then notify every channel once (redeliveries change nothing)."""
        now = now or datetime.now(UTC)
        data = event.data
        dossier_id, code = data["dossier_id"], data["dossier_code"]
        await self.store.ensure_dossier(dossier_id, code)  # insert-only: a duplicate means it exists
        entry = timeline_entry(event.id, event.type, data, now)
        sets: dict[str, Any] = {}
        if event.type.endswith(Topics.DOSSIER_RECEIVED):
            sets = {
                "contact": data.get("contact"),
                "notify": data.get("notify"),
                "token_sha256": data.get("tracking_token_sha256"),
            }
        updated = await self.store.update_dossier(
            dossier_id,
            {"$push": {"timeline": entry, "seen_events": event.id}, **({"$set": sets} if sets else {})},
            guard=lambda d: event.id not in d.get("seen_events", []),
        )
        if updated is not None:
            self.hub.publish(dossier_id, entry)
        dossier = updated or await self.store.dossier(dossier_id)
        assert dossier is not None
        kind = message_for(event.type, data)
        if kind is not None:
            await self._notify(dossier, event, kind[0], kind[1], now=now)
        await self._queue_webhooks(event, now=now)
        if sets:  # the contact just arrived: send what waited for it
            for waiting in await self.store.notifications_where(
                {"dossier_id": dossier_id, "status": "waiting_contact"}
            ):
                await self._send(waiting["_id"], dossier=dossier, now=now)

    async def _notify(
        self, dossier: dict[str, Any], event: CloudEvent, kind: str, context: dict[str, Any], *, now: datetime
    ) -> None:
        prefs = dossier.get("notify") or {"sms": True, "email": False}
        contact = dossier.get("contact")
        for channel in ("sms", "email"):
            if contact is not None and not prefs.get(channel):
                continue
            notification_id = f"{event.id}:{channel}"
            created = await self.store.insert_notification(
                {
                    "_id": notification_id,
                    "dossier_id": dossier["_id"],
                    "dossier_code": dossier["code"],
                    "event_id": event.id,
                    "channel": channel,
                    "kind": kind,
                    "context": context,
                    "status": "created",
                    "attempts": 0,
                    "created_at": now,
                    "outbox": {},
                    "outbox_pending": 0,
                }
            )
            if created:
                await self._send(notification_id, dossier=dossier, now=now)

    async def _send(self, notification_id: str, *, dossier: dict[str, Any], now: datetime) -> None:
        """Send one notification if its status allows (created / waiting / deferred → sending|sent|failed)."""
        contact = dossier.get("contact")
        if contact is None:
            await self.store.update_notification(
                notification_id, {"$set": {"status": "waiting_contact"}}, guard=lambda n: n["status"] == "created"
            )
            return
        notification = await self.store.update_notification(
            notification_id,
            {"$set": {"status": "sending", "claimed_at": now}, "$inc": {"attempts": 1}},
            guard=lambda n: n["status"] in {"created", "waiting_contact", "deferred"},
        )
        if notification is None:
            return  # someone else sent it, or it is final
        channel = notification["channel"]
        address = contact.get("phone") if channel == "sms" else contact.get("email")
        if not address or (channel == "email" and self.email is None):
            await self._finish(
                notification, DeliveryStatus.SUPPRESSED, detail=f"no {channel} address or channel off", now=now
            )
            return
        if channel == "sms" and (resume := in_quiet_hours(now, self.settings.quiet_hours)) is not None:
            await self.store.update_notification(
                notification_id,
                {"$set": {"status": "deferred", "send_after": resume}},
                guard=lambda n: n["status"] == "sending",
            )
            return
        rendered = self.templates.render(
            notification["kind"], contact.get("locale") or "vi", channel, notification["context"]
        )
        try:
            if channel == "sms":
                text = fold_to_ascii(rendered.text) if self.settings.sms_ascii else rendered.text
                encoding, parts = segments(text)
                accepted = await self.sms.send(
                    SmsMessage(
                        to=address,
                        text=text,
                        dossier_code=notification["dossier_code"],
                        event_id=notification["event_id"],
                        notification_id=notification_id,
                    )
                )
                status = DeliveryStatus.SENT
                await self._finish(
                    notification,
                    status,
                    provider=accepted.provider,
                    now=now,
                    extra={
                        "encoding": encoding,
                        "segments": parts,
                        "provider_message_id": accepted.provider_message_id,
                    },
                    awaiting_receipt=accepted.awaits_receipt,
                )
            else:
                assert self.email is not None
                await self.email.send(to=address, subject=rendered.subject or "", text=rendered.text)
                await self._finish(notification, DeliveryStatus.SENT, provider="smtp", now=now)
        except (SmsError, OSError, Exception) as exc:  # every provider failed: recorded, published, not retried forever
            log.warning(
                "notification_failed", notification_id=notification_id, channel=channel, error=type(exc).__name__
            )
            await self._finish(notification, DeliveryStatus.FAILED, detail=str(exc)[:300], now=now)

    async def _finish(
        self,
        notification: dict[str, Any],
        status: DeliveryStatus,
        *,
        now: datetime,
        provider: str | None = None,
        detail: str | None = None,
        extra: dict[str, Any] | None = None,
        awaiting_receipt: bool = False,
    ) -> None:
        stored_status = "sending" if awaiting_receipt else status.value
        delivery = NotificationDelivery(
            notification_id=notification["_id"],
            dossier_id=notification["dossier_id"],
            dossier_code=notification["dossier_code"],
            channel=notification["channel"],
            status=status,
            provider=provider,
            source_event_id=notification["event_id"],
            attempts=notification["attempts"],
            detail=detail,
            occurred_at=now,
        )
        event = self.publisher.new_event(
            Topics.NOTIFICATION_DELIVERY, subject=notification["dossier_code"], data=delivery.model_dump(mode="json")
        )
        update = with_outbox(
            {
                "$set": {
                    "status": stored_status,
                    "provider": provider,
                    "detail": detail,
                    "finished_at": now,
                    **(extra or {}),
                }
            },
            outbox_entry(Topics.NOTIFICATION_DELIVERY, event, key=notification["dossier_id"]),
        )
        await self.store.update_notification(notification["_id"], update, guard=lambda n: n["status"] == "sending")
        if self.relay is not None:
            self.relay.kick(notification["_id"])
        log.info(
            "notification_sent" if status is DeliveryStatus.SENT else "notification_not_sent",
            notification_id=notification["_id"],
            channel=notification["channel"],
            status=stored_status,
            provider=provider,
        )

    async def on_receipt(self, notification_id: str, delivered: bool, *, now: datetime | None = None) -> bool:
        """A provider's delivery receipt for a message that is 'sending'; False when unknown or already final."""
        notification = await self.store.notifications.find_one({"_id": notification_id})
        if notification is None or notification["status"] != "sending":
            return False
        status = DeliveryStatus.DELIVERED if delivered else DeliveryStatus.FAILED
        await self._finish(notification, status, provider=notification.get("provider"), now=now or datetime.now(UTC))
        return True

    async def run_workers(self, *, now: datetime | None = None) -> None:
        """One pass of the background work: deferred SMS, receipt time-outs, due webhook deliveries.

        Each scan runs only when its kind of work can exist (quiet hours set, a provider with receipts,
        a subscription): on FerretDB every scan reads the whole collection (docs/performance.md).
        """
        now = now or datetime.now(UTC)
        if self.settings.quiet_hours:
            await self._send_deferred(now)
        if any(p.receipts for p in self.settings.sms_providers) and now >= self._next_receipt_scan:
            self._next_receipt_scan = now + timedelta(seconds=min(30.0, self.settings.receipt_timeout))
            await self._expire_receipts(now)
        if await self.store.subscriptions.find_one({"active": True}) is not None:
            for delivery in await self.store.due_deliveries(now):
                await self._deliver_webhook(delivery, now=now)

    async def _send_deferred(self, now: datetime) -> None:
        for waiting in await self.store.notifications_where({"status": "deferred"}):
            if waiting["send_after"] <= now:
                dossier = await self.store.dossier(waiting["dossier_id"])
                if dossier is not None:
                    await self._send(waiting["_id"], dossier=dossier, now=now)
        timeout = now - timedelta(seconds=self.settings.receipt_timeout)
        for stuck in await self.store.notifications_where({"status": "sending"}):
            if stuck.get("finished_at") and stuck["finished_at"] <= timeout:
                await self._finish(
                    stuck,
                    DeliveryStatus.FAILED,
                    detail="no delivery receipt in time",
                    now=now,
                    provider=stuck.get("provider"),
                )
        for delivery in await self.store.due_deliveries(now):
            await self._deliver_webhook(delivery, now=now)

    # -- webhooks -------------------------------------------------------------------------------
    async def subscribe(self, *, url: str, events: list[str], secret: str | None) -> dict[str, Any]:
        """Register an app back end; deliveries are signed with the returned secret."""
        doc = {
            "_id": secrets.token_hex(8),
            "url": url,
            "events": events,
            "secret": secret or secrets.token_urlsafe(32),
            "active": True,
            "created_at": datetime.now(UTC),
        }
        await self.store.subscriptions.insert_one(doc)
        return doc

    async def _queue_webhooks(self, event: CloudEvent, *, now: datetime) -> None:
        for sub in await self.store.subscriptions_for(event.type):
            body = {
                "id": event.id,
                "type": event.type,
                "subject": event.subject,
                "time": event.time.isoformat(),
                "data": {k: v for k, v in event.data.items() if k not in ("contact", "tracking_token_sha256")},
            }
            try:
                await self.store.deliveries.insert_one(
                    {
                        "_id": f"{event.id}:{sub['_id']}",
                        "subscription_id": sub["_id"],
                        "url": sub["url"],
                        "body": body,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                        "log": [],
                    }
                )
            except Exception as exc:
                if "duplicate" not in str(exc).lower() and "E11000" not in str(exc):
                    raise

    async def _deliver_webhook(self, delivery: dict[str, Any], *, now: datetime) -> None:
        sub = await self.store.subscriptions.find_one({"_id": delivery["subscription_id"]})
        if sub is None:
            return
        body = json.dumps(delivery["body"], ensure_ascii=False, separators=(",", ":")).encode()
        ts = int(time.time())
        headers = {
            "content-type": "application/json",
            "X-LienThong-Signature": sign_webhook(sub["secret"], ts, body),
            "X-LienThong-Event-Id": delivery["body"]["id"],
        }
        attempts = delivery["attempts"] + 1
        try:
            response = await self.http.post(delivery["url"], content=body, headers=headers, timeout=10)
            ok, outcome = response.status_code < 300, f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok, outcome = False, type(exc).__name__
        backoff = self.settings.webhook_backoff
        if ok:
            update = {"$set": {"status": "delivered", "attempts": attempts, "delivered_at": now}}
        elif attempts > len(backoff):
            update = {"$set": {"status": "failed", "attempts": attempts, "failed_at": now}}
        else:
            update = {"$set": {"attempts": attempts, "next_attempt_at": now + timedelta(seconds=backoff[attempts - 1])}}
        update["$push"] = {"log": {"at": now, "outcome": outcome}}
        await self.store.deliveries.find_one_and_update({"_id": delivery["_id"]}, update)
        log.info("webhook_attempt", delivery_id=delivery["_id"], attempt=attempts, outcome=outcome)

    async def resend(self, delivery_id: str) -> bool:
        """Admin: put a permanently failed delivery back in the queue."""
        found = await self.store.deliveries.find_one({"_id": delivery_id})
        if found is None or found["status"] != "failed":
            return False
        await self.store.deliveries.find_one_and_update(
            {"_id": delivery_id}, {"$set": {"status": "pending", "attempts": 0, "next_attempt_at": datetime.now(UTC)}}
        )
        return True
