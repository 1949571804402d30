"""The Helm chart lints and renders, and the rendered manifests hold what matters in production.

helm is built once from the Go module proxy into the cache by deploy/helm/install-helm.sh (a few minutes the
first time, then reused); without Go the tests skip and say so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "deploy" / "helm" / "lienthong"
EXAMPLE = CHART / "examples" / "existing-kafka-mongo.yaml"
SERVICES = {"intake": 8001, "routing": 8002, "resolution": 8003, "notify": 8004}
SECRETISH = re.compile(r"(SECRET|TOKEN|PASSWORD|PII_HASH_KEY|MONGODB_URL|SMS_PROVIDERS|JWT_PUBLIC_KEY)$")

# the first build of helm takes minutes on a busy machine
pytestmark = pytest.mark.timeout(1200)


@pytest.fixture(scope="session")
def helm() -> str:
    """Path of the cached helm binary (built on first use)."""
    if shutil.which("go") is None:
        pytest.skip("Go is not installed: helm is built from the Go module proxy (deploy/helm/install-helm.sh)")
    result = subprocess.run(
        ["bash", str(REPO / "deploy" / "helm" / "install-helm.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"building helm failed:\n{result.stderr[-3000:]}"
    return result.stdout.strip().splitlines()[-1]


def _render(helm: str, *args: str) -> list[dict[str, Any]]:
    result = subprocess.run([helm, "template", "lt", str(CHART), *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def manifests(helm: str) -> list[dict[str, Any]]:
    """The chart rendered with the example values (existing SASL_SSL Kafka, MongoDB replica set)."""
    return _render(helm, "-f", str(EXAMPLE))


def _of_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["labels"]["app.kubernetes.io/component"]: m for m in manifests if m["kind"] == kind}


@pytest.mark.parametrize("values", [[], ["-f", str(EXAMPLE)]], ids=["defaults", "example"])
def test_helm_lint(helm: str, values: list[str]) -> None:
    """helm lint finds no error with the default values nor with the example."""
    result = subprocess.run([helm, "lint", "--strict", str(CHART), *values], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_has_its_objects(manifests: list[dict[str, Any]]) -> None:
    """One Deployment, Service, PodDisruptionBudget, HPA and NetworkPolicy per service."""
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"):
        assert set(_of_kind(manifests, kind)) == set(SERVICES), kind


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.parametrize("service", SERVICES)
def test_probes_on_healthz_and_readyz(manifests: list[dict[str, Any]], service: str) -> None:
    """Liveness and start-up probe /healthz, readiness probes /readyz, on the service's port."""
    container = _container(_of_kind(manifests, "Deployment")[service])
    assert container["ports"] == [{"name": "http", "containerPort": SERVICES[service], "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    env = {e["name"]: e for e in container["env"]}
    assert env[f"{service.upper()}_PORT"]["value"] == str(SERVICES[service])


@pytest.mark.parametrize("service", SERVICES)
def test_runs_as_non_root_with_limits(manifests: list[dict[str, Any]], service: str) -> None:
    """Non-root user, no privilege escalation, read-only root, all capabilities dropped, requests and limits."""
    deployment = _of_kind(manifests, "Deployment")[service]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    container = _container(deployment)
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    for part in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][part]), f"{service}: {part}"
    assert pod["terminationGracePeriodSeconds"] > 20  # 10 s HTTP drain + 10 s consumers


@pytest.mark.parametrize("service", SERVICES)
def test_secrets_come_from_secrets_never_inline(manifests: list[dict[str, Any]], service: str) -> None:
    """Every secret-like variable is a secretKeyRef; none has an inline value; no Secret object carries values."""
    container = _container(_of_kind(manifests, "Deployment")[service])
    env = {e["name"]: e for e in container["env"]}
    for name, entry in env.items():
        if SECRETISH.search(name):
            assert "value" not in entry, f"{service}: {name} inline"
            assert entry["valueFrom"]["secretKeyRef"]["key"] == name
    for name in ("MONGODB_URL", "PII_HASH_KEY", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
        assert "secretKeyRef" in env[name]["valueFrom"], f"{service}: {name}"
    assert env["KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
    assert env["KAFKA_SSL_CAFILE"]["value"].startswith("/etc/lienthong/kafka-ca/")
    assert env["ENVIRONMENT"]["value"] == "production"
    assert not [m for m in manifests if m["kind"] == "Secret"], "the chart must not carry secret values"


def test_service_specific_secrets(manifests: list[dict[str, Any]]) -> None:
    """Receipt secret, SMS providers and personal-data keys come from Secrets; JWTs are checked against a JWKS."""
    deployments = _of_kind(manifests, "Deployment")
    expected = {
        "intake": {"PII_ENCRYPTION_KEY", "CONTACT_SEALING_KEY"},
        "notify": {"NOTIFY_RECEIPT_SECRET", "NOTIFY_SMS_PROVIDERS", "PII_ENCRYPTION_KEY", "CONTACT_SEALING_KEY"},
    }
    for service, names in expected.items():
        env = {e["name"]: e for e in _container(deployments[service])["env"]}
        assert all("secretKeyRef" in env[n]["valueFrom"] for n in names), service
    for service in ("intake", "routing", "resolution", "notify"):
        env = {e["name"]: e for e in _container(deployments[service])["env"]}
        assert env["JWT_JWKS_URL"]["value"].startswith("https://"), service
    resolution = deployments["resolution"]
    mounts = {m["name"]: m for m in _container(resolution)["volumeMounts"]}
    assert mounts["signing-keys"]["readOnly"] is True
    volumes = {v["name"]: v for v in resolution["spec"]["template"]["spec"]["volumes"]}
    assert volumes["signing-keys"]["secret"]["secretName"]


def test_topics_job_replicates_three_times_with_explicit_retention(manifests: list[dict[str, Any]]) -> None:
    """A pre-install/upgrade Job creates the topics: replication >= 3, explicit retention, DLQs kept longer."""
    (job,) = [m for m in manifests if m["kind"] == "Job"]
    assert "pre-install" in job["metadata"]["annotations"]["helm.sh/hook"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["lienthong", "topics", "create"]
    env = {e["name"]: e for e in container["env"]}
    assert int(env["KAFKA_TOPIC_REPLICATION_FACTOR"]["value"]) >= 3
    retention = int(env["KAFKA_TOPIC_RETENTION_MS"]["value"])
    dlq = int(env["KAFKA_DLQ_RETENTION_MS"]["value"])
    assert retention > 0 and dlq >= 30 * 86_400_000 and dlq > retention
    assert "secretKeyRef" in env["KAFKA_SASL_PASSWORD"]["valueFrom"]
    assert job["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_chart_refuses_replication_below_three(helm: str) -> None:
    """Rendering with replication factor 2 fails with a message naming the value."""
    result = subprocess.run(
        [helm, "template", "lt", str(CHART), "--set", "kafka.topics.replicationFactor=2"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "replicationFactor must be at least 3" in result.stderr


def test_network_policy_limits_ingress_and_egress(manifests: list[dict[str, Any]]) -> None:
    """Each policy restricts both directions; only notify may leave the cluster on 443/587."""
    for service, policy in _of_kind(manifests, "NetworkPolicy").items():
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        assert all(rule.get("from") for rule in policy["spec"]["ingress"])
        ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}
        assert (443 in ports) == (service == "notify"), service


def test_pdb_and_hpa_keep_a_replica(manifests: list[dict[str, Any]]) -> None:
    """A disruption leaves one pod; autoscaling starts at two and scales on CPU."""
    for service in SERVICES:
        assert _of_kind(manifests, "PodDisruptionBudget")[service]["spec"]["minAvailable"] >= 1
        hpa = _of_kind(manifests, "HorizontalPodAutoscaler")[service]["spec"]
        assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] >= hpa["minReplicas"]
        assert hpa["metrics"][0]["resource"]["name"] == "cpu"


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_is_a_setting_of_the_service(manifests: list[dict[str, Any]], service: str) -> None:
    """The chart sets only variables the service's settings read (a typo would be silently ignored)."""
    from tests.unit.shared.test_compose import _env_names, _settings_cls

    container = _container(_of_kind(manifests, "Deployment")[service])
    unknown = {e["name"] for e in container["env"]} - _env_names(_settings_cls(service))
    assert not unknown, f"{service}: {sorted(unknown)}"
