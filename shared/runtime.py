"""The life of one service process: connect, start consumers and relays, serve HTTP, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol, TypeVar

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry, Gauge
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from shared.asyncapi import asyncapi_document
from shared.audit import HasAudit
from shared.broker import EventPublisher, ensure_topics, make_broker
from shared.errors import INFRASTRUCTURE_ERRORS
from shared.http import (
    BodySizeLimit,
    RefuseNulCharacters,
    install_error_handlers,
    install_http_metrics,
    install_local_docs,
    probes_router,
)
from shared.identity import HasVerifier
from shared.logging import configure_logging, get_logger
from shared.metrics import Dependencies, KafkaOffsets, OperationalMetrics, OutboxBacklog, register_process_metrics
from shared.outbox import OutboxRelay
from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client, ping, service_database
from shared.telemetry import instrument_clients, instrument_fastapi, setup_tracing, shutdown_tracing
from shared.topics import Topics, dlq_of

log = get_logger(__name__)

Hook = Callable[[], Awaitable[Any]]
Loop = Callable[[], Coroutine[Any, Any, None]]
T = TypeVar("T")


class ServiceDeps(HasVerifier, HasAudit, Protocol):
    """A service's one ``app.state.deps`` as shared code reads it (its own ``<Svc>Deps`` dataclass satisfies it)."""


class ServiceRuntime:
    """Owns the broker, the store client, outbox relays and background loops of one service."""

    def __init__(self, settings: BaseServiceSettings, *, startup_timeout: float = 60.0) -> None:
        self.settings = settings
        self.startup_timeout = startup_timeout
        self.registry = CollectorRegistry()
        instrument_clients()  # before the store client exists: pymongo attaches its listener per client
        self.broker = make_broker(settings, registry=self.registry)
        self.mongo = make_mongo_client(settings)
        self.db = service_database(self.mongo, settings)
        self.publisher = EventPublisher(self.broker, settings)
        self.relays: list[OutboxRelay] = []
        self._startup: list[Hook] = []
        self._shutdown: list[Hook] = []
        self._loops: list[Loop] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self.produced: set[str] = set()
        self.title, self.description = f"LienThong {settings.service_name}", ""
        self.metrics = self._operational_metrics()

    def _operational_metrics(self) -> OperationalMetrics:
        """Process metrics plus the scrape-time gauges every service has (alerts in deploy/prometheus/)."""
        register_process_metrics(self.registry)
        metrics = OperationalMetrics(self.registry)
        self.outbox_backlog = OutboxBacklog(self.registry)
        self.kafka_offsets = KafkaOffsets(
            self.settings,
            self.registry,
            subscriptions=self.subscriptions,
            dead_letter_topics=lambda: sorted({dlq_of(topic) for topic, _ in self.subscriptions()}),
        )
        dependencies = Dependencies(self.registry, {"kafka": self.kafka_ready, "mongodb": self.store_ready})
        metrics.add("dependencies", dependencies.refresh)
        metrics.add("outbox", self.outbox_backlog.refresh)
        metrics.add("kafka_offsets", self.kafka_offsets.refresh)
        Gauge(
            "lienthong_background_tasks_dead",
            "Relays, consumers and loops of this process that stopped (healthz answers 503 then)",
            registry=self.registry,
        ).set_function(lambda: len(self.dead_tasks()))
        return metrics

    def produces(self, *topics: str) -> None:
        """Declare the topics this service publishes (logical names; documented in its AsyncAPI)."""
        unknown = set(topics) - set(Topics.ALL)
        if unknown:
            raise ValueError(f"not topics of the contract: {sorted(unknown)}")
        self.produced.update(topics)

    def asyncapi(self) -> dict[str, Any]:
        """This service's AsyncAPI 3 document: what it consumes (topic, group) and produces, with payloads."""
        prefix = self.settings.kafka_topic_prefix
        consumes = [(t.removeprefix(prefix), g.removeprefix(prefix)) for t, g in self.subscriptions()]
        return asyncapi_document(
            service=self.settings.service_name,
            title=f"{self.title} events",
            description=self.description,
            consumes=consumes,
            produces=self.produced,
        )

    def subscriptions(self) -> list[tuple[str, str]]:
        """(physical topic, consumer group) of every Kafka consumer of this service."""
        found: list[tuple[str, str]] = []
        for subscriber in self.broker.subscribers:
            group = getattr(subscriber, "group_id", None)
            if group:
                found += [(topic, str(group)) for topic in getattr(subscriber, "topic_names", ())]
        return found

    def relay(self, collection: Any) -> OutboxRelay:
        """An outbox relay for ``collection``, started and stopped with the service."""
        relay = OutboxRelay(
            collection,
            self.publisher,
            poll_interval=self.settings.outbox_poll_interval,
            sweep_interval=self.settings.outbox_sweep_interval,
        )
        self.relays.append(relay)
        self.outbox_backlog.watch(collection)
        return relay

    def on_startup(self, hook: Hook) -> None:
        """Run ``hook`` once the store is reachable, before consumers start (indexes, seed data)."""
        self._startup.append(hook)

    @property
    def startup_hooks(self) -> tuple[Hook, ...]:
        """What ``start`` runs, in order, once the store is reachable (composition roots' tests read it)."""
        return tuple(self._startup)

    def on_shutdown(self, hook: Hook) -> None:
        """Run ``hook`` while stopping, before the connections close."""
        self._shutdown.append(hook)

    def background(self, loop: Loop) -> None:
        """Run ``loop`` (a long-lived coroutine function) for the life of the service."""
        self._loops.append(loop)

    def dependencies(self, overrides: dict[str, Any]) -> Overrides:
        """The bootstrap's builder: each dependency replaceable by name, unknown names refused at the end."""
        return Overrides(self.on_startup, overrides)

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
        # the runtime owns the relay tasks (not relay.start()) so that /healthz sees one that died
        self._tasks = [
            self._supervised(relay.run(), f"outbox-relay:{_collection_name(relay)}") for relay in self.relays
        ]
        self._tasks += [self._supervised(loop(), getattr(loop, "__name__", "loop")) for loop in self._loops]
        self._started = True
        log.info("service_started", service=self.settings.service_name)

    def _supervised(self, coroutine: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine, name=name)
        task.add_done_callback(_log_death)
        return task

    def dead_tasks(self) -> list[str]:
        """Names of background work that stopped while the service runs: relays, loops and Kafka consumers.

        A loop or relay is dead when its task ended (they run for ever); a consumer is dead when, for any of its
        tasks (the consume loop, the worker queue), no live copy is left: FastStream restarts one that raised, but
        not one that was cancelled or whose consumer stopped.
        """
        if not self._started:
            return []
        dead = [task.get_name() for task in self._tasks if task.done()]
        for subscriber in self.broker.subscribers:
            if not _subscriber_alive(subscriber):
                dead.append(f"consumer:{_subscriber_name(subscriber)}")
        return dead

    async def stop(self) -> None:
        """Graceful stop: loops and relays first (pending events stay stored), then consumers, then clients."""
        self._started = False
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
            await self.kafka_offsets.close()
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
        deps: ServiceDeps,
        version: str = "1.0.0",
        openapi_tags: list[dict[str, Any]] | None = None,
    ) -> FastAPI:
        """The FastAPI app with the common error shape, probes, metrics, tracing and body limit.

        ``deps`` is the service's one dependencies object, kept on ``app.state.deps`` (routes, the audit route and
        role checks read it there).
        """
        self.title, self.description = title, description
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
            docs_url=None,
            redoc_url=None,
        )
        install_local_docs(app, title=title)
        install_error_handlers(app)
        install_http_metrics(app, self.registry, service=self.settings.service_name)
        app.add_middleware(RefuseNulCharacters)
        app.add_middleware(
            BodySizeLimit, max_bytes=self.settings.max_body_bytes, upload_max_bytes=self.settings.max_upload_bytes
        )
        app.include_router(
            probes_router(
                {"kafka": self.kafka_ready, "mongodb": self.store_ready},
                self.registry,
                liveness=self.dead_tasks,
                refresh=self.metrics.refresh,
            )
        )
        for router in routers:
            app.include_router(router)
        instrument_fastapi(app)
        app.state.deps = deps
        app.state.runtime = self
        return app


def _collection_name(relay: OutboxRelay) -> str:
    return str(getattr(getattr(relay, "_collection", None), "name", "outbox"))


def _log_death(task: asyncio.Task[None]) -> None:
    """A background task must never end while the service runs: say so at once (healthz turns 503)."""
    if task.cancelled():
        return
    error = task.exception()
    log.error(
        "background_task_died",
        task=task.get_name(),
        error_type=type(error).__name__ if error else None,
        error=str(error) if error else "returned",
    )


def _subscriber_name(subscriber: Any) -> str:
    topics = ",".join(getattr(t, "name", str(t)) for t in getattr(subscriber, "topics", None) or ())
    group = getattr(subscriber, "group_id", None)
    return f"{topics}@{group}" if group else topics or repr(subscriber)


def _subscriber_alive(subscriber: Any) -> bool:
    """Each kind of task of the subscriber (by coroutine) still runs as many copies as it needs.

    A subscriber with several workers has one consume loop per member of its consumer subgroup; a restarted
    task is a new live copy next to the dead one, so live copies are counted rather than dead ones.
    """
    tasks: list[asyncio.Task[Any]] = list(getattr(subscriber, "tasks", []))
    if not tasks:
        return False
    live: dict[str, int] = {}
    for task in tasks:
        kind = task.get_coro().__qualname__  # type: ignore[union-attr]
        live[kind] = live.get(kind, 0) + (0 if task.done() else 1)
    loops = len(getattr(subscriber, "consumer_subgroup", None) or ()) or 1
    return all(count >= (loops if kind.endswith("_run_consume_loop") else 1) for kind, count in live.items())


async def _shutdown_tracing() -> None:
    shutdown_tracing()


def serve(app: FastAPI, *, host: str, port: int) -> None:
    """Run ``app`` under uvicorn with graceful shutdown on SIGTERM/SIGINT."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=10, access_log=False)


class Overrides:
    """Dependencies a composition root builds, each replaceable by name through ``bootstrap(**overrides)``."""

    def __init__(self, on_startup: Callable[[Hook], None], overrides: dict[str, Any]) -> None:
        self._on_startup = on_startup
        self._left = dict(overrides)

    def build(self, name: str, make: Callable[[], T]) -> T:
        """The override of ``name``, or the real one (its indexes created at start when it has any)."""
        if name in self._left:
            given: T = self._left.pop(name)
            return given
        made = make()
        if hasattr(made, "ensure_indexes"):
            self._on_startup(made.ensure_indexes)
        return made

    def refuse_unused(self) -> None:
        """Raise when an override named no dependency (a misspelt name would silently test the real one)."""
        if self._left:
            raise TypeError(f"bootstrap: no dependency named {sorted(self._left)}")
