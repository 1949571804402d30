"""Settings of the intake service (environment variables; see README)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

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
