"""Log lines carry the trace and span id of the span they were written in, unscrubbed; none outside a trace."""

from __future__ import annotations

import json

import pytest
from opentelemetry import trace

from shared.logging import configure_logging, get_logger
from shared.telemetry import setup_tracing


def _lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_a_line_inside_a_span_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    """trace_id/span_id equal the current span's ids in W3C hex form; a line outside any span has neither."""
    setup_tracing(service="logtest", otlp_endpoint=None)
    configure_logging(service="logtest", level="INFO", fmt="json")
    log = get_logger("logtest")
    tracer = trace.get_tracer("logtest")
    log.info("outside_any_trace")
    with tracer.start_as_current_span("request") as span:
        context = span.get_span_context()
        log.info("inside_a_trace", dossier_code="00070.TTHCC-261122-0001")
        with tracer.start_as_current_span("child") as child:
            log.info("inside_a_child")
            child_id = format(child.get_span_context().span_id, "016x")
    lines = {line["event"]: line for line in _lines(capsys.readouterr().out)}
    assert "trace_id" not in lines["outside_any_trace"]
    inside = lines["inside_a_trace"]
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")
    assert lines["inside_a_child"]["trace_id"] == inside["trace_id"]
    assert lines["inside_a_child"]["span_id"] == child_id


def test_trace_ids_are_not_taken_for_personal_data(capsys: pytest.CaptureFixture[str]) -> None:
    """A trace id with twelve digits in a row stays whole (the scrubber would read a citizen ID in it)."""
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    configure_logging(service="logtest", level="INFO", fmt="json")
    trace_id = int("ab" + "123456789012" + "cd" * 9, 16)
    context = SpanContext(trace_id, 0x1234567890123456, is_remote=False, trace_flags=TraceFlags(1))
    with trace.use_span(NonRecordingSpan(context)):
        get_logger("logtest").info("with_digit_run")
    (line,) = [line for line in _lines(capsys.readouterr().out) if line["event"] == "with_digit_run"]
    assert line["trace_id"] == format(trace_id, "032x")
    assert line["span_id"] == "1234567890123456"
