"""``lienthong data archive|erase`` and ``lienthong store dump|restore``: the data lifecycle of the four stores.

An operator's tool: it works on each service's own database with that service's settings
(``<SERVICE>_MONGODB_DATABASE``, keys), by the declarations in ``services/<service>/adapters/lifecycle.py``.
docs/data-lifecycle.md and docs/operations.md.
"""

from __future__ import annotations

import asyncio
import getpass
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import typer

from services.intake.adapters.lifecycle import LIFECYCLE as INTAKE
from services.intake.settings import IntakeSettings
from services.notify.adapters.lifecycle import LIFECYCLE as NOTIFY
from services.notify.settings import NotifySettings
from services.resolution.adapters.lifecycle import LIFECYCLE as RESOLUTION
from services.resolution.settings import ResolutionSettings
from services.routing.adapters.lifecycle import LIFECYCLE as ROUTING
from services.routing.settings import RoutingSettings
from shared.audit import AuditTrail
from shared.backup import dump_database, restore_database
from shared.lifecycle import ServiceLifecycle, archive_finished, cutoff, dossiers_of_citizen, erase_personal_data
from shared.pii import PersonalDataKeys
from shared.settings import DAY_MS, BaseServiceSettings
from shared.store import make_mongo_client

T = TypeVar("T")

data_app = typer.Typer(help="Data lifecycle: archive finished dossiers, erase a citizen's personal data.")
store_app = typer.Typer(help="Back up and restore the services' databases (mongodump's directory layout).")

#: each service's lifecycle with its settings class, in the order erasure visits them (intake, which finds
#: the citizen's dossiers, last: an interrupted erasure can simply be run again)
SERVICES: tuple[tuple[ServiceLifecycle, type[BaseServiceSettings]], ...] = (
    (ROUTING, RoutingSettings),
    (RESOLUTION, ResolutionSettings),
    (NOTIFY, NotifySettings),
    (INTAKE, IntakeSettings),
)
CITIZEN_ID = re.compile(r"\d{12}")


def _chosen(only: list[str] | None) -> list[tuple[ServiceLifecycle, type[BaseServiceSettings]]]:
    names = [lifecycle.service for lifecycle, _ in SERVICES]
    unknown = sorted(set(only or []) - set(names))
    if unknown:
        raise typer.BadParameter(f"unknown service(s) {', '.join(unknown)}; one of: {', '.join(names)}")
    return [(lc, cls) for lc, cls in SERVICES if not only or lc.service in only]


async def _each_database(
    chosen: list[tuple[ServiceLifecycle, type[BaseServiceSettings]]],
    work: Callable[[ServiceLifecycle, BaseServiceSettings, Any], Awaitable[T]],
) -> list[T]:
    """Run ``work`` on each chosen service's own database, one client per service."""
    results = []
    for lifecycle, settings_cls in chosen:
        settings = settings_cls()
        client = make_mongo_client(settings, socketTimeoutMS=120_000)
        try:
            results.append(await work(lifecycle, settings, client[settings.mongodb_database]))
        finally:
            client.close()
    return results


@data_app.command("archive")
def archive(
    older_than_days: float = typer.Option(
        365.0, "--older-than-days", help="Archive aggregates finished at least this many days ago."
    ),
    service: list[str] | None = typer.Option(None, "--service", help="Only these services (repeatable)."),
) -> None:
    """Move finished dossiers, cases, routes and messages older than N days to each store's *_archive collections."""
    retention_days = BaseServiceSettings().kafka_topic_retention_ms / DAY_MS
    if older_than_days < retention_days:
        # an event of the dossier may still be redelivered from Kafka: it must find the live aggregate
        raise typer.BadParameter(
            f"--older-than-days must be at least the event topics' retention ({retention_days:g} days, "
            "KAFKA_TOPIC_RETENTION_MS)"
        )
    before = cutoff(datetime.now(UTC), older_than_days)

    async def run(lifecycle: ServiceLifecycle, _: BaseServiceSettings, db: Any) -> str:
        report = await archive_finished(db, lifecycle, before=before)
        await AuditTrail(db, service=lifecycle.service).record(
            f"cli:{getpass.getuser()}",
            "data.archive",
            f"finished before {before.isoformat()}",
            details={"moved": report.moved, "kept_busy": report.kept_busy},
        )
        moved = ", ".join(f"{name} {n}" for name, n in report.moved.items()) or "nothing to archive"
        return f"{lifecycle.service}: {moved}"

    for line in asyncio.run(_each_database(_chosen(service), run)):
        typer.echo(line)


@data_app.command("erase")
def erase(
    citizen_id: str = typer.Option(
        ..., "--citizen-id", prompt=True, hide_input=True, help="The applicant's citizen ID (asked when omitted)."
    ),
    reason: str = typer.Option(..., "--reason", help="The request's reference (e.g. the data-subject request no.)."),
) -> None:
    """Erase or pseudonymise a citizen's personal data in every service's store; the dossiers' legal record stays."""
    if not CITIZEN_ID.fullmatch(citizen_id):
        raise typer.BadParameter("a citizen ID has 12 digits", param_hint="--citizen-id")
    request = str(uuid.uuid4())
    now = datetime.now(UTC)
    intake = IntakeSettings()
    citizen_hash = PersonalDataKeys.from_settings(intake).hash(citizen_id)

    async def find() -> list[str]:
        async def of(lifecycle: ServiceLifecycle, _: BaseServiceSettings, db: Any) -> list[str]:
            return await dossiers_of_citizen(db, lifecycle, citizen_hash)

        (ids,) = await _each_database([(INTAKE, IntakeSettings)], of)
        return ids

    dossier_ids = asyncio.run(find())

    async def run(lifecycle: ServiceLifecycle, _: BaseServiceSettings, db: Any) -> str:
        changed = await erase_personal_data(db, lifecycle, dossier_ids, now=now)
        # the audit names the request and the dossiers, never the citizen ID
        await AuditTrail(db, service=lifecycle.service).record(
            f"cli:{getpass.getuser()}",
            "personal_data.erase",
            f"request {request}",
            details={"reason": reason, "dossiers": dossier_ids, "changed": changed},
            at=now,
        )
        return f"{lifecycle.service}: " + (", ".join(f"{c} {n}" for c, n in changed.items()) or "no personal data")

    lines = asyncio.run(_each_database(list(SERVICES), run))
    typer.echo(f"request {request}: {len(dossier_ids)} dossier(s)")
    for line in lines:
        typer.echo(line)


@store_app.command("dump")
def dump(
    out: Path = typer.Option(..., "--out", help="Directory to write; one folder per database inside."),
    service: list[str] | None = typer.Option(None, "--service", help="Only these services (repeatable)."),
) -> None:
    """Dump each service's database as BSON files with index metadata (the layout mongorestore reads)."""

    async def run(_: ServiceLifecycle, settings: BaseServiceSettings, db: Any) -> str:
        counts = await dump_database(db, out / settings.mongodb_database)
        return f"{settings.mongodb_database}: {sum(counts.values())} documents in {len(counts)} collections"

    for line in asyncio.run(_each_database(_chosen(service), run)):
        typer.echo(line)


@store_app.command("restore")
def restore(
    source: Path = typer.Option(..., "--from", help="Directory written by `lienthong store dump` (or mongodump)."),
    service: list[str] | None = typer.Option(None, "--service", help="Only these services (repeatable)."),
    drop: bool = typer.Option(False, "--drop", help="Drop each collection before restoring it."),
) -> None:
    """Restore each service's database from a dump (indexes first, then the documents)."""

    async def run(_: ServiceLifecycle, settings: BaseServiceSettings, db: Any) -> str:
        folder = source / settings.mongodb_database
        if not folder.is_dir():
            raise typer.BadParameter(f"{folder} is missing", param_hint="--from")
        counts = await restore_database(db, folder, drop=drop)
        return f"{settings.mongodb_database}: {sum(counts.values())} documents in {len(counts)} collections"

    for line in asyncio.run(_each_database(_chosen(service), run)):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add the lifecycle and backup commands to the ``lienthong`` CLI."""
    app.add_typer(data_app, name="data")
    app.add_typer(store_app, name="store")
