"""Poison on every consumed topic goes to its DLQ while real dossiers flow; `lienthong dlq replay` re-drives once."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from shared.broker import DLQ_HEADER_PREFIX
from shared.dlq import list_dead_letters
from shared.envelope import CloudEvent
from shared.settings import BaseServiceSettings
from shared.topics import Topics, dlq_of
from tests.e2e.conftest import api_key
from tests.e2e.test_journey import body
from tests.integration.routing.test_routing import received
from tests.support.identity import bearer
from tests.support.infra import KAFKA, REPO
from tests.support.kafka import produce_raw
from tests.support.processes import System, running_system
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(300)

#: every topic a service consumes, with the services whose consumer groups read it
CONSUMED = {
    Topics.DOSSIER_RECEIVED: {"routing", "notify"},
    Topics.DOSSIER_ROUTED: {"intake", "resolution", "notify"},
    Topics.DOSSIER_STATUS: {"intake", "routing", "notify"},
    Topics.DOSSIER_SUPPLEMENTED: {"resolution"},
}
#: services with more than one consumer group on a topic (intake: the filing office's view, the citizen's results)
GROUPS = {(Topics.DOSSIER_STATUS, "intake"): 2}


def groups_of(topic: str, service: str) -> int:
    """How many consumer groups of ``service`` read ``topic``."""
    return GROUPS.get((topic, service), 1)


OPERATOR = bearer("P01.TTPVHCC", "operator")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    prefix = f"p{uuid.uuid4().hex[:8]}"
    with running_system(
        prefix,
        tmp_path_factory.mktemp(prefix),
        {"RESOLUTION_AUTO_ACCEPT_OFFICES": "*"},
    ) as sys_:
        yield sys_


def _settings(system: System) -> BaseServiceSettings:
    return BaseServiceSettings(kafka_bootstrap_servers=KAFKA, kafka_topic_prefix=f"{system.prefix}.")


def _poison(topic: str) -> list[tuple[bytes, dict[str, str]]]:
    """Not a CloudEvent at all; a CloudEvent whose data breaks the topic's contract; an unknown event type."""
    bad_data = CloudEvent(
        source="/lienthong/attacker", type=f"vn.lienthong.{topic}", subject="x", data={"dossier_id": 42}
    )
    unknown = CloudEvent(source="/lienthong/attacker", type="vn.lienthong.unknown.v1", subject="x", data={})
    return [
        (b"\x00\xffnot an event", {"content-type": "application/json"}),
        (bad_data.value(), bad_data.headers()),
        (unknown.value(), unknown.headers()),
    ]


async def _timeline(http: httpx.AsyncClient, system: System, filed: dict[str, str]) -> list[str]:
    r = await http.get(f"{system['notify'].url}/v1/track/{filed['code']}", params={"token": filed["tracking_token"]})
    return sorted(e["kind"] for e in r.json()["timeline"]) if r.status_code == 200 else []


async def test_poison_on_every_topic_is_dead_lettered_while_dossiers_flow(system: System) -> None:
    """Three kinds of poison on each consumed topic reach its DLQ once per consumer group; a dossier still flows."""
    settings = _settings(system)
    for topic in CONSUMED:
        for value, headers in _poison(topic):
            await produce_raw(KAFKA, settings.topic(topic), value, key=b"poison", headers=headers)
    key = await api_key(system, "00070.TTHCC")
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(
            f"{system['intake'].url}/v1/dossiers", json=body("LT-HT-001"), headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code == 201, r.text
        filed = r.json()
        final = await eventually(
            lambda: _timeline(http, system, filed),
            until=lambda kinds: kinds == ["accepted", "received", "routed"],
            timeout=90,
        )
        assert final == ["accepted", "received", "routed"]
        for name in CONSUMED[Topics.DOSSIER_STATUS] | {"resolution"}:
            assert (await http.get(f"{system[name].url}/readyz")).status_code == 200, name

    for topic, groups in CONSUMED.items():

        async def letters(topic: str = topic) -> list[object]:
            return list(await list_dead_letters(settings, topic))

        readers = sum(groups_of(topic, g) for g in groups)
        found = await eventually(letters, until=lambda ls, n=3 * readers: len(ls) >= n, timeout=60)
        by_group = Counter(letter.headers[f"{DLQ_HEADER_PREFIX}consumer-group"].split(".")[-2] for letter in found)  # type: ignore[attr-defined]
        assert by_group == {g: 3 * groups_of(topic, g) for g in groups}, (topic, by_group)
        types = sorted(letter.error_type for letter in found)  # type: ignore[attr-defined]
        assert types == sorted(["EnvelopeError", "ValidationError", "PermanentError"] * readers), (topic, types)
        assert all(letter.headers[f"{DLQ_HEADER_PREFIX}retryable"] == "false" for letter in found)  # type: ignore[attr-defined]


async def _all_events(topic: str) -> list[CloudEvent]:
    """Every parseable event of ``topic`` from the beginning (stops after 3 s without a new record)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=KAFKA, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    out: list[CloudEvent] = []
    try:
        quiet = 0
        while quiet < 10:
            batch = await consumer.getmany(timeout_ms=300)
            records = [r for items in batch.values() for r in items]
            quiet = 0 if records else quiet + 1
            for r in records:
                with contextlib.suppress(Exception):
                    out.append(CloudEvent.from_kafka(r.headers, r.value))
    finally:
        await consumer.stop()
    return out


def _cli(system: System, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO,
        env=system["routing"].env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_dlq_replay_redrives_a_fixed_message_once(system: System) -> None:
    """A valid event that was dead-lettered (retries exhausted by a since-fixed fault) is routed once after replay."""
    settings = _settings(system)
    data = received()
    event = CloudEvent(
        source="/lienthong/intake",
        type="vn.lienthong.dossier.received.v1",
        subject=data.dossier_code,
        data=data.model_dump(mode="json"),
    )
    original = settings.topic(Topics.DOSSIER_RECEIVED)
    headers = {
        **event.headers(),
        f"{DLQ_HEADER_PREFIX}error": "boom (a bug since fixed)",
        f"{DLQ_HEADER_PREFIX}error-type": "RuntimeError",
        f"{DLQ_HEADER_PREFIX}retryable": "true",
        f"{DLQ_HEADER_PREFIX}original-topic": original,
        f"{DLQ_HEADER_PREFIX}original-partition": "0",
        f"{DLQ_HEADER_PREFIX}original-offset": "0",
        f"{DLQ_HEADER_PREFIX}consumer-group": f"{settings.kafka_topic_prefix}lienthong.routing.received",
        f"{DLQ_HEADER_PREFIX}failed-at": datetime.now(UTC).isoformat(),
    }
    await produce_raw(
        KAFKA,
        settings.topic(dlq_of(Topics.DOSSIER_RECEIVED)),
        event.value(),
        key=data.dossier_id.encode(),
        headers=headers,
    )
    listed = _cli(system, "dlq", "list", Topics.DOSSIER_RECEIVED)
    assert "RuntimeError" in listed

    first = _cli(system, "dlq", "replay", Topics.DOSSIER_RECEIVED)
    assert int(re.search(r"replayed (\d+)", first).group(1)) >= 1  # type: ignore[union-attr]
    async with httpx.AsyncClient(timeout=10) as http:

        async def route() -> int:
            url = f"{system['routing'].url}/v1/dossiers/{data.dossier_id}/route"
            return (await http.get(url, headers=OPERATOR)).status_code

        await eventually(route, until=lambda s: s == 200, timeout=60)

    second = _cli(system, "dlq", "replay", Topics.DOSSIER_RECEIVED)
    again = [
        letter for letter in await list_dead_letters(settings, Topics.DOSSIER_RECEIVED) if letter.event_id == event.id
    ]
    assert len(again) == 1, "the fixed message was not dead-lettered again"
    routed = [
        e
        for e in await _all_events(settings.topic(Topics.DOSSIER_ROUTED))
        if e.data.get("dossier_id") == data.dossier_id
    ]
    assert len(routed) == 1, f"exactly one decision after two replays ({second.strip()})"
