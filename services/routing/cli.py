"""``lienthong office set-status CODE open|closed|over_capacity`` (routing picks it up within seconds)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import typer

from services.routing.adapters.store import RoutingStore
from services.routing.domain.registry import build_registry
from services.routing.settings import RoutingSettings
from shared.store import make_mongo_client, service_database

office_app = typer.Typer(help="Offices of the routing registry.", no_args_is_help=True)


@office_app.command("set-status")
def set_status(
    code: str = typer.Argument(..., help="Office code, e.g. 00070.UBND"),
    status: str = typer.Argument(..., help="open, closed or over_capacity"),
) -> None:
    """Open, close or mark an office over capacity."""
    if status not in ("open", "closed", "over_capacity"):
        raise typer.BadParameter("status must be open, closed or over_capacity")
    if build_registry().get(code) is None:
        raise typer.BadParameter(f"no office {code!r}")

    async def run() -> None:
        settings = RoutingSettings()
        client = make_mongo_client(settings)
        try:
            await RoutingStore(service_database(client, settings)).set_status(code, status, datetime.now(UTC))
        finally:
            client.close()

    asyncio.run(run())
    typer.echo(f"{code}: {status}")


def register(app: typer.Typer) -> None:
    """Add the routing commands to the ``lienthong`` CLI."""
    app.add_typer(office_app, name="office")
