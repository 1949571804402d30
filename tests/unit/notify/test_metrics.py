"""Notify's Prometheus figures: outcomes by channel and provider, and the SMS failover state."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from services.notify.adapters.metrics import NotifyMetrics
from services.notify.adapters.sms import FailoverSender, SmsMessage
from services.notify.domain.messages import from_received
from services.notify.domain.templates import TemplateSet
from services.notify.handlers import Notifier
from services.notify.settings import NotifySettings
from tests.unit.notify.builders import PHONE, RECEIVED, cloud_event, received
from tests.unit.notify.fakes import (
    Clock,
    FakeEmail,
    FakeLive,
    FakeOutbox,
    FakeProvider,
    FakeSms,
    FakeStore,
    FakeWebhooks,
)


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    assert value is not None, f"{name}{labels} is not exposed"
    return value


def _notifier(metrics: NotifyMetrics, sms: FakeSms, clock: Clock) -> Notifier:
    return Notifier(
        store=FakeStore(),
        templates=TemplateSet().build(),
        sms=sms,
        email=FakeEmail(),
        webhook_client=FakeWebhooks(None),
        live=FakeLive(),
        settings=NotifySettings(send_retry_backoff=[30]),
        notifications_outbox=FakeOutbox(),
        deliveries_outbox=FakeOutbox(),
        clock=clock,
        outcomes=metrics,
    )


async def test_sent_and_failed_notifications_are_counted_by_channel_and_provider() -> None:
    """An SMS that goes out counts sent for its provider; when every try fails it counts failed with no provider."""
    registry = CollectorRegistry()
    metrics = NotifyMetrics(registry, sms=None, smtp=False)
    sms, clock = FakeSms(), Clock()
    notifier = _notifier(metrics, sms, clock)
    r = received()
    event = cloud_event(RECEIVED, r)
    await notifier.on_change(from_received(event.id, r), event=event)
    assert _value(registry, "lienthong_notifications_total", channel="sms", provider="fake", outcome="sent") == 1

    sms.failing = True
    other = received()
    event = cloud_event(RECEIVED, other)
    await notifier.on_change(from_received(event.id, other), event=event)
    clock.advance(seconds=30)
    await notifier.run_workers()
    assert _value(registry, "lienthong_notifications_total", channel="sms", provider="none", outcome="failed") == 1
    assert _value(registry, "lienthong_notifications_total", channel="sms", provider="fake", outcome="sent") == 1


async def test_failover_state_and_provider_attempts() -> None:
    """A failing provider is counted failed and shows demoted=1; the one that took the message counts ok."""
    primary, secondary = FakeProvider("primary", 1), FakeProvider("secondary", 2)
    sender = FailoverSender([primary, secondary], cooldown=60)
    registry = CollectorRegistry()
    metrics = NotifyMetrics(registry, sms=sender, smtp=True)
    sender.observer = metrics.provider_attempt
    assert _value(registry, "lienthong_sms_provider_demoted", provider="primary") == 0
    primary.failing = True
    await sender.send(SmsMessage(to=PHONE, text="t", dossier_code="c", event_id="e", notification_id="n"))
    await metrics.refresh()
    assert _value(registry, "lienthong_sms_provider_demoted", provider="primary") == 1
    assert _value(registry, "lienthong_sms_provider_demoted", provider="secondary") == 0
    assert _value(registry, "lienthong_sms_provider_attempts_total", provider="primary", result="failed") == 1
    assert _value(registry, "lienthong_sms_provider_attempts_total", provider="secondary", result="ok") == 1
    assert _value(registry, "lienthong_notifications_total", channel="email", provider="smtp", outcome="sent") == 0
