"""The cases on the store: the Case aggregate's document (today's shape) and the named queries.

Mongo filters live here only. The document keeps the keys other readers use (the figures' fields, the e2e
tests that move a due date into the past); the unit of work adds ``_rev``, the outbox and ``seen_events``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING

from services.resolution.domain.case import (
    CLOCK_RUNNING,
    OPEN,
    Apology,
    Case,
    HistoryEntry,
    Rating,
    TransferredFrom,
)
from services.resolution.domain.figures import CASE_FIELDS
from shared.events import DossierStatus, ResultDocument
from shared.outbox import OutboxRelay
from shared.unit_of_work import MongoAggregates, flat_arguments, flat_document

#: documents kept as last read or written, so the next change of one is one write (docs/adr/0005):
#: a case's next action (auto-accept, an official's) follows its opening or the last one
CASE_SNAPSHOTS = 2000

_RUNNING = sorted(s.value for s in CLOCK_RUNNING)
_OPEN = sorted(s.value for s in OPEN)


#: the case's fields the mapper writes and reads itself: value objects, and those older documents lack
_NESTED = frozenset({"apology", "result", "rating", "chain", "transferred_from", "history"})
_COERCED = frozenset(
    {"processing_days", "first_case", "last_step", "channel", "status", "version", "original_due_at"}
    | {"paused_hours", "supplement_requests", "overdue", "chain_step"}
)


class CaseMapper:
    """Case ↔ its document."""

    def to_document(self, case: Case) -> dict[str, Any]:
        """The case's state as a document (value objects as sub-documents, statuses as their strings)."""
        rating, moved = case.rating, case.transferred_from
        return flat_document(case, skip=_NESTED) | {
            "apology": _apology_doc(case.apology),
            "result": case.result.model_dump(mode="json") if case.result is not None else None,
            "rating": {"score": rating.score, "comment": rating.comment, "at": rating.at} if rating else None,
            "chain": list(case.chain),
            "transferred_from": {"office_code": moved.office_code, "reason": moved.reason} if moved else None,
            "history": [
                {"status": h.status.value, "action": h.action, "at": h.at, "by": h.by, "reason": h.reason}
                for h in case.history
            ],
        }

    def from_document(self, doc: Mapping[str, Any]) -> Case:
        """The case a stored document holds (documents written before a field existed get its default)."""
        apology, rating, moved = doc.get("apology"), doc.get("rating"), doc.get("transferred_from")
        return Case(
            **flat_arguments(Case, doc, skip=_NESTED | _COERCED),
            processing_days=int(doc.get("processing_days") or 0),
            first_case=bool(doc.get("first_case", True)),
            last_step=bool(doc.get("last_step", True)),
            channel=doc.get("channel") or "online",
            status=DossierStatus(doc["status"]),
            version=int(doc["version"]),
            original_due_at=doc.get("original_due_at") or doc["due_at"],
            paused_hours=float(doc.get("paused_hours") or 0.0),
            supplement_requests=int(doc.get("supplement_requests") or 0),
            overdue=bool(doc.get("overdue")),
            apology=Apology(**apology) if apology else None,
            result=ResultDocument.model_validate(doc["result"]) if doc.get("result") else None,
            rating=Rating(rating["score"], rating.get("comment"), rating["at"]) if rating else None,
            chain=list(doc.get("chain") or []),
            chain_step=int(doc.get("chain_step") or 0),
            transferred_from=TransferredFrom(moved.get("office_code"), moved.get("reason")) if moved else None,
            history=[
                HistoryEntry(DossierStatus(h["status"]), h["action"], h["at"], h["by"], h.get("reason"))
                for h in doc.get("history") or []
            ],
        )


def _apology_doc(apology: Apology | None) -> dict[str, Any] | None:
    if apology is None:
        return None
    return {
        "letter": apology.letter,
        "reason": apology.reason,
        "new_due_at": apology.new_due_at,
        "previous_due_at": apology.previous_due_at,
        "issued_at": apology.issued_at,
        "by": apology.by,
    }


class MongoCases(MongoAggregates[Case]):
    """The ``cases`` collection: one document per dossier per office, with history and outbox."""

    def __init__(
        self, db: Any, *, source: str, relay: OutboxRelay | None = None, snapshots: int = CASE_SNAPSHOTS
    ) -> None:
        super().__init__(db["cases"], CaseMapper(), source=source, relay=relay, snapshots=snapshots)

    async def ensure_indexes(self) -> None:
        """Worklists by office, the overdue scan by due date, look-up by dossier id or code."""
        await self.collection.create_index([("office_code", ASCENDING), ("status", ASCENDING)], name="worklist")
        await self.collection.create_index([("overdue", ASCENDING), ("due_at", ASCENDING)], name="overdue_scan")
        await self.collection.create_index([("status", ASCENDING), ("due_at", ASCENDING)], name="running_by_due")
        await self.collection.create_index([("dossier_id", ASCENDING)], name="dossier_id")
        await self.collection.create_index([("dossier_code", ASCENDING)], name="dossier_code")
        await self.collection.create_index([("office_province_code", ASCENDING)], name="office_province")
        # the operations report reads only cases touching its period (and open ones): on MongoDB each
        # branch of its $or uses one of these
        await self.collection.create_index([("received_at", ASCENDING)], name="received_at")
        await self.collection.create_index([("finished_at", ASCENDING)], name="finished_at")

    async def newest_of(self, dossier: str, office_code: str | None = None) -> Case | None:
        """The newest case of a dossier (by id, else by code), optionally at one office."""
        for key in ("dossier_id", "dossier_code"):
            query: dict[str, Any] = {key: dossier}
            if office_code is not None:
                query["office_code"] = office_code
            found = await self.find(query, sort=[("routed_at", DESCENDING)], limit=1)
            if found:
                return found[0]
        return None

    async def worklist(
        self, office_code: str, statuses: Collection[DossierStatus], *, limit: int, offset: int
    ) -> list[Case]:
        """Cases of an office in ``statuses``: overdue first, then by due date."""
        query = {"office_code": office_code, "status": {"$in": sorted(s.value for s in statuses)}}
        cursor = (
            self.collection.find(query).sort([("overdue", DESCENDING), ("due_at", ASCENDING)]).skip(offset).limit(limit)
        )
        return [self.mapper.from_document(doc) async for doc in cursor]

    # The overdue queries ask one running status at a time: FerretDB 1.24 turns only equalities into SQL and
    # evaluates `$in` in Go after reading every row the equalities left, so `{"overdue": False, "status":
    # {"$in": …}}` read every case ever closed (they are never overdue) — all of them, at each scheduler
    # pass (found by the growth benchmark). A status equality is an index look-up on both stores.

    def _running_queries(self, **conditions: Any) -> list[dict[str, Any]]:
        return [{"status": status, **conditions} for status in _RUNNING]

    async def overdue_candidates(self, now: datetime, *, limit: int) -> list[Case]:
        """Running, unflagged cases whose due date has passed by ``now``."""
        found: list[Case] = []
        for query in self._running_queries(overdue=False, due_at={"$lte": now}, paused_at=None):
            found += await self.find(query, limit=limit - len(found))
            if len(found) >= limit:
                break
        return found

    async def next_due(self) -> datetime | None:
        """The earliest due date among running cases not flagged overdue."""
        dues = []
        for query in self._running_queries(overdue=False):
            found = await self.collection.find(query, {"due_at": 1}).sort("due_at", ASCENDING).limit(1).to_list(1)
            dues += [found[0]["due_at"]] if found else []
        return min(dues, default=None)

    async def overdue_by_province(self, now: datetime) -> dict[str, int]:
        """Running cases past their due date, per competent office's province (the overdue gauge)."""
        counts: dict[str, int] = {}
        for query in self._running_queries(due_at={"$lte": now}, paused_at=None):
            async for case in self.collection.find(query, {"office_province_code": 1}):
                key = case.get("office_province_code") or "??"
                counts[key] = counts.get(key, 0) + 1
        return counts

    async def count_unflagged(self, now: datetime) -> int:
        """Running cases past due that the overdue scheduler has not flagged yet."""
        queries = self._running_queries(overdue=False, due_at={"$lte": now}, paused_at=None)
        return sum([int(await self.collection.count_documents(query)) for query in queries])

    async def figures_inputs(
        self, *, province_code: str | None, office_code: str | None, since: datetime
    ) -> list[dict[str, Any]]:
        """Cases of one office, one (competent office's) province, or all, that matter for a period from
        ``since``: received, finished, flagged, apologised or rated since then, or still open; only the
        figures' fields.

        Summed in Python rather than with ``$group``: FerretDB 1.24 computes only the first accumulator of a
        ``$group`` stage and returns 0 for the others (docs/adr/0002). Older closed cases are never read.
        """
        query: dict[str, Any] = {
            "$or": [
                {"received_at": {"$gte": since}},
                {"finished_at": {"$gte": since}},
                {"overdue_at": {"$gte": since}},
                {"apology.issued_at": {"$gte": since}},
                {"rating.at": {"$gte": since}},
                {"status": {"$in": _OPEN}},
            ]
        }
        if office_code is not None:
            query["office_code"] = office_code
        elif province_code is not None:
            query["office_province_code"] = province_code
        rows: list[dict[str, Any]] = await self.collection.find(query, dict.fromkeys(CASE_FIELDS, 1)).to_list(None)
        return rows
