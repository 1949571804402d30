"""Notify's Prometheus figures: outcomes by channel and provider, and the SMS failover state."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from services.notify.adapters.metrics import NotifyMetrics
from services.notify.adapters.sms import FailoverSender, SmsMessage
from tests.unit.notify.builders import PHONE, received
from tests.unit.notify.fakes import FakeProvider, FakeSms
from tests.unit.notify.test_handlers import World


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    assert value is not None, f"{name}{labels} is not exposed"
    return value


async def test_sent_and_failed_notifications_are_counted_by_channel_and_provider() -> None:
    """An SMS that goes out counts sent for its provider; when every try fails it counts failed with no provider."""
    registry = CollectorRegistry()
    sms = FakeSms()
    w = World(sms=sms, outcomes=NotifyMetrics(registry, sms=None, smtp=False), send_retry_backoff=[30])
    await w.feed(received())
    assert _value(registry, "lienthong_notifications_total", channel="sms", provider="fake", outcome="sent") == 1

    sms.failing = True
    await w.feed(received())
    w.clock.advance(seconds=30)
    await w.notifier.run_workers()
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
