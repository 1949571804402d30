"""In-memory stand-ins for routing's adapters: the route/office-status store and the event publisher."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from services.routing.domain.registry import build_registry
from services.routing.handlers import Router
from shared.envelope import CloudEvent
from shared.events import DossierReceived, DossierStatus, DossierStatusChanged
from shared.reference.procedures import load_catalogue
from shared.topics import event_type_of


def _apply(doc: dict[str, Any], update: dict[str, Any]) -> None:
    """The MongoDB update operators routing and the outbox use: $set, $unset, $push, $inc (dotted paths)."""
    for op, fields in update.items():
        for path, value in fields.items():
            *parents, leaf = path.split(".")
            target = doc
            for part in parents:
                target = target.setdefault(part, {})
            if op == "$set":
                target[leaf] = copy.deepcopy(value)
            elif op == "$unset":
                target.pop(leaf, None)
            elif op == "$push":
                target.setdefault(leaf, []).append(copy.deepcopy(value))
            elif op == "$inc":
                target[leaf] = target.get(leaf, 0) + value
            else:  # pragma: no cover - a new operator needs support here first
                raise NotImplementedError(op)


class FakeRoutingStore:
    """Route documents and operator statuses in dictionaries, with the unique ``_id`` enforced."""

    def __init__(self) -> None:
        self.routes: dict[str, dict[str, Any]] = {}
        self.status: dict[str, str] = {}
        self.parked_scans = 0
        self.written: dict[str, dict[str, dict[str, Any]]] = {}
        self.noted: dict[str, str] = {}
        self.published_log: dict[str, str] = {}

    async def ensure_indexes(self) -> None:
        """Nothing to create in memory."""

    async def insert_route(self, doc: dict[str, Any]) -> bool:
        """Insert; False for a second document of the same dossier."""
        await asyncio.sleep(0)
        if doc["_id"] in self.routes:
            return False
        self.routes[doc["_id"]] = copy.deepcopy(doc)
        self._record(doc)
        return True

    async def route(self, dossier_id: str) -> dict[str, Any] | None:
        """A copy of the route document."""
        doc = self.routes.get(dossier_id)
        return copy.deepcopy(doc) if doc else None

    async def route_by_code(self, code: str) -> dict[str, Any] | None:
        """A copy of the route document with that dossier code."""
        doc = next((d for d in self.routes.values() if d["code"] == code), None)
        return copy.deepcopy(doc) if doc else None

    async def update_route(
        self, dossier_id: str, update: dict[str, Any], *, guard: Callable[[dict[str, Any]], bool]
    ) -> bool:
        """Apply ``update`` when ``guard`` holds on the current document."""
        await asyncio.sleep(0)
        doc = self.routes.get(dossier_id)
        if doc is None or not guard(copy.deepcopy(doc)):
            return False
        _apply(doc, update)
        self._record(doc)
        return True

    async def parked(self, limit: int = 500) -> list[dict[str, Any]]:
        """Parked route documents."""
        self.parked_scans += 1
        return [copy.deepcopy(d) for d in self.routes.values() if d["parked"]][:limit]

    async def open_counts(self) -> dict[str, int]:
        """Open dossiers per office."""
        return dict(Counter(d["open_at"] for d in self.routes.values() if d["open_at"]))

    async def statuses(self) -> dict[str, str]:
        """Operator statuses."""
        return dict(self.status)

    async def set_status(self, office_code: str, status: str, at: Any) -> None:
        """Record an operator status."""
        self.status[office_code] = status

    def mark_published(self, event_id: str, dossier_id: str) -> None:
        """Note a publication; ``flush_published`` writes it to the log."""
        self.noted[event_id] = dossier_id

    async def flush_published(self) -> int:
        """Move noted publications to the log."""
        batch, self.noted = self.noted, {}
        self.published_log.update(batch)
        return len(batch)

    async def is_published(self, event_id: str) -> bool:
        """True when noted or logged."""
        return event_id in self.noted or event_id in self.published_log

    async def unpublished_first_decisions(self) -> list[str]:
        """Routes whose first event is in the outbox and neither noted nor logged."""
        return [
            doc["_id"]
            for doc in self.routes.values()
            if doc["first_event_id"] in doc["outbox"] and not await self.is_published(doc["first_event_id"])
        ]

    def lock(self, dossier_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """The document lock (one process, no contention in these tests)."""
        return contextlib.nullcontext()

    def _record(self, doc: dict[str, Any]) -> None:
        for event_id, entry in doc.get("outbox", {}).items():
            self.written.setdefault(doc["_id"], {})[event_id] = copy.deepcopy(entry)

    def events(self, dossier_id: str) -> list[dict[str, Any]]:
        """Every ``dossier.routed.v1`` payload ever written to a route's outbox, in write order."""
        entries = sorted(self.written.get(dossier_id, {}).values(), key=lambda e: e["seq"])
        return [e["event"]["data"] for e in entries]


class FakePublisher:
    """Builds events like the real publisher; nothing is sent."""

    source = "/lienthong/routing"

    def __init__(self, *, fail: bool = False) -> None:
        self.sent: list[tuple[str, CloudEvent]] = []
        self.fail = fail

    async def publish(self, topic: str, event: CloudEvent, *, key: str) -> None:
        """Record the event, or fail like an unreachable broker."""
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.sent.append((topic, event))

    def new_event(self, topic: str, *, subject: str | None, data: dict[str, Any], **extra: Any) -> CloudEvent:
        """A routing event for ``topic``."""
        return CloudEvent(source=self.source, type=event_type_of(topic), subject=subject, data=data, **extra)


async def make_router(publisher: FakePublisher | None = None) -> tuple[Router, FakeRoutingStore]:
    """A started Router over fakes, the real registry and the real catalogue."""
    store = FakeRoutingStore()
    router = Router(
        store=store,  # type: ignore[arg-type]
        publisher=publisher or FakePublisher(),  # type: ignore[arg-type]
        catalogue=load_catalogue(),
        registry=build_registry(),
    )
    await router.start()
    return router, store


def received(
    procedure: str = "LT-HT-001",
    *,
    receiving_ward: str = "00070",
    applicant_ward: str = "00070",
    subject: str | None = None,
    province: str = "01",
) -> DossierReceived:
    """A dossier just received at ``receiving_ward``'s service centre."""
    now = datetime.now(UTC)
    dossier_id = str(uuid.uuid4())
    return DossierReceived(
        dossier_id=dossier_id,
        dossier_code=f"{receiving_ward}.TTHCC-261122-{dossier_id[:4]}",
        procedure_code=procedure,
        channel="counter",
        receiving_office_code=f"{receiving_ward}.TTHCC",
        province_code=province,
        receiving_ward_code=receiving_ward,
        applicant_ward_code=applicant_ward,
        subject_ward_code=subject,
        received_at=now,
        due_at=now + timedelta(days=3),
        processing_days=0,
        tracking_token_sha256="0" * 64,
    )


def status(data: DossierReceived, office: str, new: DossierStatus, **extra: Any) -> DossierStatusChanged:
    """A status change of the dossier at ``office``."""
    return DossierStatusChanged(
        dossier_id=data.dossier_id,
        dossier_code=data.dossier_code,
        office_code=office,
        status=new,
        action=new.value,
        version=3,
        occurred_at=datetime.now(UTC),
        **extra,
    )
