"""One trace from POST /v1/dossiers to the SMS gateway call, across the four service processes.

Notify sends through an HTTP SMS gateway served by this test: the gateway sees the W3C traceparent of the
trace intake started for the POST, and the log lines of every service about that dossier carry its trace id.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import api_key
from tests.e2e.test_journey import FILED_AT, body
from tests.support.http_server import Recorder, serve
from tests.support.processes import System, running_system
from tests.support.waiting import eventually


def _lines(system: System, service: str) -> list[dict[str, Any]]:
    lines = []
    for raw in system[service].log_path.read_text(errors="replace").splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


async def test_one_trace_from_the_post_to_the_sms_gateway(tmp_path_factory: pytest.TempPathFactory) -> None:
    """intake's dossier_received, routing's decision, resolution's case and notify's sends share one trace id,
    and the gateway's requests carry it in traceparent."""
    gateway = Recorder()
    async with serve(gateway.app()) as gateway_url:
        providers = [{"name": "gw", "kind": "http", "url": f"{gateway_url}/", "priority": 1}]
        prefix = f"tr{uuid.uuid4().hex[:8]}"
        workdir: Path = tmp_path_factory.mktemp(prefix)
        with running_system(prefix, workdir, {"NOTIFY_SMS_PROVIDERS": json.dumps(providers)}) as system:
            key = await api_key(system, FILED_AT)
            async with httpx.AsyncClient(timeout=30) as http:
                response = await http.post(
                    f"{system['intake'].url}/v1/dossiers",
                    json=body("LT-HT-001"),
                    headers={"Authorization": f"Bearer {key}"},
                )
            assert response.status_code == 201, response.text
            dossier_id, code = response.json()["id"], response.json()["code"]

            async def sends() -> list[dict[str, Any]]:
                return gateway.accepted

            # the receipt SMS (from intake's event) and the routed SMS (from routing's event)
            await eventually(sends, until=lambda s: len(s) >= 2, timeout=60)

            def first(service: str, event: str, **match: str) -> dict[str, Any]:
                found = [
                    line
                    for line in _lines(system, service)
                    if line.get("event") == event and all(line.get(k) == v for k, v in match.items())
                ]
                assert found, f"{service} logged no {event} for {match}"
                return found[0]

            received = first("intake", "dossier_received", dossier_id=dossier_id)
            trace_id = received["trace_id"]
            assert len(trace_id) == 32 and received["span_id"]
            await eventually(lambda: _ready(system, dossier_id, code), until=lambda ok: ok, timeout=60)
            assert first("routing", "dossier_routed", dossier_id=dossier_id)["trace_id"] == trace_id
            assert first("resolution", "case_opened", dossier_id=dossier_id)["trace_id"] == trace_id
            sent = [
                line
                for line in _lines(system, "notify")
                if line.get("event") == "notification_sent" and line.get("dossier_code") == code
            ]
            assert sent and {line["trace_id"] for line in sent} == {trace_id}
    parents = {r["headers"]["traceparent"].split("-")[1] for r in gateway.accepted}
    assert parents == {trace_id}, "the SMS gateway calls are not part of the dossier's trace"


async def _ready(system: System, dossier_id: str, code: str) -> bool:
    """Every service has logged its line about the dossier."""
    wanted = {
        "routing": ("dossier_routed", "dossier_id", dossier_id),
        "resolution": ("case_opened", "dossier_id", dossier_id),
        "notify": ("notification_sent", "dossier_code", code),
    }
    return all(
        any(line.get("event") == event and line.get(k) == v for line in _lines(system, service))
        for service, (event, k, v) in wanted.items()
    )
