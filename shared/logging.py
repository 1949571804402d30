"""Structured logging (structlog, JSON by default) that never writes personal data in clear."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from shared.pii import mask_citizen_id, mask_email, mask_phone, scrub
from shared.telemetry import trace_ids

_MASKERS = {
    "citizen_id": mask_citizen_id,
    "cccd": mask_citizen_id,
    "phone": mask_phone,
    "to": mask_phone,
    "email": mask_email,
}


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _mask_field(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(v) for v in value]
    return value


def _mask_field(key: str, value: Any) -> Any:
    masker = _MASKERS.get(key)
    if masker is not None and isinstance(value, str):
        return masker(value)
    return _scrub_value(value)


def add_trace_ids(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the current trace and span id, so a log line leads to its trace (and back)."""
    for key, value in trace_ids().items():
        event_dict.setdefault(key, value)
    return event_dict


def scrub_personal_data(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask known personal fields and scrub ID/phone/e-mail shapes anywhere."""
    for key in list(event_dict):
        event_dict[key] = _mask_field(key, event_dict[key])
    return event_dict


def configure_logging(*, service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Route structlog and the standard library (uvicorn, aiokafka, FastStream) through one scrubbing pipeline."""
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        scrub_personal_data,
        # after the scrubber: a hex trace id may hold twelve digits in a row, which it would take for a citizen ID
        add_trace_ids,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared_processors],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "pymongo", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> Any:
    """A bound structlog logger; log snake_case event names with context as keywords."""
    return structlog.get_logger(name)
