"""The ``lienthong`` command: operators' tools (API keys, development tokens, offices, dead letters)."""

from __future__ import annotations

import asyncio
import importlib

import typer
from rich.console import Console
from rich.table import Table

from shared.broker import ensure_topics
from shared.dlq import list_dead_letters, replay_dead_letters
from shared.settings import BaseServiceSettings
from shared.topics import Topics

app = typer.Typer(help="LienThong operators' command line.", no_args_is_help=True)
dlq_app = typer.Typer(help="Inspect and replay dead-letter queues.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
topics_app = typer.Typer(help="Kafka topics of the contract.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
console = Console()


def _topic(topic: str) -> str:
    if topic not in Topics.ALL:
        raise typer.BadParameter(f"unknown topic {topic!r}; one of: {', '.join(Topics.ALL)}")
    return topic


@dlq_app.command("list")
def dlq_list(topic: str = typer.Argument(..., help="Logical topic, e.g. dossier.received.v1")) -> None:
    """List the dead letters of TOPIC with the error that sent each one there."""
    letters = asyncio.run(list_dead_letters(BaseServiceSettings(), _topic(topic)))
    table = Table(title=f"{topic}.dlq ({len(letters)})")
    for column in ("partition", "offset", "event id", "error type", "error"):
        table.add_column(column)
    for letter in letters:
        table.add_row(
            str(letter.partition),
            str(letter.offset),
            letter.event_id or "-",
            letter.error_type,
            letter.error[:80],
        )
    console.print(table)


@dlq_app.command("replay")
def dlq_replay(topic: str = typer.Argument(..., help="Logical topic, e.g. dossier.received.v1")) -> None:
    """Re-publish the dead letters of TOPIC to it (each once; run after the cause is fixed)."""
    letters = asyncio.run(replay_dead_letters(BaseServiceSettings(), _topic(topic)))
    console.print(f"replayed {len(letters)} message(s) to {topic}")


@topics_app.command("create")
def topics_create(
    replication_factor: int | None = typer.Option(
        None, help="Replication factor for new topics (default KAFKA_TOPIC_REPLICATION_FACTOR; 3 in production)."
    ),
) -> None:
    """Create every topic and its DLQ if missing (partitions, replication and retention from the settings)."""
    settings = BaseServiceSettings()
    asyncio.run(ensure_topics(settings, replication_factor=replication_factor))
    console.print(f"topics ready on {settings.kafka_bootstrap_servers}: {', '.join(Topics.ALL)} (+ .dlq)")


def _register_service_commands() -> None:
    for service in ("intake", "routing", "resolution", "notify"):
        try:
            module = importlib.import_module(f"services.{service}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"services.{service}.cli":
                raise
            continue
        module.register(app)


_register_service_commands()


def main() -> None:
    """Entry point of the ``lienthong`` console script."""
    app()


if __name__ == "__main__":
    main()
