"""The life of one service process: connect, start consumers and relays, serve HTTP, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from shared.broker import EventPublisher, ensure_topics, make_broker
from shared.errors import INFRASTRUCTURE_ERRORS
from shared.http import BodySizeLimit, RefuseNulCharacters, install_error_handlers, install_http_metrics, probes_router
from shared.logging import configure_logging, get_logger
from shared.outbox import OutboxRelay
from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client, ping, service_database
from shared.telemetry import instrument_fastapi, setup_tracing, shutdown_tracing

log = get_logger(__name__)

Hook = Callable[[], Awaitable[Any]]
Loop = Callable[[], Coroutine[Any, Any, None]]


class ServiceRuntime:
    """Owns the broker, the store client, outbox relays and background loops of one service."""

    def __init__(self, settings: BaseServiceSettings, *, startup_timeout: float = 60.0) -> None:
        self.settings = settings
        self.startup_timeout = startup_timeout
        self.registry = CollectorRegistry()
        self.broker = make_broker(settings, registry=self.registry)
        self.mongo = make_mongo_client(settings)
        self.db = service_database(self.mongo, settings)
        self.publisher = EventPublisher(self.broker, settings)
        self.relays: list[OutboxRelay] = []
        self._startup: list[Hook] = []
        self._shutdown: list[Hook] = []
        self._loops: list[Loop] = []
        self._tasks: list[asyncio.Task[None]] = []

    def relay(self, collection: Any) -> OutboxRelay:
        """An outbox relay for ``collection``, started and stopped with the service."""
        relay = OutboxRelay(
            collection,
            self.publisher,
            poll_interval=self.settings.outbox_poll_interval,
            sweep_interval=self.settings.outbox_sweep_interval,
        )
        self.relays.append(relay)
        return relay

    def on_startup(self, hook: Hook) -> None:
        """Run ``hook`` once the store is reachable, before consumers start (indexes, seed data)."""
        self._startup.append(hook)

    def on_shutdown(self, hook: Hook) -> None:
        """Run ``hook`` while stopping, before the connections close."""
        self._shutdown.append(hook)

    def background(self, loop: Loop) -> None:
        """Run ``loop`` (a long-lived coroutine function) for the life of the service."""
        self._loops.append(loop)

    async def kafka_ready(self) -> bool:
        """Readiness check: the Kafka cluster answers."""
        try:
            return bool(await self.broker.ping(timeout=2.0))
        except Exception:
            return False

    async def store_ready(self) -> bool:
        """Readiness check: the store answers a ping."""
        return await ping(self.mongo)

    async def _wait_for(self, what: str, action: Hook) -> None:
        async for attempt in AsyncRetrying(
            stop=stop_after_delay(self.startup_timeout),
            wait=wait_exponential(multiplier=0.2, max=3),
            retry=retry_if_exception_type((*INFRASTRUCTURE_ERRORS, OSError)),
            reraise=True,
        ):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    log.info("startup_waiting", dependency=what, attempt=attempt.retry_state.attempt_number)
                await action()

    async def start(self) -> None:
        """Connect to the store and Kafka (waiting for them), then start consumers, relays and loops."""
        await self._wait_for("mongodb", lambda: self.mongo.admin.command("ping"))
        await self._wait_for("kafka-topics", lambda: ensure_topics(self.settings))
        for hook in self._startup:
            await hook()
        for relay in self.relays:
            await relay.ensure_indexes()
        await self._wait_for("kafka", self.broker.start)
        for relay in self.relays:
            relay.start()
        self._tasks = [asyncio.create_task(loop(), name=getattr(loop, "__name__", "loop")) for loop in self._loops]
        log.info("service_started", service=self.settings.service_name)

    async def stop(self) -> None:
        """Graceful stop: loops and relays first (pending events stay stored), then consumers, then clients."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        for relay in self.relays:
            await relay.stop()
        for hook in self._shutdown:
            with contextlib.suppress(Exception):
                await hook()
        with contextlib.suppress(Exception):
            await self.broker.stop()
        self.mongo.close()
        log.info("service_stopped", service=self.settings.service_name)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        """FastAPI lifespan: start on enter, stop on exit (uvicorn turns SIGTERM into exit)."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    def create_app(
        self,
        *,
        title: str,
        description: str,
        routers: Sequence[APIRouter],
        version: str = "1.0.0",
        openapi_tags: list[dict[str, Any]] | None = None,
    ) -> FastAPI:
        """The FastAPI app with the common error shape, probes, metrics, tracing and body limit."""
        configure_logging(
            service=self.settings.service_name, level=self.settings.log_level, fmt=self.settings.log_format
        )
        setup_tracing(service=self.settings.service_name, otlp_endpoint=self.settings.otel_exporter_otlp_endpoint)
        self.on_shutdown(_shutdown_tracing)
        app = FastAPI(
            title=title,
            description=description,
            version=version,
            lifespan=self.lifespan,
            openapi_tags=openapi_tags,
        )
        install_error_handlers(app)
        install_http_metrics(app, self.registry, service=self.settings.service_name)
        app.add_middleware(RefuseNulCharacters)
        app.add_middleware(
            BodySizeLimit, max_bytes=self.settings.max_body_bytes, upload_max_bytes=self.settings.max_upload_bytes
        )
        app.include_router(probes_router({"kafka": self.kafka_ready, "mongodb": self.store_ready}, self.registry))
        for router in routers:
            app.include_router(router)
        instrument_fastapi(app)
        app.state.runtime = self
        return app


async def _shutdown_tracing() -> None:
    shutdown_tracing()


def serve(app: FastAPI, *, host: str, port: int) -> None:
    """Run ``app`` under uvicorn with graceful shutdown on SIGTERM/SIGINT."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=10, access_log=False)
