"""HTTP conventions of every service: JSON errors with a ``code``, probes, metrics, body-size limit."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import INFRASTRUCTURE_ERRORS
from shared.logging import get_logger

log = get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]


class ErrorBody(BaseModel):
    """Every error answer: a machine-readable ``code`` and a human ``message``."""

    code: str = Field(examples=["validation_error"])
    message: str = Field(examples=["applicant.citizen_id: must be 12 digits"])
    details: list[dict[str, Any]] | None = None


class ApiError(Exception):
    """Raise in a route to answer ``status`` with a JSON error body."""

    def __init__(self, status: int, code: str, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_response(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> JSONResponse:
    """A JSON error response in the common shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(status_code=status, content=body)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the error body for ``statuses``."""
    return {s: {"model": ErrorBody} for s in statuses}


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Map validation, HTTP and unexpected errors to the common JSON shape (never an HTML 500)."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {
                "field": _field_path(err.get("loc", ())),
                "message": err.get("msg", "invalid"),
                "type": err.get("type", "value_error"),
            }
            for err in exc.errors()
        ]
        first = details[0] if details else {"field": "body", "message": "invalid request"}
        code = "malformed_json" if any(d["type"] == "json_invalid" for d in details) else "validation_error"
        return error_response(422, code, f"{first['field']}: {first['message']}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.detail, dict) and "code" in exc.detail:
            return error_response(exc.status_code, exc.detail["code"], exc.detail.get("message", ""))
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        response = error_response(exc.status_code, code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("http_dependency_unavailable", path=request.url.path, error_type=type(exc).__name__)
        response = error_response(503, "unavailable", "a dependency (store or broker) is unavailable; retry shortly")
        response.headers["Retry-After"] = "2"
        return response

    for error in INFRASTRUCTURE_ERRORS:
        app.add_exception_handler(error, _unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("http_unhandled_error", path=request.url.path, error_type=type(exc).__name__, error=str(exc))
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


class BodySizeLimit:
    """ASGI middleware: refuse bodies over ``max_bytes`` with 413 before the route reads them.

    File uploads (paths ending in ``/file``) get ``upload_max_bytes`` instead: documents are larger than JSON.
    """

    UPLOAD_SUFFIX = "/file"

    def __init__(self, app: ASGIApp, *, max_bytes: int, upload_max_bytes: int | None = None) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = str(scope.get("path", "")).endswith(self.UPLOAD_SUFFIX)
        limit = self.upload_max_bytes if upload else self.default_max_bytes
        await self._limited(scope, receive, send, limit)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self._reject(send, max_bytes)
            return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    too_large = True
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._reject(send, max_bytes)

    async def _reject(self, send: Send, max_bytes: int) -> None:
        response = error_response(413, "payload_too_large", f"request body exceeds the limit of {max_bytes} bytes")
        await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


class _TooLarge(Exception):
    pass


def install_http_metrics(app: FastAPI, registry: CollectorRegistry, *, service: str) -> None:
    """Request counts and latency by route template (never by raw path, which may carry codes)."""
    requests = Counter(
        "lienthong_http_requests",
        "HTTP requests",
        ["service", "method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "lienthong_http_request_seconds",
        "HTTP request latency",
        ["service", "method", "route"],
        registry=registry,
    )

    @app.middleware("http")
    async def _metrics(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        requests.labels(service, request.method, template, str(response.status_code)).inc()
        latency.labels(service, request.method, template).observe(time.perf_counter() - start)
        return response


def probes_router(checks: Mapping[str, ReadinessCheck], registry: CollectorRegistry) -> APIRouter:
    """``/healthz`` (alive), ``/readyz`` (every dependency answers) and ``/metrics`` (Prometheus)."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: Kafka and the store are reachable",
        responses={503: {"description": "a dependency is unreachable"}},
    )
    async def readyz() -> JSONResponse:
        results = {name: await check() for name, check in checks.items()}
        ready = all(results.values())
        return JSONResponse(
            status_code=200 if ready else 503,
            content={"status": "ready" if ready else "unavailable", "checks": results},
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
