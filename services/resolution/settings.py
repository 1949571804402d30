"""Settings of the resolution service (environment variables; see services/resolution/README.md)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from shared.officials import DEV_JWT_SECRET
from shared.settings import BaseServiceSettings

DEV_SIGNING_SEED = "development-only-signing-seed"


class ResolutionSettings(BaseServiceSettings):
    """Resolution settings: the shared base plus officials' tokens, signing keys and the clock loop."""

    service_name: str = "resolution"
    port: int = Field(default=8003, validation_alias=AliasChoices("RESOLUTION_PORT"), description="HTTP port.")
    mongodb_database: str = Field(
        default="lienthong_resolution",
        validation_alias=AliasChoices("RESOLUTION_MONGODB_DATABASE"),
        description="This service's own database.",
    )
    jwt_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("RESOLUTION_JWT_SECRET"),
        description="HS256 secret of officials' tokens; unset outside production = a built-in development secret.",
    )
    jwt_public_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RESOLUTION_JWT_PUBLIC_KEY"),
        description="PEM public key of the province identity provider (EdDSA or RS256); takes precedence.",
    )
    jwt_issuer: str = Field(
        default="lienthong-dev", validation_alias=AliasChoices("RESOLUTION_JWT_ISSUER"), description="Expected `iss`."
    )
    jwt_audience: str = Field(
        default="lienthong", validation_alias=AliasChoices("RESOLUTION_JWT_AUDIENCE"), description="Expected `aud`."
    )
    signing_keys_dir: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RESOLUTION_SIGNING_KEYS_DIR"),
        description="Directory of `<office code>.pem` Ed25519 private keys for signing results.",
    )
    signing_seed: SecretStr = Field(
        default=SecretStr(DEV_SIGNING_SEED),
        validation_alias=AliasChoices("RESOLUTION_SIGNING_SEED"),
        description="Development only: per-office keys are derived from it when no key directory is set.",
    )
    signing_key_generation: int = Field(
        default=1,
        ge=1,
        validation_alias=AliasChoices("RESOLUTION_SIGNING_KEY_GENERATION"),
        description="Development only: rotate the derived keys; generations 1..N are published, N signs.",
    )
    auto_accept_offices: str = Field(
        default="",
        validation_alias=AliasChoices("RESOLUTION_AUTO_ACCEPT_OFFICES"),
        description="Comma-separated office codes (or *) whose cases are accepted on arrival (benchmarks).",
    )
    overdue_check_interval: float = Field(
        default=1.0,
        gt=0,
        validation_alias=AliasChoices("RESOLUTION_OVERDUE_CHECK_INTERVAL"),
        description="Longest sleep of the overdue scheduler in seconds (it also wakes at the earliest due date).",
    )
    cors_origins: str = Field(
        default="http://127.0.0.1:8004,http://localhost:8004",
        validation_alias=AliasChoices("RESOLUTION_CORS_ORIGINS"),
        description="Comma-separated origins (the citizens' tracking page) allowed to post ratings from a browser.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8003",
        max_length=40,
        validation_alias=AliasChoices("RESOLUTION_PUBLIC_BASE_URL"),
        # the link goes into the result-ready and return SMS, whose segment budgets notify checks with a base
        # of this length (services/notify/domain/templates.py, RESULT_BASE_URL_MAX)
        description="Public base URL of this service (at most 40 characters, so the SMS carrying the result link "
        "keeps its segment budget): results' verification links and QR codes point here.",
    )

    def effective_jwt_secret(self) -> str | None:
        """The HS256 secret in force (the development one only outside production)."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return DEV_JWT_SECRET if self.environment != "production" else None

    def auto_accepts(self, office_code: str) -> bool:
        """True when cases at ``office_code`` are accepted automatically."""
        offices = {o.strip() for o in self.auto_accept_offices.split(",") if o.strip()}
        return "*" in offices or office_code in offices
