"""Settings of the notify service (environment variables; see services/notify/README.md)."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, Field, SecretStr

from shared.settings import BaseServiceSettings


class SmsProviderConfig(BaseModel):
    """One SMS provider: ``file`` (development) or ``http`` (a brand-name SMS gateway)."""

    name: str
    kind: str = "file"
    priority: int = 1
    url: str | None = None
    api_key: str | None = None
    receipts: bool = False


class NotifySettings(BaseServiceSettings):
    """Notify settings: the shared base plus providers, receipts, quiet hours, SMTP and webhooks."""

    service_name: str = "notify"
    port: int = Field(default=8004, validation_alias=AliasChoices("NOTIFY_PORT"), description="HTTP port.")
    mongodb_database: str = Field(
        default="lienthong_notify",
        validation_alias=AliasChoices("NOTIFY_MONGODB_DATABASE"),
        description="Own database.",
    )
    sms_outbox_path: str = Field(
        default=".data/sms-outbox.jsonl",
        validation_alias=AliasChoices("SMS_OUTBOX_PATH"),
        description="File the development SMS provider appends one JSON line per SMS to.",
    )
    sms_providers: list[SmsProviderConfig] = Field(
        default_factory=lambda: [SmsProviderConfig(name="file", kind="file", priority=1)],
        validation_alias=AliasChoices("NOTIFY_SMS_PROVIDERS"),
        description='JSON list of providers, e.g. [{"name":"viettel","kind":"http","url":"...","priority":1}].',
    )
    sms_failover_cooldown: float = Field(
        default=60.0,
        validation_alias=AliasChoices("NOTIFY_SMS_FAILOVER_COOLDOWN"),
        description="Seconds a failing provider stays demoted before it is tried first again.",
    )
    sms_ascii: bool = Field(
        default=False,
        validation_alias=AliasChoices("NOTIFY_SMS_ASCII"),
        description="Send SMS without diacritics (GSM-7, 160 characters a segment).",
    )
    receipt_secret: SecretStr = Field(
        default=SecretStr("development-receipt-secret"),
        validation_alias=AliasChoices("NOTIFY_RECEIPT_SECRET"),
        description="Shared secret SMS providers send in X-Receipt-Secret with delivery receipts.",
    )
    receipt_timeout: float = Field(
        default=3600.0,
        validation_alias=AliasChoices("NOTIFY_RECEIPT_TIMEOUT"),
        description="Seconds a message may stay 'sending' (no receipt) before it is marked failed.",
    )
    quiet_hours: str = Field(
        default="",
        validation_alias=AliasChoices("NOTIFY_QUIET_HOURS"),
        description="SMS quiet window in Vietnam time, e.g. 21:00-07:00 (SMS deferred, not dropped); empty = none.",
    )
    smtp_host: str | None = Field(
        default=None, validation_alias=AliasChoices("NOTIFY_SMTP_HOST"), description="SMTP host; unset = no e-mail."
    )
    smtp_port: int = Field(default=25, validation_alias=AliasChoices("NOTIFY_SMTP_PORT"), description="SMTP port.")
    smtp_sender: str = Field(
        default="LienThong <no-reply@lienthong.gov.vn>",
        validation_alias=AliasChoices("NOTIFY_SMTP_SENDER"),
        description="From address of e-mails.",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("NOTIFY_ADMIN_TOKEN"),
        description="Bearer token for subscriptions and re-sends; unset = those endpoints refuse all.",
    )
    webhook_backoff: list[float] = Field(
        default_factory=lambda: [10, 30, 120, 600, 3600, 21600],
        validation_alias=AliasChoices("NOTIFY_WEBHOOK_BACKOFF"),
        description="Seconds before each webhook retry; after the last, the delivery fails permanently.",
    )
    worker_interval: float = Field(
        default=0.5,
        validation_alias=AliasChoices("NOTIFY_WORKER_INTERVAL"),
        description="Seconds between runs of the webhook, deferred-SMS and receipt-timeout workers.",
    )
