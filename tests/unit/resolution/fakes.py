"""In-memory fakes of resolution's repository and publisher, and builders of routing decisions."""

from __future__ import annotations

import copy
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.resolution.adapters.signing import OfficeKeys
from services.resolution.handlers import Resolution
from services.resolution.settings import ResolutionSettings
from shared.envelope import CloudEvent
from shared.events import DossierRouted
from shared.reference.legal_clock import default_clock
from shared.reference.procedures import load_catalogue
from shared.topics import event_type_of

OFFICE, OTHER = "00070.UBND", "00073.UBND"


def _apply(doc: dict[str, Any], update: dict[str, Any]) -> None:
    """Apply the update operators resolution uses ($set/$unset with one-level dotted keys, $push, $inc)."""
    for key, value in update.get("$set", {}).items():
        head, _, tail = key.partition(".")
        if tail:
            doc.setdefault(head, {})[tail] = copy.deepcopy(value)
        else:
            doc[key] = copy.deepcopy(value)
    for key in update.get("$unset", {}):
        head, _, tail = key.partition(".")
        (doc.get(head) or {}).pop(tail, None) if tail else doc.pop(key, None)
    for key, value in update.get("$push", {}).items():
        doc.setdefault(key, []).append(copy.deepcopy(value))
    for key, value in update.get("$inc", {}).items():
        doc[key] = doc.get(key, 0) + value


class FakeStore:
    """Resolution's repository in memory, with the same guard semantics as the real one."""

    def __init__(self) -> None:
        self.cases: dict[str, dict[str, Any]] = {}
        self.results: dict[str, dict[str, Any]] = {}
        self.signing_offices: dict[str, str] = {}

    async def ensure_indexes(self) -> None:
        """Nothing to index in memory."""

    async def insert_case(self, doc: dict[str, Any]) -> None:
        """Insert; the same _id twice raises DuplicateKeyError like a unique index."""
        if doc["_id"] in self.cases:
            raise DuplicateKeyError("duplicate _id")
        self.cases[doc["_id"]] = copy.deepcopy(doc)

    async def case_of(self, dossier: str, office_code: str | None = None) -> dict[str, Any] | None:
        """Newest case by dossier id, else by code, optionally at one office."""
        for field in ("dossier_id", "dossier_code"):
            found = [
                c
                for c in self.cases.values()
                if c[field] == dossier and (office_code is None or c["office_code"] == office_code)
            ]
            if found:
                return copy.deepcopy(max(found, key=lambda c: c["routed_at"]))
        return None

    async def update_case(self, case_id: str, update: dict[str, Any], *, guard: Any) -> dict[str, Any] | None:
        """Apply ``update`` when ``guard`` holds; the updated case or None."""
        current = self.cases.get(case_id)
        if current is None or not guard(copy.deepcopy(current)):
            return None
        _apply(current, update)
        return copy.deepcopy(current)

    async def worklist(self, office_code: str, statuses: list[str], limit: int, offset: int) -> list[dict[str, Any]]:
        """Cases of an office in ``statuses``, overdue first, then by due date."""
        rows = [c for c in self.cases.values() if c["office_code"] == office_code and c["status"] in statuses]
        rows.sort(key=lambda c: (not c["overdue"], c["due_at"]))
        return copy.deepcopy(rows[offset : offset + limit])

    async def due_now(self, statuses: list[str], now: datetime, limit: int = 200) -> list[dict[str, Any]]:
        """Unflagged running cases past their due date."""
        rows = [c for c in self.cases.values() if not c["overdue"] and c["status"] in statuses and c["due_at"] <= now]
        return copy.deepcopy(rows[:limit])

    async def next_due(self, statuses: list[str]) -> datetime | None:
        """Earliest due date among unflagged running cases."""
        dues = [c["due_at"] for c in self.cases.values() if not c["overdue"] and c["status"] in statuses]
        return min(dues, default=None)

    async def operations_cases(
        self,
        *,
        province_code: str | None,
        office_code: str | None,
        fields: tuple[str, ...],
        since: datetime,
        open_statuses: list[str],
    ) -> list[dict[str, Any]]:
        """Cases of one office, one competent province, or all, touching the period or open (whole documents)."""

        def touches(c: dict[str, Any]) -> bool:
            moments = [c["received_at"], c.get("finished_at"), c.get("overdue_at")]
            moments += [(c.get("apology") or {}).get("issued_at"), (c.get("rating") or {}).get("at")]
            return c["status"] in open_statuses or any(m is not None and m >= since for m in moments)

        return [
            copy.deepcopy(c)
            for c in self.cases.values()
            if (office_code is None or c["office_code"] == office_code)
            and (office_code is not None or province_code is None or c["office_province_code"] == province_code)
            and touches(c)
        ]

    async def overdue_by_province(self, statuses: list[str], now: datetime) -> dict[str, int]:
        """Running unpaused cases past due, per competent province."""
        counts: dict[str, int] = {}
        for c in self.cases.values():
            if c["status"] in statuses and c["due_at"] <= now and c.get("paused_at") is None:
                counts[c["office_province_code"]] = counts.get(c["office_province_code"], 0) + 1
        return counts

    async def insert_result(self, doc: dict[str, Any]) -> None:
        """Store a signed result."""
        self.results[doc["_id"]] = copy.deepcopy(doc)

    async def result(self, document_id: str) -> dict[str, Any] | None:
        """A signed result by id."""
        return copy.deepcopy(self.results.get(document_id))

    async def note_signer(self, office_code: str, key_id: str, at: Any) -> None:
        """Remember a signing office."""
        self.signing_offices[office_code] = key_id

    async def signers(self) -> list[str]:
        """Offices that have signed."""
        return sorted(self.signing_offices)

    def events(self, case_id: str) -> list[dict[str, Any]]:
        """The status events waiting in a case's outbox, in write order (their ``data``)."""
        entries = sorted(self.cases[case_id]["outbox"].values(), key=lambda e: e["seq"])
        return [e["event"]["data"] for e in entries]


class FakePublisher:
    """Builds events like the real publisher; nothing is sent (the relay is not used in unit tests)."""

    source = "/lienthong/resolution"

    def new_event(self, topic: str, *, subject: str | None, data: dict[str, Any], **extra: Any) -> CloudEvent:
        """A resolution event for ``topic``."""
        return CloudEvent(source=self.source, type=event_type_of(topic), subject=subject, data=data, **extra)


def make_resolution(**settings: Any) -> tuple[Resolution, FakeStore]:
    """A Resolution wired to fakes and development keys."""
    store = FakeStore()
    resolution = Resolution(
        store=store,  # type: ignore[arg-type]
        publisher=FakePublisher(),  # type: ignore[arg-type]
        catalogue=load_catalogue(),
        clock=default_clock(),
        keys=OfficeKeys(keys_dir=None, dev_seed="unit-test-seed"),
        settings=ResolutionSettings(environment="test", **settings),
    )
    return resolution, store


def routed(
    *,
    office: str = OFFICE,
    received_at: datetime | None = None,
    due_at: datetime | None = None,
    procedure: str = "LT-XD-001",
    channel: str = "counter",
    ward: str = "00070",
    token: str = "citizen-token",
    processing_days: int = 15,
) -> DossierRouted:
    """A routing decision for a fresh dossier at ``office``."""
    now = datetime.now(UTC)
    dossier_id = str(uuid.uuid4())
    return DossierRouted(
        dossier_id=dossier_id,
        dossier_code=f"00070.TTHCC-261123-{dossier_id[:4]}",
        decision_id=str(uuid.uuid4()),
        office_code=office,
        office_name="UBND Phường Hoàn Kiếm",
        province_code="01",
        procedure_code=procedure,
        reason="unit",
        channel=channel,
        applicant_ward_code=ward,
        received_at=received_at or now,
        due_at=due_at or now + timedelta(days=10),
        processing_days=processing_days,
        tracking_token_sha256=hashlib.sha256(token.encode()).hexdigest(),
        routed_at=received_at or now,
    )
