"""Settings of the resolution service (environment variables; see README)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from shared.settings import BaseServiceSettings


class ResolutionSettings(BaseServiceSettings):
    """Resolution settings: the shared base plus what only this service needs."""

    service_name: str = "resolution"
    port: int = Field(
        default=8003, validation_alias=AliasChoices("RESOLUTION_PORT"), description="HTTP port."
    )
    mongodb_database: str = Field(
        default="lienthong_resolution",
        validation_alias=AliasChoices("RESOLUTION_MONGODB_DATABASE"),
        description="This service's own database.",
    )
