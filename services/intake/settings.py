"""Settings of the intake service (environment variables; see services/intake/README.md)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, model_validator

from shared.settings import BaseServiceSettings, service_database, service_port

#: The local OpenID Connect provider started by deploy/local/oidc.sh (Dex); used only in development.
DEVELOPMENT_CITIZEN_ISSUER = "http://127.0.0.1:5556/dex"


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

    citizen_oidc_issuer: str | None = Field(
        default=None,
        description="Issuer URL of the citizens' OpenID Connect provider (VNeID). Unset: the local provider "
        f"{DEVELOPMENT_CITIZEN_ISSUER} in development, citizen login off elsewhere.",
    )
    citizen_oidc_client_id: str = Field(
        default="lienthong-portal", min_length=1, description="This portal's client id at that provider."
    )
    citizen_oidc_client_secret: SecretStr = Field(
        default=SecretStr("development-only-oidc-client-secret"),
        description="The client secret (a secret file under SECRETS_DIR outside development).",
    )
    citizen_oidc_redirect_url: str | None = Field(
        default=None,
        description="The callback registered at the provider; unset: http://127.0.0.1:<INTAKE_PORT>/citizen/callback.",
    )
    citizen_oidc_scopes: str = Field(default="openid profile email", description="Scopes asked for at login.")
    citizen_oidc_citizen_id_claim: str = Field(
        default="preferred_username",
        min_length=1,
        description="ID-token claim holding the citizen ID (the local Dex puts it in preferred_username).",
    )
    citizen_session_lifetime: float = Field(
        default=3600.0, ge=60, le=86400, description="Seconds a citizen's session lasts after login."
    )

    @property
    def citizen_issuer(self) -> str | None:
        """The provider citizens log in with, or None when citizen login is off."""
        if self.citizen_oidc_issuer:
            return self.citizen_oidc_issuer
        return DEVELOPMENT_CITIZEN_ISSUER if self.environment == "development" else None

    @property
    def citizen_redirect_url(self) -> str:
        """The callback URL given to the provider."""
        return self.citizen_oidc_redirect_url or f"http://127.0.0.1:{self.port}/citizen/callback"

    @model_validator(mode="after")
    def _citizen_login_in_production(self) -> IntakeSettings:
        """Production logs citizens in over HTTPS only (the session cookie is Secure there)."""
        if self.environment == "production" and self.citizen_issuer:
            urls = {"CITIZEN_OIDC_ISSUER": self.citizen_issuer, "CITIZEN_OIDC_REDIRECT_URL": self.citizen_redirect_url}
            for name, url in urls.items():
                if not url.startswith("https://"):
                    raise ValueError(f"ENVIRONMENT=production refuses: {name} must be an https:// URL")
        return self

    def secret_values(self) -> dict[str, str | None]:
        """The base secrets, the keys of personal data and, with citizen login on, its client secret."""
        values = {
            **super().secret_values(),
            "PII_ENCRYPTION_KEY": self.pii_encryption_key.get_secret_value(),
            "CONTACT_SEALING_KEY": self.contact_sealing_key.get_secret_value(),
        }
        if self.citizen_issuer:
            values["CITIZEN_OIDC_CLIENT_SECRET"] = self.citizen_oidc_client_secret.get_secret_value()
        return values
