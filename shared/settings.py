"""Settings base shared by every service (pydantic-settings; nothing else reads os.environ)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    kafka_consumer_workers: int = Field(
        default=4, ge=1, description="Partitions a consumer processes concurrently (order kept within a partition)."
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

    outbox_poll_interval: float = Field(
        default=0.5, gt=0, description="Longest wait of the outbox relay between two runs."
    )
    outbox_sweep_interval: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between full sweeps for events a crash or outage left unpublished "
        "(a sweep also runs at start and after every failure).",
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

    def topic(self, name: str) -> str:
        """Physical topic name for a logical topic constant."""
        return f"{self.kafka_topic_prefix}{name}"
