"""Every alert rule in deploy/prometheus/ reads series that the four running services really expose.

The services run as processes against the real Kafka and store; their /metrics are scraped and each rule's
expression is read (tests/support/promql.py): every metric it names must be exposed by some service, with the
label values its equality matchers ask for and the labels its by/without clauses group on. Then the figures are
checked to move: a poison message raises DLQ depth, a dossier makes consumer lag visible per partition.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import yaml

from shared.topics import Topics
from tests.support.infra import KAFKA
from tests.support.kafka import produce_raw
from tests.support.processes import System
from tests.support.promql import _LABEL, parse, satisfied, series
from tests.support.waiting import eventually

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "technical.json"
RUNBOOK = REPO / "docs" / "operations.md"
#: series Prometheus writes itself for every target (not on any /metrics page)
SYNTHETIC = {"up"}


def _scrape(system: System) -> dict[str, list[dict[str, str]]]:
    merged: dict[str, list[dict[str, str]]] = {}
    for name, proc in system.services.items():
        response = httpx.get(f"{proc.url}/metrics", timeout=30)
        assert response.status_code == 200, name
        for metric, samples in series(response.text).items():
            merged.setdefault(metric, []).extend(samples)
    return merged


def _rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def _check(expr: str, exposed: dict[str, list[dict[str, str]]]) -> list[str]:
    usage = parse(expr)
    problems = []
    for selector in usage.selectors:
        if selector.metric in SYNTHETIC:
            continue
        samples = exposed.get(selector.metric)
        if not samples:
            problems.append(f"{selector.metric} is not exposed")
        elif not satisfied(selector, samples):
            problems.append(f"{selector.metric}{selector.matchers} matches no exposed sample")
    labels = {label for s in usage.selectors for sample in exposed.get(s.metric, []) for label in sample}
    missing = usage.grouping_labels - labels - {"job", "instance"}
    if missing:
        problems.append(f"grouping on labels no series has: {sorted(missing)}")
    return problems


def test_every_alert_rule_reads_exposed_series(system: System) -> None:
    """Each rule's metrics, matcher values and grouping labels exist on the running services' /metrics."""
    exposed = _scrape(system)
    rules = _rules()
    assert len(rules) >= 10
    problems = {rule["alert"]: p for rule in rules if (p := _check(rule["expr"], exposed))}
    assert not problems, json.dumps(problems, indent=2)


def test_every_alert_has_a_runbook_section() -> None:
    """Each alert's runbook_url points at a heading that exists in docs/operations.md."""
    text = RUNBOOK.read_text()
    anchors = {_anchor(line.lstrip("#").strip()) for line in text.splitlines() if line.startswith("#")}
    for rule in _rules():
        url = rule["annotations"]["runbook_url"]
        assert url.startswith("docs/operations.md#"), rule["alert"]
        assert url.split("#", 1)[1] in anchors, f"{rule['alert']}: no section {url}"


def _anchor(heading: str) -> str:
    return "".join(c for c in heading.lower().replace(" ", "-") if c.isalnum() or c in "-_")


def test_dashboard_panels_read_exposed_series(system: System) -> None:
    """Every query of the technical Grafana dashboard names series the services expose."""
    exposed = _scrape(system)
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    assert len(exprs) >= 8
    problems = {e: p for e in exprs if (p := _check(e.replace("$__rate_interval", "5m"), exposed))}
    assert not problems, json.dumps(problems, indent=2)


async def test_dlq_depth_and_lag_follow_a_poison_message(system: System) -> None:
    """A record that is not a CloudEvent goes to the DLQ: routing's /metrics shows the DLQ depth rise by one."""
    topic = f"{system.prefix}.{Topics.DOSSIER_RECEIVED}"
    dlq = f"{topic}.dlq"
    routing = system["routing"].url

    async def scrape() -> dict[str, list[tuple[dict[str, str], float]]]:
        async with httpx.AsyncClient(timeout=30) as http:
            text = (await http.get(f"{routing}/metrics")).text
        values: dict[str, list[tuple[dict[str, str], float]]] = {}
        for line in text.splitlines():
            if line.startswith(("lienthong_dlq_depth{", "lienthong_kafka_consumer_lag{")):
                name, labels = line.split("{", 1)[0], dict(_LABEL.findall(line))
                values.setdefault(name, []).append((labels, float(line.rsplit(" ", 1)[1])))
        return values

    def depth(values: dict[str, list[tuple[dict[str, str], float]]]) -> float:
        return next((v for labels, v in values.get("lienthong_dlq_depth", []) if labels["topic"] == dlq), -1.0)

    before = depth(await scrape())
    assert before >= 0, "routing does not report the depth of its DLQ"
    await produce_raw(KAFKA, topic, b"not a cloud event", key=b"poison-metrics")
    values = await eventually(scrape, until=lambda v: depth(v) >= before + 1, timeout=60)
    partitions = {
        labels["partition"] for labels, _ in values["lienthong_kafka_consumer_lag"] if labels["topic"] == topic
    }
    assert partitions == {"0", "1", "2"}, "one lag series per partition of the topic (3 in the suite)"
