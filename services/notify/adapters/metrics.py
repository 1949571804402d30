"""Prometheus figures of notify: outcomes by channel and provider, SMS provider failover state."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from services.notify.adapters.sms import FailoverSender
from shared.events import DeliveryStatus
from shared.metrics import counter, gauge

#: outcomes counted: the ones notification.delivery.v1 publishes (sent, delivered, failed, suppressed)
OUTCOMES = sorted(s.value for s in DeliveryStatus)
#: provider label when no provider took the message (suppressed, or every provider failed)
NO_PROVIDER = "none"


class NotifyMetrics:
    """Counters and gauges on the service's registry; label sets created up front so rates start at 0."""

    def __init__(self, registry: CollectorRegistry, *, sms: FailoverSender | None, smtp: bool) -> None:
        self._sms = sms
        self.outcomes = counter(
            registry,
            "lienthong_notifications",
            "Notification outcomes by channel and provider",
            ["channel", "provider", "outcome"],
        )
        self.provider_attempts = counter(
            registry,
            "lienthong_sms_provider_attempts",
            "SMS hand-offs to a provider, by result (ok or failed)",
            ["provider", "result"],
        )
        self.provider_demoted = gauge(
            registry,
            "lienthong_sms_provider_demoted",
            "1 while an SMS provider is demoted after a failure (failover to the next one)",
            ["provider"],
        )
        sms_providers = [p.name for p in sms.providers] if sms is not None else []
        for outcome in OUTCOMES:
            for provider in [*sms_providers, NO_PROVIDER]:
                self.outcomes.labels(channel="sms", provider=provider, outcome=outcome)
            for provider in (["smtp"] if smtp else []) + [NO_PROVIDER]:
                self.outcomes.labels(channel="email", provider=provider, outcome=outcome)
        for outcome in ("delivered", "failed"):
            self.outcomes.labels(channel="webhook", provider="webhook", outcome=outcome)
        for provider in sms_providers:
            self.provider_demoted.labels(provider=provider).set(0)
            for result in ("ok", "failed"):
                self.provider_attempts.labels(provider=provider, result=result)

    def outcome(self, *, channel: str, provider: str | None, outcome: str) -> None:
        """Count one outcome of one notification."""
        self.outcomes.labels(channel=channel, provider=provider or NO_PROVIDER, outcome=outcome).inc()

    def provider_attempt(self, provider: str, ok: bool) -> None:
        """Count one hand-off to an SMS provider (FailoverSender's observer)."""
        self.provider_attempts.labels(provider=provider, result="ok" if ok else "failed").inc()

    async def refresh(self) -> None:
        """Failover state at scrape time."""
        if self._sms is None:
            return
        demoted = set(self._sms.demoted())
        for provider in self._sms.providers:
            self.provider_demoted.labels(provider=provider.name).set(1 if provider.name in demoted else 0)
