"""Where the real infrastructure is, and how a test stops and starts it (through deploy/local/infra.sh)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "deploy" / "local" / "infra.sh"

KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or "127.0.0.1:9092"
MONGO = os.environ.get("MONGODB_URL") or "mongodb://127.0.0.1:27017"


#: topic prefixes this test session used (their topics are deleted when the session ends)
SESSION_PREFIXES: set[str] = set()


def infra_settings(*, prefix: str) -> dict[str, str]:
    """Settings values for a service under test: real Kafka and store, own topics and databases."""
    SESSION_PREFIXES.add(f"{prefix}.")
    return {
        "kafka_bootstrap_servers": KAFKA,
        "mongodb_url": MONGO,
        "kafka_topic_prefix": f"{prefix}.",
        "environment": "test",
        "log_format": "console",
        "outbox_poll_interval": "0.2",
        "kafka_topic_partitions": "3",
    }


async def delete_session_topics() -> int:
    """Delete the topics of this session's prefixes, so the broker does not accumulate thousands of partitions."""
    from aiokafka.admin import AIOKafkaAdminClient

    if not SESSION_PREFIXES:
        return 0
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA, request_timeout_ms=10_000)
    await admin.start()
    try:
        ours = [t for t in await admin.list_topics() if t.startswith(tuple(SESSION_PREFIXES))]
        for start in range(0, len(ours), 200):
            await admin.delete_topics(ours[start : start + 200])
        return len(ours)
    finally:
        await admin.close()


def infra(command: str) -> None:
    """Run ``deploy/local/infra.sh COMMAND`` (e.g. ``stop-kafka``); fails the test if it fails."""
    subprocess.run(["bash", str(INFRA), command], check=True, timeout=180, cwd=REPO)


DATA = Path(os.environ.get("LIENTHONG_DATA") or REPO / ".data" / "infra")
#: client settings of the local broker's SASL_SSL listener (deploy/local/infra.sh writes them)
KAFKA_SASL_CLIENT_ENV = DATA / "kafka-sasl" / "client.env"


def postgres_rows(sql: str) -> list[list[str]]:
    """Rows of ``sql`` run by psql on the local store's PostgreSQL (deploy/local/infra.sh's cluster)."""
    psql = next(Path("/usr/lib/postgresql").glob("*/bin/psql"), None) or "psql"
    where = ["-h", "127.0.0.1", "-p", os.environ.get("POSTGRES_PORT", "5433"), "-U", "lienthong", "-d", "lienthong"]
    done = subprocess.run(
        [str(psql), "-X", "-tA", "-F", "\t", *where, "-c", sql],
        env={**os.environ, "PGPASSWORD": (DATA / "postgres.password").read_text().strip()},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def local_infra() -> bool:
    """True when the suite runs against the local Kafka/FerretDB that it may stop and start."""
    return not os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and not os.environ.get("MONGODB_URL")
