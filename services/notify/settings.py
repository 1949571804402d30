"""Settings of the notify service (environment variables; see README)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from shared.settings import BaseServiceSettings


class NotifySettings(BaseServiceSettings):
    """Notify settings: the shared base plus what only this service needs."""

    service_name: str = "notify"
    port: int = Field(default=8004, validation_alias=AliasChoices("NOTIFY_PORT"), description="HTTP port.")
    mongodb_database: str = Field(
        default="lienthong_notify",
        validation_alias=AliasChoices("NOTIFY_MONGODB_DATABASE"),
        description="This service's own database.",
    )
