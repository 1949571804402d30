"""``lienthong api-key create|revoke``: front-office keys, stored hashed, bound to a reception office."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import typer

from services.intake import handlers
from services.intake.adapters.repositories import MongoApiKeys
from services.intake.settings import IntakeSettings
from shared.audit import AuditTrail
from shared.store import make_mongo_client, service_database

T = TypeVar("T")

api_key_app = typer.Typer(help="Front-office API keys (intake).", no_args_is_help=True)


async def _with_keys(fn: Callable[[MongoApiKeys], Awaitable[T]], *, action: str, target: Callable[[T], str]) -> T:
    """Run ``fn`` with intake's API keys (database from IntakeSettings) and audit it, closing the client afterwards."""
    settings = IntakeSettings()
    client = make_mongo_client(settings)
    try:
        db = service_database(client, settings)
        keys = MongoApiKeys(db)
        await keys.ensure_indexes()
        result = await fn(keys)
        # the command line is an operator: who ran it goes into intake's audit trail
        await AuditTrail(db, service="intake").record(f"cli:{getpass.getuser()}", action, target(result))
        return result
    finally:
        client.close()


@api_key_app.command("create")
def create(office: str = typer.Option(..., "--office", help="Reception office code, e.g. 00070.TTHCC")) -> None:
    """Create a key for OFFICE and print it once (only its hash is stored)."""
    try:
        key_id, key = asyncio.run(
            _with_keys(
                lambda keys: handlers.create_api_key(office, keys=keys, now=datetime.now(UTC)),
                action="api_key.create",
                target=lambda created: f"{office}/{created[0]}",
            )
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(f"key id: {key_id}\napi key (shown once): {key}")


@api_key_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="Key id printed at creation")) -> None:
    """Revoke a key; its next request is refused, on every intake instance."""
    done = asyncio.run(
        _with_keys(
            lambda keys: handlers.revoke_api_key(key_id, keys=keys, now=datetime.now(UTC)),
            action="api_key.revoke",
            target=lambda _: key_id,
        )
    )
    if not done:
        raise typer.BadParameter(f"no active key {key_id!r}")
    typer.echo(f"revoked {key_id}")


def register(app: typer.Typer) -> None:
    """Add the intake commands to the ``lienthong`` CLI."""
    app.add_typer(api_key_app, name="api-key")
