"""Intake use cases: receive a dossier, take a supplement, keep the filing office's view, API keys, queues."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from pymongo.errors import DuplicateKeyError

from services.intake.domain.codes import dossier_code, new_tracking_token, sha256_hex
from services.intake.domain.files import declared_document, file_problem
from services.intake.domain.validation import dossier_problems, normalise_phone
from shared.broker import EventPublisher
from shared.events import (
    ContactPoint,
    DossierReceived,
    DossierRouted,
    DossierStatus,
    DossierStatusChanged,
    DossierSupplemented,
    NotifyPreferences,
    RouteOutcome,
)
from shared.http import ApiError
from shared.logging import get_logger
from shared.outbox import OutboxRelay, new_document_outbox, outbox_entry, with_outbox
from shared.pii import PersonalDataKeys
from shared.reference.admin_units import get_province, get_ward
from shared.reference.legal_clock import VIETNAM_TZ
from shared.reference.offices import parse_office_code
from shared.reference.procedures import Catalogue
from shared.topics import Topics

log = get_logger(__name__)

#: seconds after which a claimed idempotency key whose dossier never came is taken over (the request died)
IDEMPOTENCY_STALE_AFTER = 60.0
#: polls (50 ms apart) a concurrent duplicate waits for the first request's dossier
IDEMPOTENCY_WAIT_STEPS = 100


class IntakeStore(Protocol):
    """What the use cases need from intake's database (adapters.store.IntakeStore, or a fake in tests)."""

    async def next_sequence(self, counter_id: str) -> int:
        """Claim the next number of a counter, race-free."""

    async def claim_idempotency(
        self, key: str, *, body_sha256: str, at: datetime, stale_before: datetime
    ) -> dict[str, Any] | None:
        """Claim an idempotency key (None = ours); the holder's claim when another request has it."""

    async def insert_dossier(self, doc: dict[str, Any]) -> None:
        """Insert a dossier with its outbox; DuplicateKeyError on a reused idempotency key or code."""

    async def dossier_by_idempotency(self, key: str) -> dict[str, Any] | None:
        """The dossier created with an office-scoped idempotency key."""

    async def dossiers_of_citizen(self, citizen_id_hash: str, office_code: str, limit: int) -> list[dict[str, Any]]:
        """An office's dossiers of one citizen, by keyed hash."""

    async def dossier_by_code(self, code: str) -> dict[str, Any] | None:
        """A dossier by its code."""

    async def update_dossier(
        self, dossier_id: str, update: dict[str, Any], *, guard: Callable[[dict[str, Any]], bool]
    ) -> bool:
        """One single-document update applied only if the guard holds; True when applied."""

    async def insert_api_key(self, doc: dict[str, Any]) -> None:
        """Store a new API key (hash only)."""

    async def api_key_by_hash(self, secret_sha256: str) -> dict[str, Any] | None:
        """An active key by the hash of its secret."""

    async def revoke_api_key(self, key_id: str, at: datetime) -> bool:
        """Revoke a key; True when it was active."""

    async def insert_ticket(self, doc: dict[str, Any]) -> None:
        """Store a queue ticket."""

    async def call_next_ticket(
        self, centre: str, day: str, counter: str, at: datetime, service: str | None = None
    ) -> dict[str, Any] | None:
        """Hand the oldest waiting ticket of the day (of one service's queue, if given) to a counter."""

    async def tickets_of(
        self, centre: str, day: str, *, service: str | None, statuses: list[str], limit: int
    ) -> list[dict[str, Any]]:
        """A day's tickets of a centre, in number order."""

    async def ticket(self, centre: str, day: str, number: int) -> dict[str, Any] | None:
        """One ticket of the day."""

    async def link_ticket(self, centre: str, day: str, number: int, dossier_code: str, at: datetime) -> bool:
        """Record the dossier filed for a called ticket's holder."""

    async def mark_no_show(self, centre: str, day: str, number: int, at: datetime) -> dict[str, Any] | None:
        """Mark a called ticket as no-show."""


class FileStore(Protocol):
    """Where dossier files are kept (adapters.files.DossierFiles over GridFS, or a fake in tests)."""

    async def put(self, file_id: str, filename: str, data: bytes, metadata: dict[str, Any]) -> bool:
        """Store a file once; False when this exact file was already stored."""

    async def get(self, file_id: str) -> tuple[bytes, dict[str, Any]] | None:
        """The file's bytes and metadata, or None."""


@dataclass(frozen=True)
class Office:
    """The reception office a front-office key is bound to."""

    code: str
    province_code: str
    ward_code: str | None


def office_of(code: str) -> Office:
    """Resolve an office code to its province and (for commune offices) ward; ValueError if unknown."""
    ref = parse_office_code(code)
    if ref.level == "commune":
        ward = get_ward(ref.unit_code)
        if ward is None or ward.code != ref.unit_code:
            raise ValueError(f"office {code!r}: no commune/ward {ref.unit_code!r}")
        return Office(code, ward.province_code, ward.code)
    province = get_province(ref.unit_code.removeprefix("P"))
    if province is None or f"P{province.code}" != ref.unit_code:
        raise ValueError(f"office {code!r}: no province {ref.unit_code!r}")
    return Office(code, province.code, None)


def _body_hash(body: dict[str, Any], pii: PersonalDataKeys) -> str:
    # keyed: the stored hash of a body holding a citizen ID must not be a dictionary-attack target
    return pii.hash(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str))


def receipt(doc: dict[str, Any], tracking_token: str | None) -> dict[str, Any]:
    """The receipt answered to the front office (tracking token only when just created)."""
    return {
        "id": doc["_id"],
        "code": doc["code"],
        "status": doc["status"],
        "received_at": doc["received_at"],
        "due_at": doc["due_at"],
        "tracking_token": tracking_token,
        "procedure_code": doc["procedure_code"],
        "office_code": doc["office_code"],
    }


async def receive_dossier(
    body: dict[str, Any],
    *,
    office: Office,
    idempotency_key: str | None,
    store: IntakeStore,
    catalogue: Catalogue,
    publisher: EventPublisher,
    relay: OutboxRelay | None,
    now: datetime,
    pii: PersonalDataKeys,
) -> tuple[dict[str, Any], bool]:
    """Check, number and store a dossier with its ``dossier.received.v1`` event; (receipt, created)."""
    body_hash = _body_hash(body, pii)
    idem = f"{office.code}:{idempotency_key}" if idempotency_key else None
    if idem is not None and (existing := await store.dossier_by_idempotency(idem)) is not None:
        return await _replay(existing, body_hash, store=store, now=now)

    procedure = catalogue.get(body["procedure_code"])
    if procedure is None:
        raise ApiError(
            422,
            "unknown_procedure",
            f"procedure_code: no procedure {body['procedure_code']!r}",
            vi=f"procedure_code: không có thủ tục {body['procedure_code']!r}",
        )
    applicant = body["applicant"]
    subject_ward = (body.get("subject") or {}).get("ward_code")
    problems = dossier_problems(
        procedure=procedure,
        channel=body["channel"],
        citizen_id=applicant["citizen_id"],
        phone=applicant["phone"],
        applicant_ward=applicant["address"]["ward_code"],
        subject_ward=subject_ward,
        document_codes=[d["code"] for d in body["documents"]],
        today=now.astimezone(VIETNAM_TZ).date(),
    )
    if problems:
        first = problems[0]
        raise ApiError(
            422,
            first.code,
            f"{first.field}: {first.message}",
            details=[{"code": p.code, "field": p.field, "message": p.message} for p in problems],
            vi=f"{first.field}: {first.message_vi}",
        )
    ticket = body.get("queue_ticket")
    if ticket is not None:
        await check_ticket(office, ticket, store=store, now=now)
    applicant_ward = get_ward(applicant["address"]["ward_code"])
    subject = get_ward(subject_ward) if subject_ward else None
    assert applicant_ward is not None  # checked above
    if idem is not None:
        # the key is claimed before a number is: concurrent retries of one request never burn numbers
        holder = await store.claim_idempotency(
            idem, body_sha256=body_hash, at=now, stale_before=now - timedelta(seconds=IDEMPOTENCY_STALE_AFTER)
        )
        if holder is not None:
            return await _await_holder(store, idem, holder, body_hash, now)
    local_day = now.astimezone(VIETNAM_TZ).date()
    seq = await store.next_sequence(f"{office.code}-{local_day:%y%m%d}")
    dossier_id = str(uuid.uuid4())
    token = new_tracking_token()
    due_at = procedure.due_at(now)
    phone = normalise_phone(applicant["phone"])
    code = dossier_code(office.code, local_day, seq)
    prefs = body.get("notify") or {}
    event_data = DossierReceived(
        dossier_id=dossier_id,
        dossier_code=code,
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        channel=body["channel"],
        receiving_office_code=office.code,
        province_code=office.province_code,
        receiving_ward_code=office.ward_code,
        applicant_ward_code=applicant_ward.code,
        subject_ward_code=subject.code if subject else None,
        received_at=now,
        due_at=due_at,
        processing_days=procedure.processing_days,
        documents=len(body["documents"]),
        tracking_token_sha256=sha256_hex(token),
        notify=NotifyPreferences(**prefs),
        contact=ContactPoint(
            sealed=pii.contact.seal({"phone": phone, "email": applicant.get("email")}),
            phone_hash=pii.hash(phone or ""),
            locale=body.get("locale", "vi"),
        ),
        applicant_identity_verified=applicant.get("identity_verified") is True,
    )
    event = publisher.new_event(Topics.DOSSIER_RECEIVED, subject=code, data=event_data.model_dump(mode="json"))
    doc = {
        "_id": dossier_id,
        "code": code,
        "office_code": office.code,
        "current_office_code": None,
        "province_code": office.province_code,
        "procedure_code": procedure.code,
        "channel": body["channel"],
        "applicant": applicant_at_rest(applicant, phone or "", pii),
        "subject": body.get("subject"),
        "queue_ticket": ticket,
        "documents": body["documents"],
        "notify": prefs,
        "status": "received",
        "awaiting_supplement": False,
        "received_at": now,
        "due_at": due_at,
        "appointment_at": due_at,  # as printed on the receipt (Mẫu 01); due_at follows later changes
        "tracking_token_sha256": event_data.tracking_token_sha256,
        "idempotency_key": idem or f"none:{dossier_id}",
        "body_sha256": body_hash,
        "history": [{"status": "received", "at": now, "office_code": office.code}],
        "supplements": [],
        "seen_events": [],
        "version": 1,
        **new_document_outbox(outbox_entry(Topics.DOSSIER_RECEIVED, event, key=dossier_id)),
    }
    try:
        await store.insert_dossier(doc)
    except DuplicateKeyError:
        # a concurrent request with the same idempotency key won the race
        existing = await store.dossier_by_idempotency(idem) if idem else None
        if existing is None:
            raise
        return await _replay(existing, body_hash, store=store, now=now)
    if relay is not None:
        relay.kick(dossier_id)
    if ticket is not None:
        # after the insert: the dossier is what counts; a lost link is set again by a retried request
        await store.link_ticket(office.code, queue_day(now), ticket, code, now)
    log.info("dossier_received", dossier_id=dossier_id, code=code, procedure=procedure.code, office=office.code)
    return receipt(doc, token), True


async def _await_holder(
    store: IntakeStore, idem: str, holder: dict[str, Any], body_hash: str, now: datetime
) -> tuple[dict[str, Any], bool]:
    """Another request holds the key: the same body gets its dossier once stored; another body is a 409."""
    if holder["body_sha256"] != body_hash:
        raise ApiError(
            409, "idempotency_key_reused", "this Idempotency-Key was already used with a different request body"
        )
    for _ in range(IDEMPOTENCY_WAIT_STEPS):
        if (existing := await store.dossier_by_idempotency(idem)) is not None:
            return await _replay(existing, body_hash, store=store, now=now)
        await asyncio.sleep(0.05)
    raise ApiError(409, "idempotency_in_progress", "a request with this Idempotency-Key is still being processed")


def applicant_at_rest(applicant: dict[str, Any], phone: str, pii: PersonalDataKeys) -> dict[str, Any]:
    """The applicant as stored: citizen ID, phone and e-mail encrypted, with keyed hashes to search by."""
    stored = {k: v for k, v in applicant.items() if k not in ("citizen_id", "phone", "email")}
    stored |= {
        "citizen_id_enc": pii.at_rest.encrypt(applicant["citizen_id"]),
        "citizen_id_hash": pii.hash(applicant["citizen_id"]),
        "phone_enc": pii.at_rest.encrypt(phone),
        "phone_hash": pii.hash(phone),
    }
    if applicant.get("email"):
        stored["email_enc"] = pii.at_rest.encrypt(applicant["email"])
    return stored


def applicant_in_clear(stored: dict[str, Any], pii: PersonalDataKeys) -> dict[str, Any]:
    """The applicant with citizen ID, phone and e-mail decrypted (for the filing office only)."""
    clear = {k: v for k, v in stored.items() if not k.endswith(("_enc", "_hash"))}
    for field in ("citizen_id", "phone", "email"):
        if f"{field}_enc" in stored:
            clear[field] = pii.at_rest.decrypt(stored[f"{field}_enc"])
    return clear


async def _replay(
    existing: dict[str, Any], body_hash: str, *, store: IntakeStore, now: datetime
) -> tuple[dict[str, Any], bool]:
    if existing["body_sha256"] != body_hash:
        raise ApiError(
            409, "idempotency_key_reused", "this Idempotency-Key was already used with a different request body"
        )
    if existing.get("queue_ticket") is not None:  # a retry after a lost ticket link sets it again
        day = queue_day(existing["received_at"])
        await store.link_ticket(existing["office_code"], day, existing["queue_ticket"], existing["code"], now)
    return receipt(existing, None), False


async def filed_dossier(code: str, *, office: Office, store: IntakeStore) -> dict[str, Any]:
    """The dossier ``code`` filed at ``office`` (404 for any other office: it learns nothing of the dossier)."""
    doc = await store.dossier_by_code(code)
    if doc is None or doc["office_code"] != office.code:
        raise ApiError(
            404,
            "not_found",
            f"no dossier {code!r} filed at this office",
            vi=f"không có hồ sơ {code!r} nộp tại đơn vị này",
        )
    return doc


async def submit_supplement(
    code: str,
    documents: list[dict[str, Any]],
    note: str | None,
    *,
    office: Office,
    store: IntakeStore,
    publisher: EventPublisher,
    relay: OutboxRelay | None,
    now: datetime,
) -> dict[str, Any]:
    """Record the citizen's supplement and emit ``dossier.supplemented.v1`` (only while one is awaited)."""
    doc = await filed_dossier(code, office=office, store=store)
    supplement_id = str(uuid.uuid4())
    data = DossierSupplemented(
        dossier_id=doc["_id"], dossier_code=code, supplement_id=supplement_id, documents=len(documents), received_at=now
    )
    event = publisher.new_event(Topics.DOSSIER_SUPPLEMENTED, subject=code, data=data.model_dump(mode="json"))
    matched = await store.update_dossier(
        doc["_id"],
        guard=lambda d: bool(d.get("awaiting_supplement")),
        update=with_outbox(
            {
                "$set": {"awaiting_supplement": False},
                "$push": {"supplements": {"id": supplement_id, "documents": documents, "note": note, "at": now}},
                "$inc": {"version": 1},
            },
            outbox_entry(Topics.DOSSIER_SUPPLEMENTED, event, key=doc["_id"]),
        ),
    )
    if not matched:
        raise ApiError(
            409,
            "not_awaiting_supplement",
            f"dossier {code} is {doc['status']}; no supplement has been requested",
            vi=f"hồ sơ {code} không có yêu cầu bổ sung nào đang chờ",
        )
    if relay is not None:
        relay.kick(doc["_id"])
    log.info("supplement_received", dossier_id=doc["_id"], code=code, documents=len(documents))
    return {"supplement_id": supplement_id, "code": code, "received_at": now}


#: Attempts of a read-then-guarded-write of the view before the consumer retries the message.
_VIEW_WRITE_ATTEMPTS = 5


def _is_news(event_id: str, change: DossierStatusChanged, doc: dict[str, Any]) -> bool:
    """The event is not a redelivery and not older than what the view already shows of that office."""
    if event_id in doc.get("seen_events", []):
        return False
    last = doc.get("last_status") or {}
    # versions increase per dossier at one office; a transfer starts a new office's sequence
    return bool(last.get("office_code") != change.office_code or change.version > last.get("version", 0))


def _superseded(doc: dict[str, Any], office_code: str, at: datetime) -> bool:
    """True when routing moved the dossier to another office after ``at`` (news of an office it has left)."""
    route = doc.get("route") or {}
    return bool(route.get("routed_at") and route.get("office_code") != office_code and at < route["routed_at"])


def _unchanged(doc: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """Guard: nobody wrote the view since ``doc`` was read (each write increments ``version``)."""
    version = doc.get("version")
    return lambda current: current.get("version") == version


async def _write_view(
    store: IntakeStore,
    dossier_id: str,
    code: str,
    compute: Callable[[dict[str, Any]], dict[str, Any] | None],
) -> bool:
    """Read the view, let ``compute`` build the update (None = nothing to do), write it unless changed meanwhile."""
    for _ in range(_VIEW_WRITE_ATTEMPTS):
        doc = await store.dossier_by_code(code)
        if doc is None or doc["_id"] != dossier_id:
            return False
        update = compute(doc)
        if update is None:
            return False
        if await store.update_dossier(dossier_id, update, guard=_unchanged(doc)):
            return True
    raise ConnectionError(f"dossier view {dossier_id} kept changing; the event is redelivered")


async def apply_status(event_id: str, change: DossierStatusChanged, *, store: IntakeStore) -> bool:
    """Keep the filing office's view current from ``dossier.status.v1``; False for duplicates and stale events."""

    def compute(doc: dict[str, Any]) -> dict[str, Any] | None:
        if not _is_news(event_id, change, doc):
            return None
        entry = {
            "status": change.status.value,
            "action": change.action,
            "at": change.occurred_at,
            "office_code": change.office_code,
            "reason": change.reason,
        }
        update: dict[str, Any] = {
            "$set": {
                "last_status": {"office_code": change.office_code, "version": change.version, "at": change.occurred_at}
            },
            "$push": {"seen_events": event_id, "history": entry},
            "$inc": {"version": 1},
        }
        if _superseded(doc, change.office_code, change.occurred_at):
            return update  # on the timeline, but the dossier is elsewhere now: status and office stay
        update["$set"] |= {"status": change.status.value, "current_office_code": change.office_code}
        if change.due_at is not None:
            update["$set"]["due_at"] = change.due_at
        if change.status.value == "supplement_requested":
            update["$set"]["awaiting_supplement"] = True
        elif change.action != "overdue":
            update["$set"]["awaiting_supplement"] = False
        return update

    applied = await _write_view(store, change.dossier_id, change.dossier_code, compute)
    if applied:
        log.info("dossier_view_updated", dossier_id=change.dossier_id, status=change.status.value, action=change.action)
    else:
        log.info("status_event_skipped", dossier_id=change.dossier_id, event_id=event_id, version=change.version)
    return applied


async def apply_routed(event_id: str, routed: DossierRouted, *, store: IntakeStore) -> bool:
    """Follow ``dossier.routed.v1``: the competent office now holding it (or parked, waiting for one)."""
    parked = routed.outcome is RouteOutcome.PARKED
    status = DossierStatus.PARKED if parked else DossierStatus.ROUTED

    def compute(doc: dict[str, Any]) -> dict[str, Any] | None:
        route = doc.get("route") or {}
        if event_id in doc.get("seen_events", []) or (route.get("routed_at") and routed.routed_at < route["routed_at"]):
            return None  # a redelivery, or a decision older than the one the view shows
        sets: dict[str, Any] = {
            "route": {
                "decision_id": routed.decision_id,
                "office_code": routed.office_code,
                "office_name": routed.office_name,
                "routed_at": routed.routed_at,
                "chain_step": routed.chain_step,
            }
        }
        last = doc.get("last_status") or {}
        # status events travel on another topic and may overtake the decision: the office's own news wins
        acted = bool(routed.office_code and last.get("office_code") == routed.office_code)
        if not (acted and last.get("at") and last["at"] >= routed.routed_at):
            sets |= {"status": status.value, "current_office_code": routed.office_code, "awaiting_supplement": False}
        entry = {
            "status": status.value,
            "action": "park" if parked else "route",
            "at": routed.routed_at,
            "office_code": routed.office_code,
            "reason": routed.reason if parked else None,
        }
        return {"$set": sets, "$push": {"seen_events": event_id, "history": entry}, "$inc": {"version": 1}}

    applied = await _write_view(store, routed.dossier_id, routed.dossier_code, compute)
    log.info(
        "dossier_view_routed" if applied else "routed_event_skipped",
        dossier_id=routed.dossier_id,
        office=routed.office_code,
        parked=parked,
    )
    return applied


async def create_api_key(office_code: str, *, store: IntakeStore, now: datetime) -> tuple[str, str]:
    """A new front-office key bound to ``office_code``: (key id, full key shown once)."""
    office_of(office_code)  # validates the office
    key_id = secrets.token_hex(6)
    key = f"lt_{key_id}_{secrets.token_urlsafe(32)}"
    await store.insert_api_key(
        {
            "_id": key_id,
            "secret_sha256": sha256_hex(key),
            "office_code": office_code,
            "created_at": now,
            "revoked_at": None,
        }
    )
    return key_id, key


async def authenticate(key: str, *, store: IntakeStore) -> Office | None:
    """The office of an active key, or None (looked up on every call, so revocation is immediate)."""
    doc = await store.api_key_by_hash(sha256_hex(key))
    return office_of(doc["office_code"]) if doc else None


async def take_ticket(centre: str, service: str, *, store: IntakeStore, now: datetime) -> dict[str, Any]:
    """A numbered queue ticket; numbers restart every day per centre."""
    day = queue_day(now)
    number = await store.next_sequence(f"queue:{centre}:{day}")
    ticket = {
        "_id": f"{centre}:{day}:{number}",
        "centre": centre,
        "day": day,
        "number": number,
        "service": service,
        "status": "waiting",
        "created_at": now,
    }
    await store.insert_ticket(ticket)
    return ticket


def queue_day(now: datetime) -> str:
    """The queue day (Vietnam date) of ``now``."""
    return f"{now.astimezone(VIETNAM_TZ).date():%Y-%m-%d}"


async def call_next_ticket(
    centre: str, counter: str, *, service: str | None = None, store: IntakeStore, now: datetime
) -> dict[str, Any]:
    """Give ``counter`` the oldest waiting ticket of today, of one service's queue when ``service`` is given
    (atomic: two counters never get the same one)."""
    ticket = await store.call_next_ticket(centre, queue_day(now), counter, now, service)
    if ticket is None:
        raise ApiError(
            404,
            "queue_empty",
            f"no ticket is waiting{f' for {service}' if service else ''}",
            vi=f"không còn ai đang chờ{f' ở quầy {service}' if service else ''}",
        )
    return ticket


#: Ticket statuses a display board shows by default: who waits, and who was called to which counter.
BOARD_STATUSES = ["waiting", "called"]


async def list_tickets(
    centre: str, *, service: str | None, statuses: list[str] | None, store: IntakeStore, now: datetime, limit: int
) -> list[dict[str, Any]]:
    """Today's tickets of a centre for its display board (one service's queue when given), in number order."""
    return await store.tickets_of(
        centre, queue_day(now), service=service, statuses=statuses or BOARD_STATUSES, limit=limit
    )


async def check_ticket(office: Office, number: int, *, store: IntakeStore, now: datetime) -> None:
    """The ticket a dossier is filed for must be one this centre called today; 422 unknown_ticket otherwise."""
    ticket = await store.ticket(office.code, queue_day(now), number)
    if ticket is None or ticket["status"] not in ("called", "served"):
        raise ApiError(
            422,
            "unknown_ticket",
            f"queue_ticket: no ticket {number} called today at {office.code}",
            vi=f"queue_ticket: số {number} chưa được gọi hôm nay tại {office.code}",
        )


async def mark_no_show(centre: str, number: int, *, store: IntakeStore, now: datetime) -> dict[str, Any]:
    """Record that the holder of called ticket ``number`` did not come to the counter."""
    ticket = await store.mark_no_show(centre, queue_day(now), number, now)
    if ticket is None:
        raise ApiError(404, "not_found", f"no called ticket {number} today", vi=f"hôm nay chưa gọi số {number}")
    return ticket


async def store_file(
    code: str,
    document_code: str,
    content_type: str,
    data: bytes,
    *,
    office: Office,
    store: IntakeStore,
    files: FileStore,
    max_bytes: int,
    now: datetime,
) -> tuple[dict[str, Any], bool]:
    """Keep the file of a document the dossier (or a supplement) declared, after checking it is that file."""
    doc = await filed_dossier(code, office=office, store=store)
    declared = declared_document(doc, document_code)
    if declared is None:
        raise ApiError(
            404,
            "unknown_document",
            f"dossier {code} declares no document {document_code!r}",
            vi=f"hồ sơ {code} không khai báo giấy tờ {document_code!r}",
        )
    problem = file_problem(declared, content_type, data, max_bytes=max_bytes)
    if problem is not None:
        raise ApiError(problem.status, problem.code, problem.message, vi=problem.vi)
    file_id = f"{doc['_id']}/{document_code}/{declared['sha256']}"
    record = {
        "document_code": document_code,
        "file_id": file_id,
        "sha256": declared["sha256"],
        "size": len(data),
        "content_type": declared["content_type"],
        "uploaded_at": now,
    }
    await files.put(
        file_id,
        f"{code}/{document_code}",
        data,
        metadata={
            "dossier_id": doc["_id"],
            "dossier_code": code,
            **{k: v for k, v in record.items() if k != "file_id"},
        },
    )
    # recorded once per file: a repeated upload of the same bytes changes nothing
    added = await store.update_dossier(
        doc["_id"],
        {"$push": {"files": record}, "$inc": {"version": 1}},
        guard=lambda d: all(f["file_id"] != file_id for f in d.get("files") or []),
    )
    log.info("dossier_file_stored", dossier_id=doc["_id"], code=code, document=document_code, size=len(data), new=added)
    return record, added


async def read_file(
    code: str, document_code: str, *, official_office: str, store: IntakeStore, files: FileStore
) -> tuple[bytes, dict[str, Any]]:
    """A dossier file for an official of the office now competent for the dossier (404 for everyone else)."""
    doc = await store.dossier_by_code(code)
    if doc is None or doc.get("current_office_code") != official_office:
        raise ApiError(
            404,
            "not_found",
            f"no dossier {code!r} at your office",
            vi=f"không có hồ sơ {code!r} tại cơ quan của Ông/Bà",
        )
    record = next((f for f in reversed(doc.get("files") or []) if f["document_code"] == document_code), None)
    found = await files.get(record["file_id"]) if record else None
    if record is None or found is None:
        raise ApiError(
            404,
            "no_file",
            f"no file has been uploaded for document {document_code!r}",
            vi=f"chưa có tệp nào được tải lên cho giấy tờ {document_code!r}",
        )
    data, _ = found
    if sha256_hex(data) != record["sha256"]:
        log.error("dossier_file_damaged", dossier_id=doc["_id"], code=code, document=document_code)
        raise ApiError(503, "file_damaged", "the stored file does not match its checksum; the office has been alerted")
    return data, record
