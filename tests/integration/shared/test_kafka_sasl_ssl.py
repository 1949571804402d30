"""Every Kafka client talks SASL_SSL (SCRAM-SHA-512 over TLS) to the local broker's secured listener.

deploy/local/infra.sh starts the broker with a SASL_SSL listener beside PLAINTEXT: its own CA and
certificate, a SCRAM user, and the settings a client needs in ``kafka-sasl/client.env``. The clients here
are the ones the services and operators use: the service broker (FastStream producer and consumer group),
the admin client (topic creation), the aiokafka consumer of the DLQ tools, and the ``lienthong`` CLI.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError
from prometheus_client import CollectorRegistry

from shared.broker import EventPublisher, kafka_client_options, make_broker, subscribe
from shared.dlq import list_dead_letters
from shared.envelope import CloudEvent
from shared.settings import BaseServiceSettings
from shared.topics import Topics, dlq_of
from tests.support.infra import KAFKA_SASL_CLIENT_ENV, SESSION_PREFIXES, local_infra

LIENTHONG = Path(sys.executable).with_name("lienthong")


def _client_env() -> dict[str, str]:
    if not KAFKA_SASL_CLIENT_ENV.is_file():
        if not local_infra():
            pytest.skip(f"external Kafka: no local SASL_SSL listener ({KAFKA_SASL_CLIENT_ENV} is absent)")
        pytest.fail(
            f"{KAFKA_SASL_CLIENT_ENV} is missing: the local broker was started without its SASL_SSL listener "
            "(deploy/local/infra.sh restart-kafka adds it)"
        )
    lines = KAFKA_SASL_CLIENT_ENV.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.fixture
def sasl_env(isolation: str) -> Iterator[dict[str, str]]:
    """Environment of a client of the SASL_SSL listener, isolated by a topic prefix."""
    env = {**_client_env(), "KAFKA_TOPIC_PREFIX": f"{isolation}.", "KAFKA_TOPIC_PARTITIONS": "2"}
    SESSION_PREFIXES.add(env["KAFKA_TOPIC_PREFIX"])
    yield env


def _settings(env: dict[str, str], **overrides: Any) -> BaseServiceSettings:
    values = {key.lower(): value for key, value in env.items()}
    return BaseServiceSettings(**{**values, "service_name": "sasltest", **overrides})


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # the CLI reads only its environment: drop any PLAINTEXT settings the suite runs with
    base = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    return subprocess.run(
        [str(LIENTHONG), *args], env={**base, **env}, capture_output=True, text=True, timeout=120, check=False
    )


async def test_cli_admin_producer_and_consumer_over_sasl_ssl(sasl_env: dict[str, str]) -> None:
    """`lienthong topics create` makes the topics over SASL_SSL; a service broker publishes and consumes there."""
    done = _cli(sasl_env, "topics", "create")
    assert done.returncode == 0, done.stdout + done.stderr

    settings = _settings(sasl_env)
    assert settings.kafka_security_protocol == "SASL_SSL" and settings.kafka_ssl_cafile
    admin = AIOKafkaAdminClient(**kafka_client_options(settings))
    await admin.start()
    try:
        listed = set(await admin.list_topics())
    finally:
        await admin.close()
    wanted = {settings.topic(t) for t in Topics.ALL} | {settings.topic(dlq_of(t)) for t in Topics.ALL}
    assert wanted <= listed, f"missing topics: {sorted(wanted - listed)}"

    received: asyncio.Queue[CloudEvent] = asyncio.Queue()

    async def handler(event: CloudEvent) -> None:
        await received.put(event)

    broker = make_broker(settings, registry=CollectorRegistry())
    subscribe(broker, settings, topic=Topics.DOSSIER_STATUS, group="sasl", handler=handler)
    await broker.start()
    try:
        publisher = EventPublisher(broker, settings)
        event = publisher.new_event(Topics.DOSSIER_STATUS, subject="00070.TTHCC-261202-0001", data={"status": "x"})
        await publisher.publish(Topics.DOSSIER_STATUS, event, key="dossier-sasl")
        got = await asyncio.wait_for(received.get(), timeout=60)
    finally:
        await broker.stop()
    assert got.id == event.id and got.data == {"status": "x"}

    # the operators' DLQ tools read with their own aiokafka consumer: an empty DLQ, read over SASL_SSL
    assert await list_dead_letters(settings, Topics.DOSSIER_STATUS) == []
    listed_dlq = _cli(sasl_env, "dlq", "list", Topics.DOSSIER_STATUS)
    assert listed_dlq.returncode == 0, listed_dlq.stdout + listed_dlq.stderr


async def test_a_wrong_password_is_refused_clearly(sasl_env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    """With a wrong SCRAM password no client gets in, and the error says the credentials were refused."""
    wrong = {**sasl_env, "KAFKA_SASL_PASSWORD": sasl_env["KAFKA_SASL_PASSWORD"] + "-wrong"}
    producer = AIOKafkaProducer(**kafka_client_options(_settings(wrong)))
    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError):
        try:
            await producer.start()
        finally:
            await producer.stop()
    # aiokafka's exception says only "Unable to bootstrap"; the cause is in its error log
    assert any("SaslAuthenticationFailed" in r.getMessage() for r in caplog.records), caplog.text

    done = _cli(wrong, "topics", "create")
    assert done.returncode == 1
    assert "SaslAuthenticationFailed" in done.stderr and "invalid credentials" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


async def test_the_listener_refuses_a_client_without_tls(sasl_env: dict[str, str]) -> None:
    """The secured port speaks only TLS: a SASL client that skips TLS does not get a session."""
    plain = {**sasl_env, "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}
    producer = AIOKafkaProducer(**kafka_client_options(_settings(plain)), request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):
        try:
            await producer.start()
        finally:
            await producer.stop()
