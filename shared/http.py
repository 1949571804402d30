"""HTTP conventions of every service: JSON errors with a ``code``, probes, metrics, body-size limit."""

from __future__ import annotations

import re
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

from shared.errors import INFRASTRUCTURE_ERRORS, MESSAGES_VI, VALIDATION_VI
from shared.logging import get_logger
from shared.metrics import counter
from shared.reference.legal_clock import OutsideCalendar

log = get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]
#: Largest ``offset`` (and other counters) a query accepts: beyond it a store's skip overflows its integer.
MAX_OFFSET = 1_000_000


class ErrorBody(BaseModel):
    """Every error answer: a machine-readable ``code`` and a human ``message``."""

    code: str = Field(examples=["validation_error"])
    message: str = Field(examples=["applicant.citizen_id: must be 12 digits"])
    details: list[dict[str, Any]] | None = None


class Health(BaseModel):
    """Liveness answer: ``ok``, or ``unhealthy`` with the background tasks that died."""

    status: str = Field(examples=["ok"])
    dead: list[str] | None = Field(default=None, examples=[["outbox-relay:cases"]])


class Readiness(BaseModel):
    """Readiness answer: ``ready`` or ``unavailable`` with each dependency's check."""

    status: str = Field(examples=["ready"])
    checks: dict[str, bool] = Field(examples=[{"kafka": True, "mongodb": True}])


class ApiError(Exception):
    """Raise in a route to answer ``status`` with a JSON error body.

    ``message`` is English; ``vi`` the Vietnamese text (default: ``MESSAGES_VI`` of the code). The answer is
    in Vietnamese unless the client prefers English (``Accept-Language``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        vi: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
        self.vi = vi


Language = str  # "vi" or "en"


def negotiate_language(accept_language: str | None) -> Language:
    """``en`` when the client prefers English to Vietnamese in ``Accept-Language``; ``vi`` otherwise (the default)."""
    best: dict[str, float] = {}
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("vi", "en", "*"):
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best[primary] = max(best.get(primary, 0.0), q)
    english, vietnamese = best.get("en", 0.0), best.get("vi", best.get("*", 0.0) if "en" not in best else 0.0)
    return "en" if english > vietnamese else "vi"


def request_language(request: Request) -> Language:
    """The language of a request's error messages."""
    return negotiate_language(request.headers.get("accept-language"))


_FIELD_PREFIX = re.compile(r"^([\w.\[\]-]+): ")


def localised(language: Language, code: str, english: str, vi: str | None = None) -> str:
    """The message in ``language``: English as given, Vietnamese from ``vi`` or the code's text. The field an
    English message starts with (``applicant.phone: ...``) is kept in front of the Vietnamese text."""
    if language == "en":
        return english
    text = vi or MESSAGES_VI.get(code) or MESSAGES_VI["bad_request"]
    field = _FIELD_PREFIX.match(english)
    if field and not text.startswith(field.group(0)):
        text = f"{field.group(0)}{text}"
    return text


def _validation_vi(field: str, err: dict[str, Any]) -> str:
    """``<field>: <Vietnamese reason>`` for one pydantic error."""
    if isinstance((err.get("ctx") or {}).get("error"), OutsideCalendar):
        return f"{field}: {MESSAGES_VI['date_out_of_range']}"
    template = VALIDATION_VI.get(str(err.get("type")), VALIDATION_VI["value_error"])
    try:
        reason = template.format(**(err.get("ctx") or {}))
    except (KeyError, IndexError):
        reason = VALIDATION_VI["value_error"]
    return f"{field}: {reason}"


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    *,
    language: Language | None = None,
) -> JSONResponse:
    """A JSON error response in the common shape (``message`` already in ``language``, when given)."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    response = JSONResponse(status_code=status, content=body)
    if language is not None:
        response.headers["Content-Language"] = language
    return response


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the error body for ``statuses``."""
    return {s: {"model": ErrorBody} for s in statuses}


def route(
    register: Callable[..., Callable[[Any], Any]],
    path: str,
    model: Any,
    tag: str,
    summary: str,
    *errors: int,
    **options: Any,
) -> Callable[[Any], Any]:
    """``register`` (``router.get``, ``router.post``…) of ``path`` with its response model, tag, summary and errors."""
    return register(
        path, response_model=model, tags=[tag], summary=summary, responses=error_responses(*errors), **options
    )


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
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        language = request_language(request)
        message = localised(language, exc.code, exc.message, exc.vi)
        response = error_response(exc.status, exc.code, message, exc.details, language=language)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        language = request_language(request)
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
        if any(isinstance((err.get("ctx") or {}).get("error"), OutsideCalendar) for err in exc.errors()):
            code = "date_out_of_range"
        english = f"{first['field']}: {first['message']}"
        errors = exc.errors()
        vi = _validation_vi(str(first["field"]), dict(errors[0])) if errors else None
        return error_response(422, code, localised(language, code, english, vi), details, language=language)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        language = request_language(request)
        if isinstance(exc.detail, dict) and "code" in exc.detail:
            code, english = exc.detail["code"], exc.detail.get("message", "")
        else:
            code, english = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}"), str(exc.detail)
        response = error_response(exc.status_code, code, localised(language, code, english), language=language)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("http_dependency_unavailable", path=request.url.path, error_type=type(exc).__name__)
        english = "a dependency (store or broker) is unavailable; retry shortly"
        language = request_language(request)
        response = error_response(503, "unavailable", localised(language, "unavailable", english), language=language)
        response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(OutsideCalendar)
    async def _outside_calendar(request: Request, exc: OutsideCalendar) -> JSONResponse:
        # a date that passed validation but whose computation leaves the calendar (e.g. a due date after 2100)
        language = request_language(request)
        message = localised(language, "date_out_of_range", str(exc))
        return error_response(422, "date_out_of_range", message, language=language)

    for error in INFRASTRUCTURE_ERRORS:
        app.add_exception_handler(error, _unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("http_unhandled_error", path=request.url.path, error_type=type(exc).__name__, error=str(exc))
        language = request_language(request)
        english = "an unexpected error occurred; it has been logged"
        return error_response(500, "internal_error", localised(language, "internal_error", english), language=language)


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
            await self._reject(send, scope, max_bytes)
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

        started = False

        async def guarded_send(message: Message) -> None:
            # a streamed (chunked) body over the limit surfaces inside the route as a parse error
            # (FastAPI answers 400): whatever the app answers then, the client gets the 413
            nonlocal started
            if too_large:
                if not started:
                    started = True
                    await self._reject(send, scope, max_bytes)
                return
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            if not started:
                await self._reject(send, scope, max_bytes)

    async def _reject(self, send: Send, scope: Scope, max_bytes: int) -> None:
        accept = dict(scope.get("headers") or []).get(b"accept-language", b"").decode("latin-1")
        language = negotiate_language(accept)
        english = f"request body exceeds the limit of {max_bytes} bytes"
        vi = f"Dữ liệu gửi lên vượt quá giới hạn {max_bytes} byte."
        response = error_response(
            413, "payload_too_large", localised(language, "payload_too_large", english, vi), language=language
        )
        await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


class _TooLarge(Exception):
    pass


_JSON_NUL = b"\\u0000"


class RefuseNulCharacters:
    """ASGI middleware: 422 for a NUL character in a JSON body or the query string, before any route runs.

    MongoDB stores a NUL inside a string; PostgreSQL's jsonb (under the local FerretDB) cannot. No text of
    this domain has one, so it is refused at the edge, the same on every store (docs/adr/0003).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b"") or b"%00" in scope.get("raw_path", b""):
            await self._reject(send, scope)
            return
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
        if b"json" not in content_type.lower():
            await self.app(scope, receive, send)
            return
        # a JSON body is small (BodySizeLimit, outside this one, bounds it): read it whole, check, replay
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if _JSON_NUL in body or b"\x00" in body:
            await self._reject(send, scope)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Send, scope: Scope) -> None:
        accept = dict(scope.get("headers") or []).get(b"accept-language", b"").decode("latin-1")
        language = negotiate_language(accept)
        english = "the request contains a NUL character (\\u0000), which no field accepts"
        vi = "Dữ liệu gửi lên chứa ký tự NUL (\\u0000), không trường nào chấp nhận ký tự này."
        response = error_response(
            422, "nul_character", localised(language, "nul_character", english, vi), language=language
        )
        await send({"type": "http.response.start", "status": 422, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


def install_http_metrics(app: FastAPI, registry: CollectorRegistry, *, service: str) -> None:
    """Request counts and latency by route template (never by raw path, which may carry codes)."""
    requests = counter(registry, "lienthong_http_requests", "HTTP requests", ["service", "method", "route", "status"])
    latency = Histogram(
        "lienthong_http_request_seconds",
        "HTTP request latency",
        ["service", "method", "route"],
        registry=registry,
    )
    app.add_middleware(HttpMetrics, requests=requests, latency=latency, service=service)


class HttpMetrics:
    """The metrics of :func:`install_http_metrics` as a plain ASGI middleware.

    Not ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware`` runs the route in a task of its own
    and streams the response through memory channels, a few milliseconds of CPU per request (profiled,
    docs/performance.md). A request that raised counts as 500.
    """

    def __init__(self, app: ASGIApp, *, requests: Counter, latency: Histogram, service: str) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            self.requests.labels(self.service, scope["method"], template, str(status)).inc()
            self.latency.labels(self.service, scope["method"], template).observe(time.perf_counter() - start)


#: where the Swagger UI / ReDoc files are served from (shipped by fastapi-offline, no CDN)
DOCS_ASSETS = "/docs-assets"


def install_local_docs(app: FastAPI, *, title: str) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` with their JavaScript and CSS served by the service itself.

    FastAPI's defaults load them from a CDN, so the pages stay blank on a closed government network.
    Build the app with ``docs_url=None, redoc_url=None`` and call this.
    """
    from pathlib import Path

    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
    from fastapi.staticfiles import StaticFiles

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> Response:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} — API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> Response:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> Response:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} — API",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )


def probes_router(
    checks: Mapping[str, ReadinessCheck],
    registry: CollectorRegistry,
    *,
    liveness: Callable[[], list[str]] | None = None,
    refresh: Callable[[], Awaitable[None]] | None = None,
) -> APIRouter:
    """``/healthz`` (alive: no background work died), ``/readyz`` (every dependency answers), ``/metrics``."""
    router = APIRouter(tags=["operations"])

    @router.get(
        "/healthz",
        summary="Liveness: the process answers and no relay, consumer or scheduler loop has died",
        responses={
            200: {"model": Health},
            503: {"model": Health, "description": "a background task died; restart the process"},
        },
    )
    async def healthz() -> JSONResponse:
        dead = liveness() if liveness is not None else []
        if dead:
            return JSONResponse(status_code=503, content={"status": "unhealthy", "dead": dead})
        return JSONResponse(status_code=200, content={"status": "ok"})

    @router.get(
        "/readyz",
        summary="Readiness: Kafka and the store are reachable",
        responses={200: {"model": Readiness}, 503: {"model": Readiness, "description": "a dependency is unreachable"}},
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
        if refresh is not None:
            await refresh()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
