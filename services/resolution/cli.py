"""``lienthong token``: development JWTs for officials and operators (ENVIRONMENT=development only)."""

from __future__ import annotations

import typer

from services.resolution.entrypoints.auth import ROLES, mint_dev_token
from services.resolution.settings import ResolutionSettings


def token(
    office: str = typer.Option(..., "--office", help="Office code, e.g. 00070.UBND"),
    role: list[str] = typer.Option(
        ..., "--role", help="clerk, specialist, leader, operations, national, operator or auditor (repeatable)"
    ),
    sub: str = typer.Option("dev-official", "--sub", help="Official's user id"),
    hours: int = typer.Option(12, "--hours", help="Validity in hours"),
) -> None:
    """Print a development token for an official or operator of OFFICE (signed with the public development key)."""
    if not set(role) <= ROLES:
        raise typer.BadParameter(f"roles must be among {', '.join(sorted(ROLES))}")
    try:
        typer.echo(mint_dev_token(ResolutionSettings(), office=office, roles=role, sub=sub, hours=hours))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def register(app: typer.Typer) -> None:
    """Add the resolution commands to the ``lienthong`` CLI."""
    app.command("token")(token)
