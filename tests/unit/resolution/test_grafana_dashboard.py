"""deploy/grafana/operations-centre.json: valid JSON whose queries name only metrics the services expose."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from services.resolution.adapters.business_metrics import BusinessMetrics

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "operations-centre.json"
TECHNICAL = {"lienthong_http_requests_total", "lienthong_http_request_seconds_bucket"}  # shared/http.py


def exposed() -> set[str]:
    """Sample names the business metrics expose (with Prometheus' _total suffix on counters)."""
    registry = CollectorRegistry()
    metrics = BusinessMetrics(registry)
    metrics.received("01")
    metrics.resolved("01", late=False, refused=False)
    metrics.set_overdue({"01": 1})
    return {s.name for family in registry.collect() for s in family.samples}


def test_every_query_names_an_exposed_metric_and_the_province_variable() -> None:
    """Each panel query uses only metric names the resolution service really exposes (a renamed metric
    would leave the dashboard silently empty), and business panels honour the province variable."""
    dashboard = json.loads(DASHBOARD.read_text("utf-8"))
    known = exposed() | TECHNICAL
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 10
    for expr in exprs:
        names = set(re.findall(r"\blienthong_[a-z_]+", expr))
        assert names and names <= known, (expr, names - known)
        if "lienthong_dossiers" in expr:
            assert 'province=~"$province"' in expr, expr
    assert dashboard["templating"]["list"][0]["name"] == "province"
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_one_overdue_figure_exposed_for_every_province_from_the_start() -> None:
    """``lienthong_dossiers_overdue{province}`` is the one overdue-now figure: 0 for every province before any case
    (an alert or panel reading it is never empty), and no rule or dashboard reads a second overdue gauge."""
    registry = CollectorRegistry()
    BusinessMetrics(registry)
    samples = {
        s.labels["province"]: s.value
        for family in registry.collect()
        for s in family.samples
        if s.name == "lienthong_dossiers_overdue"
    }
    assert len(samples) == 34 and set(samples.values()) == {0.0}
    deploy = DASHBOARD.parents[1]
    for path in (deploy / "prometheus" / "alerts.yml", deploy / "grafana" / "technical.json", DASHBOARD):
        names = set(re.findall(r"\blienthong_[a-z_]*overdue[a-z_]*", path.read_text("utf-8")))
        assert names <= {"lienthong_dossiers_overdue", "lienthong_cases_overdue_unflagged"}, (path.name, names)
        assert "lienthong_dossiers_overdue" in names, path.name
