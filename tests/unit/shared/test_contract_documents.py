"""The AsyncAPI 3 and OpenAPI documents under docs/ are what the code generates, and they cover the contract.

A change of an event model, a topic, a consumer group or an HTTP route changes the generated documents: this
test fails until `lienthong contract write` (make contract) regenerates and the change is committed and seen.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from services.cli import contract_documents, render_document
from shared.asyncapi import PAYLOADS
from shared.topics import Topics, dlq_of

REPO = Path(__file__).resolve().parents[3]
DOCS = REPO / "docs"
SERVICES = ("intake", "routing", "resolution", "notify")


@pytest.fixture(scope="module")
def generated() -> dict[str, dict[str, Any]]:
    return contract_documents()


def test_stored_documents_match_the_code(generated: dict[str, dict[str, Any]]) -> None:
    """Each docs/asyncapi/*.json and docs/openapi/*.json equals what the code generates now."""
    stale = [
        name
        for name, document in generated.items()
        if not (DOCS / name).is_file() or (DOCS / name).read_text(encoding="utf-8") != render_document(document)
    ]
    assert not stale, f"stale contract documents, run `make contract` and commit them: {stale}"
    stored = {p.relative_to(DOCS).as_posix() for p in [*DOCS.glob("asyncapi/*.json"), *DOCS.glob("openapi/*.json")]}
    assert stored == set(generated), "documents under docs/ that no service generates"


def _channels(document: dict[str, Any], action: str) -> dict[str, dict[str, Any]]:
    """address -> message payload schema name, for operations of ``action`` (send / receive)."""
    found = {}
    for operation in document["operations"].values():
        if operation["action"] != action:
            continue
        channel = document["channels"][operation["channel"]["$ref"].rsplit("/", 1)[1]]
        message_ref = next(iter(channel["messages"].values()))["$ref"].rsplit("/", 1)[1]
        payload = document["components"]["messages"][message_ref]["payload"]
        found[channel["address"]] = payload
    return found


def test_every_topic_is_published_by_one_service_with_its_typed_payload(generated: dict[str, dict[str, Any]]) -> None:
    """All five topics have exactly one producer; its payload is the topic's event model with its fields."""
    producers: dict[str, list[str]] = {}
    for service in SERVICES:
        document = generated[f"asyncapi/{service}.json"]
        assert document["asyncapi"] == "3.0.0"
        for address, payload in _channels(document, "send").items():
            if address.endswith(".dlq"):
                continue
            producers.setdefault(address, []).append(service)
            schema = document["components"]["schemas"][payload["$ref"].rsplit("/", 1)[1]]
            assert schema["title"] == PAYLOADS[address].__name__
            assert set(schema["properties"]) == set(PAYLOADS[address].model_fields), address
    assert {t: len(p) for t, p in producers.items()} == dict.fromkeys(Topics.ALL, 1)


def test_every_consumer_and_its_dlq_is_documented_with_a_payload(generated: dict[str, dict[str, Any]]) -> None:
    """Each consumed topic has a non-empty payload schema and its DLQ channel."""
    consumed = 0
    for service in SERVICES:
        document = generated[f"asyncapi/{service}.json"]
        receives = _channels(document, "receive")
        sends = _channels(document, "send")
        for address, payload in receives.items():
            consumed += 1
            assert payload.get("$ref", "").endswith(PAYLOADS[address].__name__), f"{service}: {address} untyped"
            assert dlq_of(address) in sends, f"{service}: no DLQ channel for {address}"
    assert consumed >= 8


def _written_topics(service: str) -> set[str]:
    """Topics a service's code writes into outboxes or events (``outbox_entry(Topics.X`` / ``new_event(Topics.X``
    / an aggregate's ``self.record(Topics.X``)."""
    written: set[str] = set()
    for path in (REPO / "services" / service).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = node.args[0]
            if name in {"outbox_entry", "new_event", "record"} and isinstance(first, ast.Attribute):
                written.add(getattr(Topics, first.attr))
    return written


@pytest.mark.parametrize("service", SERVICES)
def test_declared_productions_are_what_the_code_writes(generated: dict[str, dict[str, Any]], service: str) -> None:
    """The topics a service declares (and documents) are exactly those its code puts into outboxes."""
    sends = {a for a in _channels(generated[f"asyncapi/{service}.json"], "send") if not a.endswith(".dlq")}
    assert sends == _written_topics(service)


def test_stored_documents_are_json() -> None:
    """The stored files parse (an editor's merge did not break them)."""
    for path in [*DOCS.glob("asyncapi/*.json"), *DOCS.glob("openapi/*.json")]:
        json.loads(path.read_text(encoding="utf-8"))
