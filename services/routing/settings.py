"""Settings of the routing service (environment variables; see README)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from shared.settings import BaseServiceSettings


class RoutingSettings(BaseServiceSettings):
    """Routing settings: the shared base plus what only this service needs."""

    service_name: str = "routing"
    port: int = Field(default=8002, validation_alias=AliasChoices("ROUTING_PORT"), description="HTTP port.")
    mongodb_database: str = Field(
        default="lienthong_routing",
        validation_alias=AliasChoices("ROUTING_MONGODB_DATABASE"),
        description="This service's own database.",
    )
