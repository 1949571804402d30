"""MongoDB commands and outgoing HTTP calls make client spans inside the caller's trace (real store, real server)."""

from __future__ import annotations

from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client
from shared.telemetry import instrument_clients, setup_tracing
from tests.support.http_server import serve
from tests.support.service import drop_databases


def _exporter() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    setup_tracing(service="spantest", otlp_endpoint=None).add_span_processor(SimpleSpanProcessor(exporter))
    instrument_clients()
    return exporter


async def test_mongodb_commands_are_spans_of_the_callers_trace(base_settings: dict[str, str], isolation: str) -> None:
    """An insert and a find through motor each make a client span whose parent is the caller's span."""
    exporter = _exporter()
    settings = BaseServiceSettings(**base_settings, mongodb_database=f"{isolation}_spans")
    client = make_mongo_client(settings)
    try:
        collection = client[settings.mongodb_database]["things"]
        with trace.get_tracer("test").start_as_current_span("use_case") as parent:
            await collection.insert_one({"_id": "a", "n": 1})
            await collection.find_one({"_id": "a"})
        ours = parent.get_span_context()
    finally:
        client.close()
        await drop_databases(settings.mongodb_url, settings.mongodb_database)
    spans = [s for s in exporter.get_finished_spans() if (s.attributes or {}).get("db.system") == "mongodb"]
    children = [s for s in spans if s.parent is not None and s.parent.span_id == ours.span_id]
    commands = {str((s.attributes or {}).get("db.operation") or s.name) for s in children}
    assert any("insert" in c for c in commands) and any("find" in c for c in commands), commands
    assert all(s.context.trace_id == ours.trace_id for s in children)


async def test_outgoing_http_is_a_span_and_carries_traceparent() -> None:
    """An httpx call makes a client span and sends the W3C traceparent of it to the server."""
    exporter = _exporter()
    seen: list[dict[str, Any]] = []

    async def record(request: Request) -> JSONResponse:
        seen.append(dict(request.headers))
        return JSONResponse({"message_id": "m1"})

    app = Starlette(routes=[Route("/send", record, methods=["POST"])])
    async with serve(app) as url, httpx.AsyncClient() as http:
        with trace.get_tracer("test").start_as_current_span("send_sms") as parent:
            assert (await http.post(f"{url}/send", json={"to": "x"})).status_code == 200
    trace_hex = format(parent.get_span_context().trace_id, "032x")
    (headers,) = seen
    assert headers["traceparent"].split("-")[1] == trace_hex
    clients = [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.CLIENT and "POST" in s.name]
    assert any(s.parent is not None and s.parent.span_id == parent.get_span_context().span_id for s in clients)
