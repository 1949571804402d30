"""Settings base shared by every service (pydantic-settings; nothing else reads os.environ)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SecretsSettingsSource, SettingsConfigDict

#: environment variable naming a directory of secret files (one file per setting, named like its variable)
SECRETS_DIR_VARIABLE = "SECRETS_DIR"

DAY_MS = 86_400_000

#: Values that are public (in the source or the docs): refused everywhere but ENVIRONMENT=development.
DEVELOPMENT_SECRETS = frozenset(
    {
        "development-only-pii-key",
        "development-only-pii-encryption-key",
        "development-only-jwt-secret-change-me",
        "development-only-signing-seed",
        "development-receipt-secret",
        "development-only-contact-sealing-key",
    }
)
#: Shortest secret accepted outside development.
MIN_SECRET_LENGTH = 32


def service_port(prefix: str, default: int) -> Any:
    """The field of a service's HTTP port, read from ``<prefix>_PORT`` (the field group every service has)."""
    return Field(default=default, validation_alias=AliasChoices(f"{prefix}_PORT"), description="HTTP port.")


def service_database(prefix: str, service: str) -> Any:
    """The field of a service's own database ``lienthong_<service>``, read from ``<prefix>_MONGODB_DATABASE``."""
    return Field(
        default=f"lienthong_{service}",
        validation_alias=AliasChoices(f"{prefix}_MONGODB_DATABASE"),
        description="This service's own database.",
    )


class BaseServiceSettings(BaseSettings):
    """Connection, telemetry and logging settings every LienThong service has."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True, populate_by_name=True)

    service_name: str = "lienthong"
    environment: Literal["development", "test", "production"] = Field(
        default="development", description="Deployment environment; production refuses development keys."
    )
    http_host: str = Field(default="127.0.0.1", description="Interface the HTTP server binds to.")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Comma-separated Kafka bootstrap servers."
    )
    kafka_topic_prefix: str = Field(
        default="",
        description="Prefix put before every topic name (isolates test runs or tenants on one cluster).",
    )
    kafka_topic_partitions: int = Field(default=6, ge=1, description="Partitions for topics this service creates.")
    kafka_consumer_retries: int = Field(
        default=3, ge=0, description="Attempts for a failing message before it goes to the DLQ."
    )

    kafka_topic_replication_factor: int = Field(
        default=1, ge=1, description="Replication factor of topics created here (3 in production, min ISR 2)."
    )
    kafka_topic_retention_ms: int = Field(
        default=7 * DAY_MS, ge=-1, description="retention.ms of the event topics (-1 = keep for ever)."
    )
    kafka_dlq_retention_ms: int = Field(
        default=90 * DAY_MS,
        ge=-1,
        description="retention.ms of the dead-letter topics: long enough for someone to see and replay them.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="How every Kafka client connects (SASL_SSL in production)."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", description="SASL mechanism when the protocol is SASL_*."
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user of this service.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password of this service.")
    kafka_ssl_cafile: str | None = Field(
        default=None, description="PEM file of the CA that signed the brokers' certificates (system CAs if unset)."
    )
    kafka_ssl_certfile: str | None = Field(default=None, description="Client certificate (PEM) for mutual TLS.")
    kafka_ssl_keyfile: str | None = Field(default=None, description="Private key (PEM) of the client certificate.")
    kafka_ssl_check_hostname: bool = Field(
        default=True, description="Verify that a broker's certificate names the host connected to."
    )

    kafka_consumer_workers: int = Field(
        default=16,
        ge=1,
        description="Dossier keys a consumer processes at once within a batch (each key's events in order).",
    )
    kafka_consumer_batch_size: int = Field(
        default=100, ge=1, description="Most records a consumer takes from Kafka in one batch (one commit)."
    )
    kafka_consumer_batch_timeout_ms: int = Field(
        default=100, ge=0, description="Longest wait of a consumer's poll for its batch to fill (milliseconds)."
    )

    mongodb_url: str = Field(default="mongodb://127.0.0.1:27017", description="MongoDB wire-protocol URL.")
    mongodb_database: str = Field(default="lienthong", description="This service's own database.")

    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP endpoint for traces (e.g. http://otel-collector:4318); none = off.",
    )
    log_level: str = Field(default="INFO", description="Log level (DEBUG, INFO, WARNING, ERROR).")
    log_format: Literal["json", "console"] = Field(default="json", description="Log line format.")
    pii_hash_key: SecretStr = Field(
        default=SecretStr("development-only-pii-key"),
        description="Key for keyed hashes of personal data (citizen ID, phone) in logs and lookups.",
    )
    pii_encryption_key: SecretStr = Field(
        default=SecretStr("development-only-pii-encryption-key"),
        description="Key of the field-level encryption (AES-GCM) of citizen ID and phone at rest (intake, notify).",
    )
    contact_sealing_key: SecretStr = Field(
        default=SecretStr("development-only-contact-sealing-key"),
        description="Key shared by intake and notify only: seals the contact in dossier.received.v1 (AES-GCM).",
    )

    jwt_jwks_url: str | None = Field(
        default=None, description="JWKS URL of the identity provider (officials' and operators' tokens)."
    )
    jwt_jwks_file: str | None = Field(default=None, description="JWKS file (local use); re-read on an unknown kid.")
    jwt_jwks: SecretStr | None = Field(default=None, description="Inline JWKS JSON (local use and tests).")
    jwt_issuer: str = Field(
        default="lienthong-dev",
        validation_alias=AliasChoices("JWT_ISSUER", "RESOLUTION_JWT_ISSUER"),
        description="Expected `iss` of tokens.",
    )
    jwt_audience: str = Field(
        default="lienthong",
        validation_alias=AliasChoices("JWT_AUDIENCE", "RESOLUTION_JWT_AUDIENCE"),
        description="Expected `aud` of tokens.",
    )
    jwt_max_lifetime: float = Field(
        default=43200.0, gt=0, le=86400.0, description="Longest accepted token lifetime in seconds (exp − iat)."
    )

    outbox_poll_interval: float = Field(
        default=0.5, gt=0, description="Longest wait of the outbox relay between two runs."
    )
    outbox_sweep_interval: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between full sweeps for events a crash or outage left unpublished "
        "(a sweep also runs at start and after every failure).",
    )
    abuse_client_limit: str = Field(
        default="120/minute",
        description="Requests one client may make to a public path (tracking, verify, ...); limits syntax.",
    )
    abuse_failure_limit: str = Field(
        default="20/10 minutes",
        description="Failed attempts (wrong token, secret or API key) one client may make before 429.",
    )
    abuse_target_failure_limit: str = Field(
        default="50/hour",
        description="Failed attempts on one target (a dossier code) from all clients before 429.",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest accepted request body.")
    max_upload_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Largest body of a file upload (routes whose path ends in /file), and the largest file kept.",
    )
    tracking_page_url: str = Field(
        default="http://127.0.0.1:8004/track",
        description="Public address of the citizens' tracking page; the QR code of every printed form links to it.",
    )

    @model_validator(mode="after")
    def _kafka_security_complete(self) -> BaseServiceSettings:
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD"
            )
        if bool(self.kafka_ssl_certfile) != bool(self.kafka_ssl_keyfile):
            raise ValueError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together (mutual TLS)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then secret files from ``SECRETS_DIR`` (Docker/Kubernetes secrets) when it is set."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        secrets_dir = os.environ.get(SECRETS_DIR_VARIABLE)
        if secrets_dir and Path(secrets_dir).is_dir():
            sources.append(SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir))
        return tuple(sources)

    @field_validator("abuse_client_limit", "abuse_failure_limit", "abuse_target_failure_limit")
    @classmethod
    def _limit_syntax(cls, value: str) -> str:
        from limits import parse

        parse(value)
        return value

    def secret_values(self) -> dict[str, str | None]:
        """Secrets this service uses, by environment variable (each service adds its own)."""
        return {"PII_HASH_KEY": self.pii_hash_key.get_secret_value()}

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> BaseServiceSettings:
        """Outside ENVIRONMENT=development no public, default or short secret is accepted."""
        if self.environment == "development":
            return self
        problems = []
        for env, text in self.secret_values().items():
            if not text:
                problems.append(f"{env} must be set")
            elif text in DEVELOPMENT_SECRETS or text.startswith("development-"):
                problems.append(f"{env} is a public development value")
            elif len(text) < MIN_SECRET_LENGTH:
                problems.append(f"{env} is shorter than {MIN_SECRET_LENGTH} characters")
        if problems:
            raise ValueError(f"ENVIRONMENT={self.environment} refuses: " + "; ".join(problems))
        return self

    def topic(self, name: str) -> str:
        """Physical topic name for a logical topic constant."""
        return f"{self.kafka_topic_prefix}{name}"
