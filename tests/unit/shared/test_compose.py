"""docker-compose.yml (the production path we cannot run here) parses and agrees with each service's settings."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

REPO = Path(__file__).resolve().parents[3]
SERVICES = {"intake": 8001, "routing": 8002, "resolution": 8003, "notify": 8004}


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


def test_compose_has_infrastructure_and_official_images() -> None:
    """Kafka (apache/kafka, KRaft), MongoDB, the collector and a trace viewer are declared."""
    services = _compose()["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["mongo"]["image"].startswith("mongo:")
    assert "otel-collector" in services and "jaeger" in services


@pytest.mark.parametrize(("service", "port"), SERVICES.items())
def test_service_environment_matches_its_settings(service: str, port: int) -> None:
    """Every variable compose sets is a setting of that service, ports agree, and the image builds that service."""
    spec = _compose()["services"][service]
    env = spec["environment"]
    unknown = set(env) - _env_names(_settings_cls(service))
    assert not unknown, f"{service}: compose sets variables its settings do not read: {sorted(unknown)}"
    assert int(env[f"{service.upper()}_PORT"]) == port == _settings_cls(service)().port
    assert spec["ports"] == [f"{port}:{port}"]
    assert spec["build"]["args"]["SERVICE"] == service
    assert (REPO / spec["build"]["dockerfile"]).is_file()
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092" and env["MONGODB_URL"].startswith("mongodb://mongo:")
