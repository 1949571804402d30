"""OpenTelemetry set-up: one tracer provider per process, OTLP export when configured, W3C propagation."""

from __future__ import annotations

from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_provider: TracerProvider | None = None


def setup_tracing(*, service: str, otlp_endpoint: str | None) -> TracerProvider:
    """Install the SDK tracer provider (idempotent) so spans get real ids even without an exporter."""
    global _provider
    if _provider is not None:
        return _provider
    provider = TracerProvider(resource=Resource.create({"service.name": f"lienthong-{service}"}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces"))
        )
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def shutdown_tracing() -> None:
    """Flush and stop span export (graceful shutdown)."""
    if _provider is not None:
        _provider.shutdown()


def current_trace_headers() -> dict[str, str]:
    """W3C ``traceparent``/``tracestate`` of the current span, to store with an outbox entry."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def instrument_clients() -> None:
    """Client spans for every MongoDB command (pymongo, under motor) and every outgoing httpx request.

    Global and idempotent; call before the clients are created (pymongo registers its listener per client).
    httpx requests also carry ``traceparent``, so an SMS gateway or webhook receiver can join the trace.
    """
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    for instrumentor in (PymongoInstrumentor(), HTTPXClientInstrumentor()):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()


def trace_ids() -> dict[str, str]:
    """``trace_id`` and ``span_id`` (hex, as in traceparent) of the current span; empty outside a trace."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}


def instrument_fastapi(app: Any) -> None:
    """Server spans for every HTTP request (health probes excluded)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
