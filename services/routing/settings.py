"""Settings of the routing service (environment variables; see services/routing/README.md)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from shared.settings import BaseServiceSettings, service_database, service_port


class RoutingSettings(BaseServiceSettings):
    """Routing settings: the shared base plus what only this service needs."""

    service_name: str = "routing"
    port: int = service_port("ROUTING", 8002)
    mongodb_database: str = service_database("ROUTING", "routing")
    parked_retry_interval: float = Field(
        default=5.0,
        gt=0,
        validation_alias=AliasChoices("ROUTING_PARKED_RETRY_INTERVAL"),
        description="Seconds between re-reading office status and retrying parked dossiers.",
    )
