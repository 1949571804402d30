"""Resolution's collections: cases (one per dossier per office, with history and outbox) and results."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from shared.store import update_document

METRIC_FIELDS = (
    "received",
    "open",
    "in_process",
    "overdue",
    "overdue_open",
    "apologised",
    "finished",
    "on_time",
    "online",
    "signed",
    "processing_hours",
    "legal_hours",
    "rated",
    "rating_sum",
)


class ResolutionStore:
    """Repository over resolution's own database."""

    def __init__(self, db: Any) -> None:
        self.cases = db["cases"]
        self.results = db["results"]
        self.signing_offices = db["signing_offices"]

    async def ensure_indexes(self) -> None:
        """Worklists by office, the overdue scan by due date, look-up by dossier id or code."""
        await self.cases.create_index([("office_code", ASCENDING), ("status", ASCENDING)], name="worklist")
        await self.cases.create_index([("overdue", ASCENDING), ("due_at", ASCENDING)], name="overdue_scan")
        await self.cases.create_index([("dossier_id", ASCENDING)], name="dossier_id")
        await self.cases.create_index([("dossier_code", ASCENDING)], name="dossier_code")

    async def insert_case(self, doc: dict[str, Any]) -> None:
        """Open a case (DuplicateKeyError when this routing decision already opened one)."""
        await self.cases.insert_one(doc)

    async def case_of(self, dossier: str, office_code: str | None = None) -> dict[str, Any] | None:
        """The newest case of a dossier (by id or code), optionally at one office."""
        for field in ("dossier_id", "dossier_code"):
            query: dict[str, Any] = {field: dossier}
            if office_code is not None:
                query["office_code"] = office_code
            found: list[dict[str, Any]] = await self.cases.find(query).sort("routed_at", DESCENDING).limit(1).to_list(1)
            if found:
                return found[0]
        return None

    async def update_case(
        self, case_id: str, update: dict[str, Any], *, guard: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """One single-document update applied only if ``guard(case)`` holds; the updated case or None."""
        return await update_document(self.cases, case_id, update, guard=guard)

    async def worklist(self, office_code: str, statuses: list[str], limit: int, offset: int) -> list[dict[str, Any]]:
        """Cases of an office in ``statuses``: overdue first, then by due date."""
        cursor = (
            self.cases.find({"office_code": office_code, "status": {"$in": statuses}})
            .sort([("overdue", DESCENDING), ("due_at", ASCENDING)])
            .skip(offset)
            .limit(limit)
        )
        cases: list[dict[str, Any]] = await cursor.to_list(limit)
        return cases

    async def due_now(self, statuses: list[str], now: datetime, limit: int = 200) -> list[dict[str, Any]]:
        """Running cases whose due date has passed and that are not flagged yet."""
        query = {"overdue": False, "status": {"$in": statuses}, "due_at": {"$lte": now}}
        cases: list[dict[str, Any]] = await self.cases.find(query).limit(limit).to_list(limit)
        return cases

    async def next_due(self, statuses: list[str]) -> datetime | None:
        """The earliest due date among running, unflagged cases."""
        found = (
            await self.cases.find({"overdue": False, "status": {"$in": statuses}})
            .sort("due_at", ASCENDING)
            .limit(1)
            .to_list(1)
        )
        return found[0]["due_at"] if found else None

    async def stats(self, group_by: str, match: dict[str, Any]) -> list[dict[str, Any]]:
        """Summed metrics grouped by ``group_by`` (office_code, procedure_code or applicant_ward_code).

        Summed here rather than with ``$group``: FerretDB 1.24 computes only the first accumulator of a
        ``$group`` stage and returns 0 for the others (docs/adr/0002).
        """
        totals: dict[Any, dict[str, Any]] = {}
        async for case in self.cases.find(match, {group_by: 1, "m": 1}):
            row = totals.setdefault(case.get(group_by), {f: 0 for f in METRIC_FIELDS})
            for field in METRIC_FIELDS:
                row[field] += (case.get("m") or {}).get(field, 0)
        return [{"_id": key, **row} for key, row in totals.items()]

    async def insert_result(self, doc: dict[str, Any]) -> None:
        """Store a signed result document."""
        await self.results.insert_one(doc)

    async def result(self, document_id: str) -> dict[str, Any] | None:
        """A signed result by id."""
        found: dict[str, Any] | None = await self.results.find_one({"_id": document_id})
        return found

    async def note_signer(self, office_code: str, key_id: str, at: datetime) -> None:
        """Remember that an office signs results, so its keys are published in the JWKS (idempotent).

        Insert-only: the first signature records the office; later ones find it there.
        """
        with contextlib.suppress(DuplicateKeyError):
            await self.signing_offices.insert_one({"_id": office_code, "first_key_id": key_id, "first_signed_at": at})

    async def signers(self) -> list[str]:
        """Offices that have signed results."""
        return [doc["_id"] async for doc in self.signing_offices.find({}, {"_id": 1})]
