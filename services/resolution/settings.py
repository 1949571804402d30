"""Settings of the resolution service (environment variables; see services/resolution/README.md)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from shared.settings import BaseServiceSettings, service_database, service_port

DEV_SIGNING_SEED = "development-only-signing-seed"


class ResolutionSettings(BaseServiceSettings):
    """Resolution settings: the shared base plus officials' tokens, signing keys and the clock loop."""

    service_name: str = "resolution"
    port: int = service_port("RESOLUTION", 8003)
    mongodb_database: str = service_database("RESOLUTION", "resolution")
    signing_keys_dir: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RESOLUTION_SIGNING_KEYS_DIR"),
        description="Directory of `<office code>.pem` Ed25519 private keys for signing results.",
    )
    signing_seed: SecretStr = Field(
        default=SecretStr(DEV_SIGNING_SEED),
        validation_alias=AliasChoices("RESOLUTION_SIGNING_SEED"),
        description="Per-office keys are derived from it when no key directory is set (never in production; "
        "outside development only a long, non-default value).",
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

    ranking_min_sample: int = Field(
        default=5,
        ge=1,
        validation_alias=AliasChoices("RESOLUTION_RANKING_MIN_SAMPLE"),
        description="Resolved dossiers an office needs in the period to be ranked (below: not ranked).",
    )
    dashboard_refresh_interval: float = Field(
        default=5.0,
        gt=0,
        validation_alias=AliasChoices("RESOLUTION_DASHBOARD_REFRESH_INTERVAL"),
        description="Longest wait of a live dashboard stream before it recomputes (changes by other instances).",
    )
    metrics_refresh_interval: float = Field(
        default=15.0,
        gt=0,
        validation_alias=AliasChoices("RESOLUTION_METRICS_REFRESH_INTERVAL"),
        description="Seconds between refreshes of the overdue gauge on /metrics.",
    )

    def secret_values(self) -> dict[str, str | None]:
        """The base secrets, plus the signing seed whenever no key directory replaces it."""
        values = super().secret_values()
        if self.signing_keys_dir is None:
            values["RESOLUTION_SIGNING_SEED"] = self.signing_seed.get_secret_value()
        return values

    def auto_accepts(self, office_code: str) -> bool:
        """True when cases at ``office_code`` are accepted automatically."""
        offices = {o.strip() for o in self.auto_accept_offices.split(",") if o.strip()}
        return "*" in offices or office_code in offices
