"""Resolution's collections: cases (one per dossier per office, with history and outbox) and results."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from shared.store import update_document


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
        await self.cases.create_index([("office_province_code", ASCENDING)], name="office_province")
        # the operations report reads only cases touching its period (and open ones): on MongoDB each
        # branch of its $or uses one of these
        await self.cases.create_index([("received_at", ASCENDING)], name="received_at")
        await self.cases.create_index([("finished_at", ASCENDING)], name="finished_at")

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

    async def count_unflagged(self, running: list[str], now: datetime) -> int:
        """Running cases past due that the overdue scheduler has not flagged yet."""
        query = {"overdue": False, "status": {"$in": running}, "due_at": {"$lte": now}, "paused_at": None}
        return int(await self.cases.count_documents(query))

    async def operations_cases(
        self,
        *,
        province_code: str | None,
        office_code: str | None,
        fields: tuple[str, ...],
        since: datetime,
        open_statuses: list[str],
    ) -> list[dict[str, Any]]:
        """Cases of one office, one (competent office's) province, or all, that matter for a period from
        ``since``: received, finished, flagged, apologised or rated since then, or still open; only ``fields``.

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
                {"status": {"$in": open_statuses}},
            ]
        }
        if office_code is not None:
            query["office_code"] = office_code
        elif province_code is not None:
            query["office_province_code"] = province_code
        cases: list[dict[str, Any]] = await self.cases.find(query, dict.fromkeys(fields, 1)).to_list(None)
        return cases

    async def overdue_by_province(self, statuses: list[str], now: datetime) -> dict[str, int]:
        """Running cases past their due date, per competent office's province (the overdue gauge)."""
        query = {"status": {"$in": statuses}, "due_at": {"$lte": now}, "paused_at": None}
        counts: dict[str, int] = {}
        async for case in self.cases.find(query, {"office_province_code": 1}):
            key = case.get("office_province_code") or "??"
            counts[key] = counts.get(key, 0) + 1
        return counts

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
