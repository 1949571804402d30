"""Settings of the intake service (environment variables; see services/intake/README.md)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from shared.officials import DEV_JWT_SECRET
from shared.settings import BaseServiceSettings


class IntakeSettings(BaseServiceSettings):
    """Intake settings: the shared base plus what only this service needs."""

    service_name: str = "intake"
    port: int = Field(default=8001, validation_alias=AliasChoices("INTAKE_PORT"), description="HTTP port.")
    mongodb_database: str = Field(
        default="lienthong_intake",
        validation_alias=AliasChoices("INTAKE_MONGODB_DATABASE"),
        description="This service's own database.",
    )
    rate_limit: str = Field(
        default="600/minute",
        validation_alias=AliasChoices("INTAKE_RATE_LIMIT"),
        description="Requests per API key on write endpoints (limits syntax, e.g. 600/minute).",
    )
    relay_enabled: bool = Field(
        default=True,
        validation_alias=AliasChoices("INTAKE_RELAY_ENABLED"),
        description="Run the outbox relay in this process (off only to simulate a crash before publishing).",
    )
    official_jwt_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("INTAKE_OFFICIAL_JWT_SECRET"),
        description="HS256 secret of officials' tokens (as resolution's); unset outside production = development.",
    )
    official_jwt_public_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("INTAKE_OFFICIAL_JWT_PUBLIC_KEY"),
        description="PEM public key of the identity provider signing officials' tokens; takes precedence.",
    )
    official_jwt_issuer: str = Field(
        default="lienthong-dev", validation_alias=AliasChoices("INTAKE_OFFICIAL_JWT_ISSUER"), description="`iss`."
    )
    official_jwt_audience: str = Field(
        default="lienthong", validation_alias=AliasChoices("INTAKE_OFFICIAL_JWT_AUDIENCE"), description="`aud`."
    )

    def effective_official_secret(self) -> str | None:
        """The HS256 secret in force (the development one only outside production)."""
        if self.official_jwt_secret is not None:
            return self.official_jwt_secret.get_secret_value()
        return DEV_JWT_SECRET if self.environment != "production" else None
