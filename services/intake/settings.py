"""Settings of the intake service (environment variables; see services/intake/README.md)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from shared.settings import BaseServiceSettings, service_database, service_port


class IntakeSettings(BaseServiceSettings):
    """Intake settings: the shared base plus what only this service needs."""

    service_name: str = "intake"
    port: int = service_port("INTAKE", 8001)
    mongodb_database: str = service_database("INTAKE", "intake")
    rate_limit: str = Field(
        default="600/minute",
        validation_alias=AliasChoices("INTAKE_RATE_LIMIT"),
        description="Requests per API key on write endpoints (limits syntax, e.g. 600/minute).",
    )
    api_key_cache_ttl: float = Field(
        default=30.0,
        ge=0,
        validation_alias=AliasChoices("INTAKE_API_KEY_CACHE_TTL"),
        description="Seconds a verified front-office key is cached per instance (0 = no cache); revocation is "
        "still checked on every request.",
    )
    relay_enabled: bool = Field(
        default=True,
        validation_alias=AliasChoices("INTAKE_RELAY_ENABLED"),
        description="Run the outbox relay in this process (off only to simulate a crash before publishing).",
    )

    def secret_values(self) -> dict[str, str | None]:
        """The base secrets and the keys of personal data."""
        return {
            **super().secret_values(),
            "PII_ENCRYPTION_KEY": self.pii_encryption_key.get_secret_value(),
            "CONTACT_SEALING_KEY": self.contact_sealing_key.get_secret_value(),
        }
