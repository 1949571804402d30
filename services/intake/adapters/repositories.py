"""Intake's repositories on its own database: dossiers and queue tickets (aggregates, through the unit of
work), code counters, idempotency claims and API keys. Mongo filters and operators live only here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from services.intake.domain.api_keys import ApiKey
from services.intake.domain.dossier import (
    Address,
    Document,
    Dossier,
    FileRecord,
    HistoryEntry,
    LastStatus,
    Notify,
    Route,
    StoredApplicant,
    Supplement,
)
from services.intake.domain.ports import Claim
from services.intake.domain.ticket import Ticket
from shared.outbox import OutboxRelay
from shared.unit_of_work import MongoAggregates, flat_arguments, flat_document

#: documents kept as last read or written, so the next change of one is one write (docs/adr/0005):
#: the routed and status events of a dossier come soon after its filing (on its key's partition)
DOSSIER_SNAPSHOTS = 2000

SOURCE = "/lienthong/intake"


def _document(raw: Mapping[str, Any]) -> Document:
    return Document(
        code=raw.get("code", ""),
        title=raw.get("title", ""),
        content_type=raw.get("content_type", ""),
        size=int(raw.get("size", 0)),
        sha256=raw.get("sha256", ""),
    )


def _applicant_document(applicant: StoredApplicant) -> dict[str, Any]:
    doc = asdict(applicant)
    if doc["email_enc"] is None:
        del doc["email_enc"]  # as stored before the aggregate: absent when no e-mail was given
    if not applicant.identity_verified:  # only a citizen's own online filing carries a verified identity
        for name in ("identity_verified", "identity_provider", "identity_verified_at"):
            del doc[name]
    return doc


def _applicant(raw: Mapping[str, Any]) -> StoredApplicant:
    address = raw.get("address") or {}
    return StoredApplicant(
        full_name=raw["full_name"],
        address=Address(address.get("ward_code", ""), address.get("detail")),
        citizen_id_enc=raw["citizen_id_enc"],
        citizen_id_hash=raw["citizen_id_hash"],
        phone_enc=raw["phone_enc"],
        phone_hash=raw["phone_hash"],
        email_enc=raw.get("email_enc"),
        identity_verified=raw.get("identity_verified") is True,
        identity_provider=raw.get("identity_provider"),
        identity_verified_at=raw.get("identity_verified_at"),
    )


#: the dossier's fields kept as sub-documents (the mapper writes and reads them itself)
_NESTED = frozenset(
    {"applicant", "subject_ward_code", "documents", "notify", "history", "supplements", "files", "route", "last_status"}
)


class DossierMapper:
    """A Dossier to and from the document shape intake has always stored."""

    def to_document(self, dossier: Dossier) -> dict[str, Any]:
        """The dossier's state as a document (nested value objects as sub-documents)."""
        return flat_document(dossier, skip=_NESTED) | {
            "applicant": _applicant_document(dossier.applicant),
            "subject": {"ward_code": dossier.subject_ward_code} if dossier.subject_ward_code else None,
            "documents": [asdict(d) for d in dossier.documents],
            "notify": asdict(dossier.notify),
            "history": [asdict(h) for h in dossier.history],
            "supplements": [asdict(s) for s in dossier.supplements],
            "files": [asdict(f) for f in dossier.files],
            "route": asdict(dossier.route) if dossier.route else None,
            "last_status": asdict(dossier.last_status) if dossier.last_status else None,
        }

    def from_document(self, doc: Mapping[str, Any]) -> Dossier:
        """The dossier a stored document holds (older documents lack the later fields)."""
        route, last = doc.get("route"), doc.get("last_status")
        return Dossier(
            **flat_arguments(Dossier, doc, skip=_NESTED | {"appointment_at", "awaiting_supplement"}),
            applicant=_applicant(doc["applicant"]),
            subject_ward_code=(doc.get("subject") or {}).get("ward_code"),
            documents=[_document(d) for d in doc.get("documents") or []],
            notify=Notify(**(doc.get("notify") or {})),
            appointment_at=doc.get("appointment_at") or doc["due_at"],
            awaiting_supplement=bool(doc.get("awaiting_supplement")),
            history=[
                HistoryEntry(h["status"], h["at"], h.get("office_code"), h.get("action"), h.get("reason"))
                for h in doc.get("history") or []
            ],
            supplements=[
                Supplement(s["id"], [_document(d) for d in s.get("documents") or []], s.get("note"), s["at"])
                for s in doc.get("supplements") or []
            ],
            files=[FileRecord(**f) for f in doc.get("files") or []],
            route=Route(
                route["decision_id"],
                route.get("office_code"),
                route.get("office_name"),
                route["routed_at"],
                route.get("chain_step") or 0,
            )
            if route
            else None,
            last_status=LastStatus(last["office_code"], last["version"], last["at"]) if last else None,
        )


class DossierRepository(MongoAggregates[Dossier]):
    """Dossiers with their outbox (``dossier.received.v1``, ``dossier.supplemented.v1``), by code or key."""

    def __init__(self, db: Any, relay: OutboxRelay | None = None, *, snapshots: int = DOSSIER_SNAPSHOTS) -> None:
        super().__init__(db["dossiers"], DossierMapper(), source=SOURCE, relay=relay, snapshots=snapshots)

    async def ensure_indexes(self) -> None:
        """Unique dossier codes and idempotency keys; citizens by keyed hash."""
        await self.collection.create_index("code", unique=True, name="code")
        await self.collection.create_index("idempotency_key", unique=True, name="idempotency_key")
        await self.collection.create_index("applicant.citizen_id_hash", name="citizen_id_hash")

    async def _one(self, query: dict[str, Any]) -> Dossier | None:
        found = await self.find(query, limit=1)
        return found[0] if found else None

    async def by_code(self, code: str) -> Dossier | None:
        """A dossier by its code."""
        return await self._one({"code": code})

    async def by_idempotency_key(self, key: str) -> Dossier | None:
        """The dossier created with an office-scoped idempotency key."""
        return await self._one({"idempotency_key": key})

    async def of_citizen(self, citizen_id_hash: str, office_code: str, limit: int) -> list[Dossier]:
        """An office's dossiers of one citizen, newest first."""
        query = {"applicant.citizen_id_hash": citizen_id_hash, "office_code": office_code}
        return await self.find(query, sort=[("received_at", DESCENDING)], limit=limit)


class TicketMapper:
    """A Ticket to and from its document."""

    def to_document(self, ticket: Ticket) -> dict[str, Any]:
        """The ticket's state as a document."""
        return {"_id": ticket.id, **asdict(ticket)}

    def from_document(self, doc: Mapping[str, Any]) -> Ticket:
        """The ticket a stored document holds (a field never set is absent from older documents)."""
        state: dict[str, Any] = {f.name: doc.get(f.name) for f in fields(Ticket)}
        return Ticket(**state)


class TicketRepository(MongoAggregates[Ticket]):
    """Counter queue tickets by centre and day."""

    def __init__(self, db: Any) -> None:
        super().__init__(db["queue_tickets"], TicketMapper(), source=SOURCE)

    async def ensure_indexes(self) -> None:
        """A centre's day by status, and by service and status."""
        await self.collection.create_index(
            [("centre", ASCENDING), ("day", ASCENDING), ("status", ASCENDING)], name="queue"
        )
        await self.collection.create_index(
            [("centre", ASCENDING), ("day", ASCENDING), ("service", ASCENDING), ("status", ASCENDING)],
            name="service_queue",
        )

    async def waiting(self, centre: str, day: str, service: str | None, limit: int) -> list[Ticket]:
        """The oldest waiting tickets of a day (of one service, if given)."""
        return await self.of_day(centre, day, service=service, statuses=["waiting"], limit=limit)

    async def of_day(
        self, centre: str, day: str, *, service: str | None, statuses: list[str], limit: int
    ) -> list[Ticket]:
        """A day's tickets in ``statuses`` (of one service, if given), in number order."""
        query: dict[str, Any] = {"centre": centre, "day": day, "status": {"$in": statuses}}
        if service is not None:
            query["service"] = service
        return await self.find(query, sort=[("number", ASCENDING)], limit=limit)


class MongoSequences:
    """Counters claimed by unique inserts: ``<counter>#<n>`` under the ``_id`` index."""

    def __init__(self, db: Any) -> None:
        self.counters = db["counters"]
        self._hints: dict[str, int] = {}

    async def ensure_indexes(self) -> None:
        """The latest claim of a counter."""
        await self.counters.create_index([("counter", ASCENDING), ("n", DESCENDING)], name="counter_n")

    async def next(self, counter_id: str) -> int:
        """Claim the next number of ``counter_id`` race-free, across instances and on FerretDB.

        Inserts under a unique ``_id`` are atomic on every store. Within this process each caller takes its
        candidate before awaiting, so concurrent requests do not all collide on the same number; only
        another instance's claims cause a retry.
        """
        if counter_id not in self._hints:
            last = await self._last_claimed(counter_id)
            self._hints.setdefault(counter_id, last)  # a concurrent caller may have filled it meanwhile
        while True:
            n = self._hints[counter_id] + 1
            self._hints[counter_id] = n
            try:
                await self.counters.insert_one({"_id": f"{counter_id}#{n}", "counter": counter_id, "n": n})
            except DuplicateKeyError:
                # another instance is numbering the same counter: continue after its latest claim
                self._hints[counter_id] = max(self._hints[counter_id], await self._last_claimed(counter_id))
                continue
            return n

    async def _last_claimed(self, counter_id: str) -> int:
        last = await self.counters.find({"counter": counter_id}).sort("n", DESCENDING).limit(1).to_list(1)
        return int(last[0]["n"]) if last else 0


class MongoIdempotencyClaims:
    """Idempotency keys claimed by a unique ``_id`` insert before a number is."""

    def __init__(self, db: Any) -> None:
        self.claims = db["idempotency_claims"]
        self.dossiers = db["dossiers"]

    async def claim(self, key: str, *, body_sha256: str, at: datetime, stale_before: datetime) -> Claim | None:
        """Claim a key (None = ours); the holder's claim when another has it.

        A claim older than ``stale_before`` whose dossier never came belongs to a request that died: it is
        taken over (deleted by its exact time, so one request wins).
        """
        for _ in range(2):
            try:
                await self.claims.insert_one({"_id": key, "body_sha256": body_sha256, "at": at})
                return None
            except DuplicateKeyError:
                holder = await self.claims.find_one({"_id": key})
                if holder is None:
                    continue  # released meanwhile
                if holder["at"] >= stale_before or await self.dossiers.find_one({"idempotency_key": key}, {"_id": 1}):
                    return Claim(holder["body_sha256"], holder["at"])
                await self.claims.delete_one({"_id": key, "at": holder["at"]})
        last = await self.claims.find_one({"_id": key})
        return Claim(last["body_sha256"], last["at"]) if last else None


class MongoApiKeys:
    """Front-office keys: only the hash of the secret is stored."""

    def __init__(self, db: Any) -> None:
        self.keys = db["api_keys"]

    async def ensure_indexes(self) -> None:
        """Look-up by the hash of the secret."""
        await self.keys.create_index("secret_sha256", unique=True, name="secret_sha256")

    async def add(self, key: ApiKey) -> None:
        """Store a new key."""
        await self.keys.insert_one({"_id": key.id, **{k: v for k, v in asdict(key).items() if k != "id"}})

    async def active_by_hash(self, secret_sha256: str) -> ApiKey | None:
        """A key that is not revoked, by the hash of the presented secret."""
        doc = await self.keys.find_one({"secret_sha256": secret_sha256, "revoked_at": None})
        if doc is None:
            return None
        return ApiKey(doc["_id"], doc["secret_sha256"], doc["office_code"], doc["created_at"], doc.get("revoked_at"))

    async def is_revoked(self, key_id: str) -> bool:
        """One read by primary key, projected to the revocation time."""
        doc = await self.keys.find_one({"_id": key_id}, {"revoked_at": 1})
        return doc is None or doc.get("revoked_at") is not None

    async def revoke(self, key_id: str, at: datetime) -> bool:
        """Revoke a key; True when it existed and was active."""
        result = await self.keys.update_one({"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": at}})
        return bool(result.modified_count)
