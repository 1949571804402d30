"""``lienthong office set-status CODE STATUS`` (an :class:`OfficeStatus`; routing picks it up within seconds)."""

from __future__ import annotations

import asyncio
import getpass
from datetime import UTC, datetime

import typer

from services.routing.adapters.repositories import MongoOfficeStatuses
from services.routing.domain.offices import OfficeStatus
from services.routing.domain.registry import build_registry
from services.routing.settings import RoutingSettings
from shared.audit import AuditTrail
from shared.store import make_mongo_client, service_database

office_app = typer.Typer(help="Offices of the routing registry.", no_args_is_help=True)


@office_app.command("set-status")
def set_status(
    code: str = typer.Argument(..., help="Office code, e.g. 00070.UBND"),
    status: OfficeStatus = typer.Argument(..., help="The office's new status."),
) -> None:
    """Open, close or mark an office over capacity."""
    if build_registry().get(code) is None:
        raise typer.BadParameter(f"no office {code!r}")

    async def run() -> None:
        settings = RoutingSettings()
        client = make_mongo_client(settings)
        try:
            db = service_database(client, settings)
            await MongoOfficeStatuses(db).set(code, status, at=datetime.now(UTC))
            # the command line is an operator too: who ran it goes into the audit trail
            await AuditTrail(db, service="routing").record(
                f"cli:{getpass.getuser()}", "office.set_status", code, details={"status": status.value}
            )
        finally:
            client.close()

    asyncio.run(run())
    typer.echo(f"{code}: {status.value}")


def register(app: typer.Typer) -> None:
    """Add the routing commands to the ``lienthong`` CLI."""
    app.add_typer(office_app, name="office")
