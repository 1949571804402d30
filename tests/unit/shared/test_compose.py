"""docker-compose.yml (the production path we cannot run here) parses, agrees with the settings and keeps its rules.

The rules come from issue 17: secrets only from files the documented generator writes, no public development
default, no published Kafka/MongoDB port, MongoDB with authentication, three KRaft brokers with replication
factor 3, a graceful stop longer than the services' shutdown, and a real SMS gateway.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from shared.settings import SECRETS_DIR_VARIABLE

REPO = Path(__file__).resolve().parents[3]
SERVICES = {"intake": 8001, "routing": 8002, "resolution": 8003, "notify": 8004}
GENERATOR = REPO / "deploy" / "secrets" / "generate.sh"
BROKERS = ("kafka-1", "kafka-2", "kafka-3")


def _compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _env_names(settings_cls: Any) -> set[str]:
    names: set[str] = set()
    for name, field in settings_cls.model_fields.items():
        names.add(name.upper())
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(a).upper() for a in alias.choices)
        elif isinstance(alias, str):
            names.add(alias.upper())
    return names


def _settings_cls(service: str) -> Any:
    module = importlib.import_module(f"services.{service}.settings")
    return next(v for k, v in vars(module).items() if k.endswith("Settings") and k != "BaseServiceSettings")


def _secret_targets(spec: dict[str, Any]) -> dict[str, str]:
    """target name under /run/secrets -> top-level secret name, for one service."""
    targets = {}
    for entry in spec.get("secrets", []):
        if isinstance(entry, str):
            targets[entry] = entry
        else:
            targets[entry.get("target", entry["source"])] = entry["source"]
    return targets


def test_compose_has_infrastructure_and_official_images() -> None:
    """Three Kafka brokers (apache/kafka, KRaft), MongoDB, the collector and a trace viewer are declared."""
    services = _compose()["services"]
    for broker in BROKERS:
        assert services[broker]["image"].startswith("apache/kafka:")
        assert services[broker]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["mongo"]["image"].startswith("mongo:")
    assert "otel-collector" in services and "jaeger" in services


def test_kafka_is_three_brokers_with_replication_three() -> None:
    """Every broker is a voter with its own id, internal topics are replicated 3 times with min ISR 2."""
    services = _compose()["services"]
    envs = [services[b]["environment"] for b in BROKERS]
    voters = {env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for env in envs}
    assert voters == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}
    assert sorted(int(env["KAFKA_NODE_ID"]) for env in envs) == [1, 2, 3]
    assert len({env["CLUSTER_ID"] for env in envs}) == 1
    for env, broker in zip(envs, BROKERS, strict=True):
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{broker}:9092"
        assert int(env["KAFKA_DEFAULT_REPLICATION_FACTOR"]) == 3
        assert int(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == 3
        assert int(env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"]) == 3
        assert int(env["KAFKA_MIN_INSYNC_REPLICAS"]) == 2
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    topics = services["topics"]
    assert topics["command"] == ["lienthong", "topics", "create"]
    assert int(topics["environment"]["KAFKA_TOPIC_REPLICATION_FACTOR"]) == 3


def test_infrastructure_publishes_no_port_and_sits_on_an_internal_network() -> None:
    """Kafka, MongoDB and the collector are reachable only from the internal backend network."""
    compose = _compose()
    for name in (*BROKERS, "mongo", "otel-collector"):
        assert "ports" not in compose["services"][name], f"{name} publishes a port"
        assert compose["services"][name]["networks"] == ["backend"]
    assert compose["networks"]["backend"]["internal"] is True
    for port in compose["services"]["jaeger"].get("ports", []):
        assert port.startswith("127.0.0.1:"), "the trace viewer is exposed beyond loopback"


def test_mongo_requires_authentication_and_each_service_has_its_own_user() -> None:
    """The root password comes from a secret file and an init script creates one user per service database."""
    mongo = _compose()["services"]["mongo"]
    assert mongo["environment"]["MONGO_INITDB_ROOT_PASSWORD_FILE"] == "/run/secrets/mongo_root_password"
    init = REPO / "deploy" / "docker" / "mongo-init" / "create-users.js"
    assert any(v.startswith("./deploy/docker/mongo-init:/docker-entrypoint-initdb.d") for v in mongo["volumes"])
    script = init.read_text()
    for service in SERVICES:
        assert f"mongo_{service}_password" in mongo["secrets"]
    assert 'role: "readWrite", db: database' in script and "createUser" in script


def test_no_environment_value_falls_back_to_a_default() -> None:
    """No ``${VAR:-default}`` interpolation and no secret-looking variable set inline in the file."""
    text = (REPO / "docker-compose.yml").read_text()
    assert not re.search(r"\$\{[A-Z_]+:?-", text), "a variable falls back to a default"
    secretish = re.compile(r"(SECRET|TOKEN|PASSWORD|PII_HASH_KEY|API_KEY|MONGODB_URL)$")
    for name, spec in _compose()["services"].items():
        for key in spec.get("environment", {}):
            if key.endswith("_FILE"):
                continue
            assert not secretish.search(key), f"{name} sets {key} inline instead of from a secret file"


@pytest.mark.parametrize(("service", "port"), SERVICES.items())
def test_service_environment_matches_its_settings(service: str, port: int) -> None:
    """Every variable and secret compose gives is a setting of that service, ports agree, the image builds it."""
    spec = _compose()["services"][service]
    env = spec["environment"]
    known = _env_names(_settings_cls(service)) | {SECRETS_DIR_VARIABLE}
    unknown = set(env) - known
    assert not unknown, f"{service}: compose sets variables its settings do not read: {sorted(unknown)}"
    secret_settings = {t for t in _secret_targets(spec) if t != "signing-keys"}
    assert not secret_settings - known, f"{service}: secret files its settings do not read"
    assert {"PII_HASH_KEY", "MONGODB_URL"} <= secret_settings
    assert env[SECRETS_DIR_VARIABLE] == "/run/secrets"
    assert env["ENVIRONMENT"] == "production"
    assert "MONGODB_SERIALISE_WRITES" not in env
    assert int(env[f"{service.upper()}_PORT"]) == port == _settings_cls(service)().port
    assert spec["ports"] == [f"{port}:{port}"]
    assert spec["build"]["args"]["SERVICE"] == service
    assert (REPO / spec["build"]["dockerfile"]).is_file()
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == ",".join(f"{b}:9092" for b in BROKERS)
    assert int(env["KAFKA_TOPIC_REPLICATION_FACTOR"]) == 3


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", value)
    assert match, f"unexpected duration {value!r}"
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


@pytest.mark.parametrize("service", SERVICES)
def test_stop_grace_period_outlasts_the_graceful_shutdown(service: str) -> None:
    """Docker waits longer than uvicorn's 10 s drain plus the consumers' 10 s before it kills."""
    from prometheus_client import CollectorRegistry

    from shared.broker import make_broker  # graceful_timeout of the consumers, read from the code

    consumers = make_broker(_settings_cls(service)(), registry=CollectorRegistry()).config.graceful_timeout
    assert consumers is not None and consumers > 0
    http_drain = 10  # shared.runtime.serve(timeout_graceful_shutdown=10)
    assert _seconds(_compose()["services"][service]["stop_grace_period"]) > http_drain + consumers


def test_resolution_verifies_the_identity_provider_and_signs_with_office_keys() -> None:
    """Officials' tokens are checked against the provider's JWKS; results signed with mounted keys."""
    compose = _compose()
    spec = compose["services"]["resolution"]
    targets = _secret_targets(spec)
    assert "JWT_JWKS_URL" in compose["x-service-env"] and "RESOLUTION_JWT_SECRET" not in targets
    assert targets["signing-keys"] == "signing_keys"
    assert spec["environment"]["RESOLUTION_SIGNING_KEYS_DIR"] == "/run/secrets/signing-keys"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to run deploy/secrets/generate.sh")
def test_generator_writes_every_secret_file_compose_mounts(tmp_path: Path) -> None:
    """deploy/secrets/generate.sh produces each file compose mounts; the SMS provider is a gateway, not a file."""
    key_file = tmp_path / "sms-key"
    key_file.write_text("gateway-key\n")
    out = tmp_path / "secrets"
    subprocess.run(
        [
            "bash",
            str(GENERATOR),
            "--out",
            str(out),
            "--sms-gateway-url",
            "https://sms.example.vn/send",
            "--sms-gateway-key-file",
            str(key_file),
            "--offices",
            "00070.UBND,P01.STP",
        ],
        check=True,
        capture_output=True,
    )
    for name, secret in _compose()["secrets"].items():
        relative = Path(secret["file"]).relative_to("deploy/secrets")
        assert (out / relative).exists(), f"generate.sh does not write {secret['file']} (secret {name})"
    providers = json.loads((out / "NOTIFY_SMS_PROVIDERS").read_text())
    assert [p["kind"] for p in providers] == ["http"] and providers[0]["api_key"] == "gateway-key"
    assert sorted(p.name for p in (out / "signing-keys").iterdir()) == ["00070.UBND.pem", "P01.STP.pem"]
    urls = {(out / s / "MONGODB_URL").read_text() for s in SERVICES}
    assert len(urls) == 4 and all(u.startswith("mongodb://lienthong_") and "@mongo:27017/" in u for u in urls)
    assert (out / "PII_HASH_KEY").stat().st_mode & 0o077 == 0, "secret files are readable by others"
    first = (out / "PII_HASH_KEY").read_text()
    subprocess.run(["bash", str(GENERATOR), "--out", str(out)], check=True, capture_output=True)
    assert (out / "PII_HASH_KEY").read_text() == first, "a re-run rotated a secret"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to run deploy/secrets/generate.sh")
def test_generator_refuses_without_an_sms_gateway(tmp_path: Path) -> None:
    """Without a gateway the generator stops with a clear message rather than falling back to the file provider."""
    result = subprocess.run(
        ["bash", str(GENERATOR), "--out", str(tmp_path / "s")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "--sms-gateway-url" in result.stderr


def test_generated_secret_files_load_into_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files compose mounts under /run/secrets are read by notify's settings (JSON list included)."""
    from services.notify.settings import NotifySettings

    (tmp_path / "NOTIFY_SMS_PROVIDERS").write_text('[{"name":"gw","kind":"http","url":"https://sms.example.vn"}]')
    (tmp_path / "NOTIFY_RECEIPT_SECRET").write_text("receipt-secret-from-file")
    (tmp_path / "MONGODB_URL").write_text("mongodb://lienthong_notify:pw@mongo:27017/lienthong_notify")
    monkeypatch.setenv(SECRETS_DIR_VARIABLE, str(tmp_path))
    for name in ("NOTIFY_SMS_PROVIDERS", "NOTIFY_RECEIPT_SECRET", "MONGODB_URL"):
        monkeypatch.delenv(name, raising=False)  # the environment would win over the files (as it should)
    settings = NotifySettings()
    assert [p.kind for p in settings.sms_providers] == ["http"]
    assert settings.receipt_secret.get_secret_value() == "receipt-secret-from-file"
    assert settings.mongodb_url.startswith("mongodb://lienthong_notify:")
