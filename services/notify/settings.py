"""Settings of the notify service (environment variables; see services/notify/README.md)."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from services.notify.domain.quiet_hours import parse_window
from services.notify.domain.webhooks import DEFAULT_BACKOFF
from shared.settings import BaseServiceSettings, service_database, service_port


class SmsProviderConfig(BaseModel):
    """One SMS provider: ``file`` (development) or ``http`` (a brand-name SMS gateway)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Name used in logs, delivery events and the SMS outbox file.")
    kind: Literal["file", "http"] = Field(default="file", description="file (development) or http (gateway).")
    priority: int = Field(default=1, description="Lower is tried first.")
    url: str | None = Field(default=None, description="Gateway endpoint (kind http).")
    api_key: SecretStr | None = Field(default=None, description="API key sent to the gateway.")
    api_key_header: str = Field(default="X-Api-Key", description="Header that carries the API key.")
    receipts: bool = Field(default=False, description="The gateway calls POST /v1/sms/receipts back.")

    @model_validator(mode="after")
    def _http_needs_url(self) -> SmsProviderConfig:
        if self.kind == "http" and not self.url:
            raise ValueError(f"SMS provider {self.name!r} of kind http needs a url")
        return self


class NotifySettings(BaseServiceSettings):
    """Notify settings: the shared base plus providers, receipts, quiet hours, SMTP and webhooks."""

    service_name: str = "notify"
    port: int = service_port("NOTIFY", 8004)
    mongodb_database: str = service_database("NOTIFY", "notify")
    rating_base_url: str = Field(
        default="http://127.0.0.1:8003",
        validation_alias=AliasChoices("NOTIFY_RATING_BASE_URL"),
        description="Public base URL of resolution, where the tracking page posts the citizen's rating.",
    )
    sms_outbox_path: str = Field(
        default=".data/sms-outbox.jsonl",
        validation_alias=AliasChoices("SMS_OUTBOX_PATH"),
        description="File the development SMS provider appends one JSON line per SMS to.",
    )
    sms_providers: list[SmsProviderConfig] = Field(
        default_factory=lambda: [SmsProviderConfig(name="file", kind="file", priority=1)],
        min_length=1,
        validation_alias=AliasChoices("NOTIFY_SMS_PROVIDERS"),
        description='JSON list of providers, e.g. [{"name":"viettel","kind":"http","url":"...","priority":1}].',
    )
    sms_failover_cooldown: float = Field(
        default=60.0,
        gt=0,
        validation_alias=AliasChoices("NOTIFY_SMS_FAILOVER_COOLDOWN"),
        description="Seconds a failing provider stays demoted before it is tried first again.",
    )
    sms_ascii: bool = Field(
        default=False,
        validation_alias=AliasChoices("NOTIFY_SMS_ASCII"),
        description="Send SMS without diacritics (GSM-7, 160 characters a segment) for gateways that need it.",
    )
    send_retry_backoff: list[float] = Field(
        default_factory=lambda: [30.0, 120.0, 600.0],
        validation_alias=AliasChoices("NOTIFY_SEND_RETRY_BACKOFF"),
        description="Seconds before each new try when every SMS provider (or SMTP) failed; then failed for good.",
    )
    receipt_secret: SecretStr = Field(
        default=SecretStr("development-receipt-secret"),
        validation_alias=AliasChoices("NOTIFY_RECEIPT_SECRET"),
        description="Shared secret SMS providers send in X-Receipt-Secret with delivery receipts.",
    )
    receipt_timeout: float = Field(
        default=3600.0,
        gt=0,
        validation_alias=AliasChoices("NOTIFY_RECEIPT_TIMEOUT"),
        description="Seconds a sent SMS may wait for its delivery receipt before it is marked failed.",
    )
    sending_timeout: float = Field(
        default=300.0,
        gt=0,
        validation_alias=AliasChoices("NOTIFY_SENDING_TIMEOUT"),
        description="Seconds a claimed message may stay 'sending' (a crash mid-send) before it is marked failed.",
    )
    claim_stale_after: float = Field(
        default=30.0,
        gt=0,
        validation_alias=AliasChoices("NOTIFY_CLAIM_STALE_AFTER"),
        description="Seconds after which a send claim whose holder never used it is taken over (crash recovery).",
    )
    contact_timeout: float = Field(
        default=86400.0,
        gt=0,
        validation_alias=AliasChoices("NOTIFY_CONTACT_TIMEOUT"),
        description="Seconds a message may wait for the receipt event with the contact before it is suppressed.",
    )
    quiet_hours: str = Field(
        default="",
        validation_alias=AliasChoices("NOTIFY_QUIET_HOURS"),
        description="SMS quiet window in Vietnam time, e.g. 21:00-07:00 (SMS deferred, not dropped); empty = none.",
    )
    smtp_host: str | None = Field(
        default=None,
        validation_alias=AliasChoices("NOTIFY_SMTP_HOST"),
        description="SMTP host; unset = no e-mail.",
    )
    smtp_port: int = Field(default=25, validation_alias=AliasChoices("NOTIFY_SMTP_PORT"), description="SMTP port.")
    smtp_sender: str = Field(
        default="LienThong <no-reply@lienthong.gov.vn>",
        validation_alias=AliasChoices("NOTIFY_SMTP_SENDER"),
        description="From address of e-mails.",
    )
    shutdown_grace: float = Field(
        default=10.0,
        gt=0,
        validation_alias=AliasChoices("NOTIFY_SHUTDOWN_GRACE"),
        description="Seconds a stopping process lets sends under way finish before handing them back.",
    )
    webhook_backoff: list[float] = Field(
        default_factory=lambda: list(DEFAULT_BACKOFF),
        min_length=1,
        validation_alias=AliasChoices("NOTIFY_WEBHOOK_BACKOFF"),
        description="Seconds before each webhook retry; after the last, the delivery fails permanently.",
    )
    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices("NOTIFY_WEBHOOK_ALLOWED_NETWORKS"),
        description='JSON list of CIDRs webhooks may reach although not public, e.g. ["10.20.0.0/16"]; '
        "default none (private, loopback, link-local, metadata and reserved addresses are refused).",
    )
    webhook_timeout: float = Field(
        default=10.0,
        gt=0,
        validation_alias=AliasChoices("NOTIFY_WEBHOOK_TIMEOUT"),
        description="Seconds a subscriber has to answer one delivery.",
    )
    subscriptions_cache_ttl: float = Field(
        default=2.0,
        ge=0,
        validation_alias=AliasChoices("NOTIFY_SUBSCRIPTIONS_CACHE_TTL"),
        description="Seconds an instance reuses its list of active webhook subscriptions (0: read it for every "
        "change). Changes made through this instance apply at once; other instances see them within this time.",
    )
    worker_interval: float = Field(
        default=0.5,
        gt=0,
        validation_alias=AliasChoices("NOTIFY_WORKER_INTERVAL"),
        description="Seconds between runs of the webhook, deferred-message and time-out workers.",
    )
    sweep_interval: float = Field(
        default=30.0,
        gt=0,
        validation_alias=AliasChoices("NOTIFY_SWEEP_INTERVAL"),
        description="Seconds between safety-net scans (late contacts, crashed sends, missing receipts).",
    )
    stream_poll_interval: float = Field(
        default=2.0,
        gt=0,
        validation_alias=AliasChoices("NOTIFY_STREAM_POLL_INTERVAL"),
        description="Seconds an idle live stream waits before re-reading the store (changes seen by another instance).",
    )

    @model_validator(mode="after")
    def _refuse_the_file_provider_in_production(self) -> NotifySettings:
        """The development file provider writes phone numbers in clear to disk: production sends through gateways."""
        if self.environment == "production" and (files := [p.name for p in self.sms_providers if p.kind == "file"]):
            raise ValueError(
                "ENVIRONMENT=production refuses: NOTIFY_SMS_PROVIDERS has the development file provider "
                f"{', '.join(files)} (phone numbers in clear on disk); configure an http gateway"
            )
        return self

    def secret_values(self) -> dict[str, str | None]:
        """The base secrets, the receipt secret and the keys of personal data."""
        return {
            **super().secret_values(),
            "NOTIFY_RECEIPT_SECRET": self.receipt_secret.get_secret_value(),
            "PII_ENCRYPTION_KEY": self.pii_encryption_key.get_secret_value(),
            "CONTACT_SEALING_KEY": self.contact_sealing_key.get_secret_value(),
        }

    streams_per_dossier: int = Field(
        default=5,
        ge=1,
        validation_alias=AliasChoices("NOTIFY_STREAMS_PER_DOSSIER"),
        description="Live (SSE) streams one dossier may have open on one instance.",
    )
    streams_per_client: int = Field(
        default=10,
        ge=1,
        validation_alias=AliasChoices("NOTIFY_STREAMS_PER_CLIENT"),
        description="Live (SSE) streams one client address may have open on one instance.",
    )

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_shape(cls, value: str) -> str:
        parse_window(value)
        return value.strip()

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)
        return value

    def allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """NOTIFY_WEBHOOK_ALLOWED_NETWORKS parsed."""
        return tuple(ipaddress.ip_network(c, strict=False) for c in self.webhook_allowed_networks)

    @field_validator("webhook_backoff", "send_retry_backoff")
    @classmethod
    def _positive_delays(cls, value: list[float]) -> list[float]:
        if any(v <= 0 for v in value):
            raise ValueError("every delay must be positive")
        return value
