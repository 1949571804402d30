"""The ``lienthong`` command: operators' tools (API keys, development tokens, offices, dead letters)."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import typer
from aiokafka.errors import KafkaError
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
contract_app = typer.Typer(
    help="The published contract: AsyncAPI and OpenAPI documents under docs/.", no_args_is_help=True
)
app.add_typer(contract_app, name="contract")
SERVICES = ("intake", "routing", "resolution", "notify")
T = TypeVar("T")
console = Console()


def _with_kafka(settings: BaseServiceSettings, work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` against Kafka; a refused connection exits 1 with its cause, not a traceback."""
    causes: list[str] = []

    class _Causes(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            causes.append(record.getMessage())

    # aiokafka raises only "Unable to bootstrap"; why (refused SASL credentials, TLS) it logs as an error
    handler = _Causes(logging.ERROR)
    logging.getLogger("aiokafka").addHandler(handler)
    try:
        return asyncio.run(work)
    except KafkaError as exc:
        where = f"{settings.kafka_bootstrap_servers} ({settings.kafka_security_protocol})"
        typer.echo(f"error: Kafka at {where}: {exc}" + "".join(f"\n  {c}" for c in causes[-3:]), err=True)
        raise typer.Exit(1) from exc
    finally:
        logging.getLogger("aiokafka").removeHandler(handler)


def _topic(topic: str) -> str:
    if topic not in Topics.ALL:
        raise typer.BadParameter(f"unknown topic {topic!r}; one of: {', '.join(Topics.ALL)}")
    return topic


@dlq_app.command("list")
def dlq_list(topic: str = typer.Argument(..., help="Logical topic, e.g. dossier.received.v1")) -> None:
    """List the dead letters of TOPIC with the error that sent each one there."""
    settings = BaseServiceSettings()
    letters = _with_kafka(settings, list_dead_letters(settings, _topic(topic)))
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
    settings = BaseServiceSettings()
    letters = _with_kafka(settings, replay_dead_letters(settings, _topic(topic)))
    console.print(f"replayed {len(letters)} message(s) to {topic}")


@topics_app.command("create")
def topics_create(
    replication_factor: int | None = typer.Option(
        None, help="Replication factor for new topics (default KAFKA_TOPIC_REPLICATION_FACTOR; 3 in production)."
    ),
) -> None:
    """Create every topic and its DLQ if missing (partitions, replication and retention from the settings)."""
    settings = BaseServiceSettings()
    _with_kafka(settings, ensure_topics(settings, replication_factor=replication_factor))
    console.print(f"topics ready on {settings.kafka_bootstrap_servers}: {', '.join(Topics.ALL)} (+ .dlq)")


def contract_documents() -> dict[str, dict[str, Any]]:
    """``asyncapi/<service>.json`` and ``openapi/<service>.json`` of every service, built from its code."""
    documents: dict[str, dict[str, Any]] = {}
    for service in SERVICES:
        settings_module = importlib.import_module(f"services.{service}.settings")
        settings_cls = next(
            v for k, v in vars(settings_module).items() if k.endswith("Settings") and k != "BaseServiceSettings"
        )
        # fixed settings: the documents must not depend on the environment they are generated in
        settings = settings_cls(environment="development", kafka_topic_prefix="", log_format="console")
        application = importlib.import_module(f"services.{service}.bootstrap").bootstrap(settings)
        documents[f"asyncapi/{service}.json"] = application.state.runtime.asyncapi()
        documents[f"openapi/{service}.json"] = application.openapi()
    return documents


def render_document(document: dict[str, Any]) -> str:
    """Stable JSON text of a contract document (sorted keys, so diffs show real changes)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@contract_app.command("write")
def contract_write(
    docs: Path = typer.Option(Path("docs"), help="Folder that holds asyncapi/ and openapi/."),
    check: bool = typer.Option(False, "--check", help="Only compare; exit 1 when a stored document is stale."),
) -> None:
    """Generate every service's AsyncAPI 3 and OpenAPI document (or check the stored ones against the code)."""
    stale = []
    for name, document in contract_documents().items():
        path = docs / name
        text = render_document(document)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if check and stale:
        console.print(f"stale contract documents (run `lienthong contract write`): {', '.join(stale)}")
        raise typer.Exit(1)
    console.print(f"{'checked' if check else 'written'}: {len(SERVICES) * 2} documents under {docs}/")


def _register_service_commands() -> None:
    importlib.import_module("services.data_cli").register(app)  # archive, erase, dump/restore: all four stores
    for service in SERVICES:
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
