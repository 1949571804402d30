"""Intake use cases: load through a port, call the domain, commit (services/intake/README.md, "Layout")."""

from __future__ import annotations

import asyncio
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.intake.domain.api_keys import VerifiedKey, new_api_key
from services.intake.domain.dossier import (
    Address,
    Document,
    Dossier,
    FileRecord,
    Filing,
    Notify,
    StoredApplicant,
    dossier_code,
    dossier_problems,
    new_tracking_token,
    normalise_phone,
    refuse_incomplete,
    sha256_hex,
)
from services.intake.domain.errors import Conflict, NotFound, Refused
from services.intake.domain.files import file_problem
from services.intake.domain.office import Office, office_of
from services.intake.domain.ports import (
    ApiKeys,
    Claim,
    ClearApplicant,
    Dossiers,
    FileStore,
    IdempotencyClaims,
    KeyCache,
    ReceiptPrinter,
    Sequences,
    Tickets,
)
from services.intake.domain.ticket import BOARD_STATUSES, Ticket, queue_day, ticket_id
from shared.errors import WriteConflict
from shared.events import ContactPoint, DossierRouted, DossierStatusChanged, RouteOutcome
from shared.http import ApiError
from shared.logging import get_logger
from shared.pii import PersonalDataKeys
from shared.reference.legal_clock import VIETNAM_TZ
from shared.reference.procedures import Catalogue, Procedure

log = get_logger(__name__)

#: seconds after which a claimed idempotency key whose dossier never came is taken over (the request died)
IDEMPOTENCY_STALE_AFTER = 60.0
#: polls (50 ms apart) a concurrent duplicate waits for the first request's dossier
IDEMPOTENCY_WAIT_STEPS = 100


@dataclass(frozen=True)
class FilingPorts:
    """What filing a dossier needs from outside."""

    dossiers: Dossiers
    tickets: Tickets
    sequences: Sequences
    claims: IdempotencyClaims
    catalogue: Catalogue
    pii: PersonalDataKeys


@dataclass(frozen=True)
class Receipt:
    """The answer to a filing: the dossier, its tracking token (only when just created), and whether it was."""

    dossier: Dossier
    tracking_token: str | None
    created: bool


# -- filing -------------------------------------------------------------------------------------------------


async def receive_dossier(
    body: dict[str, Any], *, office: Office, idempotency_key: str | None, ports: FilingPorts, now: datetime
) -> Receipt:
    """Check, number and store a dossier with its ``dossier.received.v1`` event (a known key replays)."""
    body_hash = _body_hash(body, ports.pii)
    idem = f"{office.code}:{idempotency_key}" if idempotency_key else None
    if idem is not None and (existing := await ports.dossiers.by_idempotency_key(idem)) is not None:
        return await _replay(existing, body_hash, ports.tickets, now)
    filing, procedure = _checked_filing(body, ports.catalogue, now)
    if filing.queue_ticket is not None:
        await check_ticket(office, filing.queue_ticket, tickets=ports.tickets, now=now)
    # the key is claimed before a number is: concurrent retries of one request never burn numbers
    if idem is not None and (holder := await _claim(ports.claims, idem, body_hash, now)) is not None:
        return await _await_holder(ports, idem, holder, body_hash, now)
    dossier, token = await _new_dossier(body, filing, procedure, office, idem, body_hash, ports, now)
    if not await ports.dossiers.add(dossier):
        return await _lost_to_duplicate(ports, idem, body_hash, now)
    if filing.queue_ticket is not None:
        await _serve_ticket(ports.tickets, office.code, now, filing.queue_ticket, dossier.code)
    log.info("dossier_received", dossier_id=dossier.id, code=dossier.code, procedure=procedure.code, office=office.code)
    return Receipt(dossier, token, True)


def _checked_filing(body: dict[str, Any], catalogue: Catalogue, now: datetime) -> tuple[Filing, Procedure]:
    """The filing and its procedure, after every completeness and identity rule (422 naming the first broken)."""
    procedure = catalogue.get(body["procedure_code"])
    if procedure is None:
        code = body["procedure_code"]
        raise Refused(
            "unknown_procedure",
            f"procedure_code: no procedure {code!r}",
            vi=f"procedure_code: không có thủ tục {code!r}",
        )
    applicant, filing = body["applicant"], _filing(body)
    problems = dossier_problems(
        procedure=procedure,
        channel=filing.channel,
        citizen_id=applicant["citizen_id"],
        phone=applicant["phone"],
        applicant_ward=filing.applicant_address.ward_code,
        subject_ward=filing.subject_ward_code,
        document_codes=[d.code for d in filing.documents],
        today=now.astimezone(VIETNAM_TZ).date(),
    )
    refuse_incomplete(problems)
    return filing, procedure


async def _new_dossier(
    body: dict[str, Any],
    filing: Filing,
    procedure: Procedure,
    office: Office,
    idem: str | None,
    body_hash: str,
    ports: FilingPorts,
    now: datetime,
) -> tuple[Dossier, str]:
    """Number the dossier and build it (not yet stored), with the citizen's tracking token."""
    local_day = now.astimezone(VIETNAM_TZ).date()
    sequence = await ports.sequences.next(f"{office.code}-{local_day:%y%m%d}")
    dossier_id, token = str(uuid.uuid4()), new_tracking_token()
    applicant = body["applicant"]
    phone = normalise_phone(applicant["phone"]) or ""
    contact = ContactPoint(
        sealed=ports.pii.contact.seal({"phone": phone, "email": applicant.get("email")}),
        phone_hash=ports.pii.hash(phone),
        locale=filing.locale,
    )
    dossier = Dossier.receive(
        filing,
        dossier_id=dossier_id,
        code=dossier_code(office.code, local_day, sequence),
        office=office,
        procedure=procedure,
        applicant=applicant_at_rest(applicant, phone, ports.pii),
        contact=contact,
        tracking_token_sha256=sha256_hex(token),
        idempotency_key=idem or f"none:{dossier_id}",
        body_sha256=body_hash,
        now=now,
    )
    return dossier, token


def _filing(body: dict[str, Any]) -> Filing:
    """The filing as the domain reads it, from the checked HTTP body."""
    applicant = body["applicant"]
    address = applicant["address"]
    return Filing(
        procedure_code=body["procedure_code"],
        channel=body["channel"],
        applicant_address=Address(address["ward_code"], address.get("detail")),
        subject_ward_code=(body.get("subject") or {}).get("ward_code"),
        documents=[_document(d) for d in body["documents"]],
        notify=Notify(**(body.get("notify") or {})),
        locale=body.get("locale", "vi"),
        queue_ticket=body.get("queue_ticket"),
    )


def _document(raw: dict[str, Any]) -> Document:
    return Document(raw["code"], raw["title"], raw["content_type"], raw["size"], raw["sha256"])


def _body_hash(body: dict[str, Any], pii: PersonalDataKeys) -> str:
    # keyed: the stored hash of a body holding a citizen ID must not be a dictionary-attack target
    return pii.hash(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str))


async def _claim(claims: IdempotencyClaims, idem: str, body_hash: str, now: datetime) -> Claim | None:
    stale_before = now - timedelta(seconds=IDEMPOTENCY_STALE_AFTER)
    return await claims.claim(idem, body_sha256=body_hash, at=now, stale_before=stale_before)


def _reused_key() -> Conflict:
    return Conflict("idempotency_key_reused", "this Idempotency-Key was already used with a different request body")


async def _replay(existing: Dossier, body_hash: str, tickets: Tickets, now: datetime) -> Receipt:
    """The dossier an idempotency key already made (another body with that key is a 409)."""
    if existing.body_sha256 != body_hash:
        raise _reused_key()
    if existing.queue_ticket is not None:  # a retry after a lost ticket link sets it again
        await _serve_ticket(tickets, existing.office_code, existing.received_at, existing.queue_ticket, existing.code)
    return Receipt(existing, None, False)


async def _await_holder(ports: FilingPorts, idem: str, holder: Claim, body_hash: str, now: datetime) -> Receipt:
    """Another request holds the key: the same body gets its dossier once stored; another body is a 409."""
    if holder.body_sha256 != body_hash:
        raise _reused_key()
    for _ in range(IDEMPOTENCY_WAIT_STEPS):
        if (existing := await ports.dossiers.by_idempotency_key(idem)) is not None:
            return await _replay(existing, body_hash, ports.tickets, now)
        await asyncio.sleep(0.05)
    raise Conflict("idempotency_in_progress", "a request with this Idempotency-Key is still being processed")


async def _lost_to_duplicate(ports: FilingPorts, idem: str | None, body_hash: str, now: datetime) -> Receipt:
    """The insert met a unique key: a concurrent request with the same idempotency key won the race."""
    existing = await ports.dossiers.by_idempotency_key(idem) if idem else None
    if existing is None:
        raise WriteConflict("a dossier with this code or key appeared meanwhile; retry")
    return await _replay(existing, body_hash, ports.tickets, now)


def applicant_at_rest(applicant: dict[str, Any], phone: str, pii: PersonalDataKeys) -> StoredApplicant:
    """The applicant as stored: citizen ID, phone and e-mail encrypted, with keyed hashes to search by."""
    address = applicant["address"]
    return StoredApplicant(
        full_name=applicant["full_name"],
        address=Address(address["ward_code"], address.get("detail")),
        citizen_id_enc=pii.at_rest.encrypt(applicant["citizen_id"]),
        citizen_id_hash=pii.hash(applicant["citizen_id"]),
        phone_enc=pii.at_rest.encrypt(phone),
        phone_hash=pii.hash(phone),
        email_enc=pii.at_rest.encrypt(applicant["email"]) if applicant.get("email") else None,
        # set only by the citizen portal (services/intake/citizen.py), never taken from a front office's body
        identity_verified=applicant.get("identity_verified") is True,
        identity_provider=applicant.get("identity_provider"),
        identity_verified_at=applicant.get("identity_verified_at"),
    )


def applicant_in_clear(stored: StoredApplicant, pii: PersonalDataKeys) -> ClearApplicant:
    """The applicant with citizen ID, phone and e-mail decrypted (for the filing office only)."""
    return ClearApplicant(
        full_name=stored.full_name,
        citizen_id=pii.at_rest.decrypt(stored.citizen_id_enc),
        phone=pii.at_rest.decrypt(stored.phone_enc),
        email=pii.at_rest.decrypt(stored.email_enc) if stored.email_enc else None,
        ward_code=stored.address.ward_code,
        address_detail=stored.address.detail,
    )


# -- the filing office's dossiers ---------------------------------------------------------------------------


async def filed_dossier(code: str, *, office: Office, dossiers: Dossiers) -> Dossier:
    """The dossier ``code`` filed at ``office`` (404 for any other office: it learns nothing of the dossier)."""
    dossier = await dossiers.by_code(code)
    if dossier is None or not dossier.filed_at(office.code):
        raise NotFound(
            "not_found", f"no dossier {code!r} filed at this office", vi=f"không có hồ sơ {code!r} nộp tại đơn vị này"
        )
    return dossier


async def dossiers_of_citizen(
    citizen_id: str, *, office: Office, dossiers: Dossiers, pii: PersonalDataKeys, limit: int
) -> list[Dossier]:
    """This office's dossiers of one citizen, found by the keyed hash (IDs are stored encrypted)."""
    return await dossiers.of_citizen(pii.hash(citizen_id), office.code, limit)


async def print_receipt(
    code: str,
    token: str | None,
    *,
    office: Office,
    dossiers: Dossiers,
    catalogue: Catalogue,
    printer: ReceiptPrinter,
    pii: PersonalDataKeys,
) -> bytes:
    """Mẫu 01 of a dossier of this office; a given token must be the dossier's (422 invalid_tracking_token)."""
    dossier = await filed_dossier(code, office=office, dossiers=dossiers)
    if token is not None and not hmac.compare_digest(sha256_hex(token), dossier.tracking_token_sha256):
        raise Refused(
            "invalid_tracking_token",
            "token: not the tracking token of this dossier",
            vi="token: không phải mã tra cứu của hồ sơ này",
        )
    # the slip is the filing office's paper for the citizen: it prints the applicant in clear (stored encrypted)
    clear = applicant_in_clear(dossier.applicant, pii)
    return await printer.receipt(dossier, clear, procedure=catalogue.get(dossier.procedure_code), token=token)


async def submit_supplement(
    code: str, documents: list[dict[str, Any]], note: str | None, *, office: Office, dossiers: Dossiers, now: datetime
) -> dict[str, Any]:
    """Record the citizen's supplement with ``dossier.supplemented.v1`` (409 unless one is awaited)."""
    dossier = await filed_dossier(code, office=office, dossiers=dossiers)
    supplement_id, supplied = str(uuid.uuid4()), [_document(d) for d in documents]
    await dossiers.change(dossier.id, lambda d: d.supplement(supplement_id, supplied, note, now))
    log.info("supplement_received", dossier_id=dossier.id, code=code, documents=len(documents))
    return {"supplement_id": supplement_id, "code": code, "received_at": now}


# -- following routing and resolution -------------------------------------------------------------------------


async def apply_status(event_id: str, change: DossierStatusChanged, *, dossiers: Dossiers) -> bool:
    """Keep the filing office's view current from ``dossier.status.v1``; False for duplicates and stale events."""
    outcome = await dossiers.change(change.dossier_id, lambda d: d.apply_status(change), consumed=event_id)
    if outcome.applied:
        log.info("dossier_view_updated", dossier_id=change.dossier_id, status=change.status.value, action=change.action)
    else:
        log.info("status_event_skipped", dossier_id=change.dossier_id, event_id=event_id, version=change.version)
    return outcome.applied


async def apply_routed(event_id: str, routed: DossierRouted, *, dossiers: Dossiers) -> bool:
    """Follow ``dossier.routed.v1``: the competent office now holding it (or parked, waiting for one)."""
    outcome = await dossiers.change(routed.dossier_id, lambda d: d.apply_routed(routed), consumed=event_id)
    log.info(
        "dossier_view_routed" if outcome.applied else "routed_event_skipped",
        dossier_id=routed.dossier_id,
        office=routed.office_code,
        parked=routed.outcome is RouteOutcome.PARKED,
    )
    return outcome.applied


# -- API keys -----------------------------------------------------------------------------------------------


async def create_api_key(office_code: str, *, keys: ApiKeys, now: datetime) -> tuple[str, str]:
    """A new front-office key bound to ``office_code``: (key id, full key shown once); ValueError for a bad office."""
    key, secret = new_api_key(office_code, now)
    await keys.add(key)
    return key.id, secret


async def revoke_api_key(key_id: str, *, keys: ApiKeys, now: datetime) -> bool:
    """Revoke a key: its next request is refused on every instance; True when it was active."""
    return await keys.revoke(key_id, now)


async def authenticate(secret: str, *, keys: ApiKeys, cache: KeyCache) -> Office | None:
    """The office of an active key, or None. A cached key costs one read by primary key (is it revoked?),
    so a revocation takes effect on the key's next request on every instance (README, "API keys")."""
    digest = sha256_hex(secret)
    if (known := cache.get(digest)) is not None:
        if not await keys.is_revoked(known.key_id):
            return known.office
        cache.drop(digest)
        return None
    found = await keys.active_by_hash(digest)
    if found is None:
        return None
    verified = VerifiedKey(found.id, office_of(found.office_code))
    cache.put(digest, verified)
    return verified.office


# -- counter queues -----------------------------------------------------------------------------------------


async def take_ticket(centre: str, service: str, *, tickets: Tickets, sequences: Sequences, now: datetime) -> Ticket:
    """A numbered queue ticket; numbers restart every day per centre."""
    day = queue_day(now)
    ticket = Ticket(centre, day, await sequences.next(f"queue:{centre}:{day}"), service, now)
    await tickets.add(ticket)
    return ticket


async def call_next_ticket(
    centre: str, counter: str, *, service: str | None = None, tickets: Tickets, now: datetime
) -> Ticket:
    """Give ``counter`` the oldest waiting ticket of today (of one service's queue, when given); two counters
    never get the same one: a ticket another counter took first is Unchanged, and the next one is tried."""
    while candidates := await tickets.waiting(centre, queue_day(now), service, limit=10):
        for candidate in candidates:
            outcome = await tickets.change(candidate.id, lambda t: t.call(counter, now))
            if outcome.applied and outcome.aggregate is not None:
                return outcome.aggregate
    english, vi = (f" for {service}", f" ở quầy {service}") if service else ("", "")
    raise NotFound("queue_empty", f"no ticket is waiting{english}", vi=f"không còn ai đang chờ{vi}")


async def list_tickets(
    centre: str, *, service: str | None, statuses: list[str] | None, tickets: Tickets, now: datetime, limit: int
) -> list[Ticket]:
    """Today's tickets of a centre for its display board (one service's queue when given), in number order."""
    shown = statuses or list(BOARD_STATUSES)
    return await tickets.of_day(centre, queue_day(now), service=service, statuses=shown, limit=limit)


async def check_ticket(office: Office, number: int, *, tickets: Tickets, now: datetime) -> None:
    """The ticket a dossier is filed for must be one this centre called today; 422 unknown_ticket otherwise."""
    ticket = await tickets.get(ticket_id(office.code, queue_day(now), number))
    if ticket is None or not ticket.called():
        raise Refused(
            "unknown_ticket",
            f"queue_ticket: no ticket {number} called today at {office.code}",
            vi=f"queue_ticket: số {number} chưa được gọi hôm nay tại {office.code}",
        )


async def _serve_ticket(tickets: Tickets, centre: str, at: datetime, number: int, code: str) -> None:
    # after the insert: the dossier is what counts; a lost link is set again by a retried request
    await tickets.change(ticket_id(centre, queue_day(at), number), lambda t: t.serve(code, at))


async def mark_no_show(centre: str, number: int, *, tickets: Tickets, now: datetime) -> Ticket:
    """Record that the holder of called ticket ``number`` did not come to the counter."""
    outcome = await tickets.change(ticket_id(centre, queue_day(now), number), lambda t: t.no_show(now))
    if outcome.aggregate is None:
        raise NotFound("not_found", f"no called ticket {number} today", vi=f"hôm nay chưa gọi số {number}")
    return outcome.aggregate


# -- dossier files ------------------------------------------------------------------------------------------


async def store_file(
    code: str,
    document_code: str,
    content_type: str,
    data: bytes,
    *,
    office: Office,
    dossiers: Dossiers,
    files: FileStore,
    max_bytes: int,
    now: datetime,
) -> tuple[FileRecord, bool]:
    """Keep the file of a document the dossier (or a supplement) declared, after checking it is that file."""
    dossier = await filed_dossier(code, office=office, dossiers=dossiers)
    declared = dossier.declared_document(document_code)
    if declared is None:
        raise NotFound(
            "unknown_document",
            f"dossier {code} declares no document {document_code!r}",
            vi=f"hồ sơ {code} không khai báo giấy tờ {document_code!r}",
        )
    if (problem := file_problem(declared, content_type, data, max_bytes=max_bytes)) is not None:
        raise ApiError(problem.status, problem.code, problem.message, vi=problem.vi)
    file_id = f"{dossier.id}/{document_code}/{declared.sha256}"
    record = FileRecord(document_code, file_id, declared.sha256, len(data), declared.content_type, now)
    metadata = {
        "dossier_id": dossier.id,
        "dossier_code": code,
        **{k: v for k, v in vars(record).items() if k != "file_id"},
    }
    await files.put(file_id, f"{code}/{document_code}", data, metadata=metadata)
    # recorded once per file: a repeated upload of the same bytes changes nothing
    added = (await dossiers.change(dossier.id, lambda d: d.attach_file(record))).applied
    log.info("dossier_file_stored", dossier_id=dossier.id, code=code, document=document_code, size=len(data), new=added)
    return record, added


async def read_file(
    code: str, document_code: str, *, official_office: str, dossiers: Dossiers, files: FileStore
) -> tuple[bytes, FileRecord]:
    """A dossier file for an official of the office now competent for the dossier (404 for everyone else)."""
    dossier = await dossiers.by_code(code)
    if dossier is None or dossier.current_office_code != official_office:
        raise NotFound(
            "not_found", f"no dossier {code!r} at your office", vi=f"không có hồ sơ {code!r} tại cơ quan của Ông/Bà"
        )
    record = dossier.latest_file(document_code)
    found = await files.get(record.file_id) if record else None
    if record is None or found is None:
        raise NotFound(
            "no_file",
            f"no file has been uploaded for document {document_code!r}",
            vi=f"chưa có tệp nào được tải lên cho giấy tờ {document_code!r}",
        )
    data, _ = found
    if sha256_hex(data) != record.sha256:
        log.error("dossier_file_damaged", dossier_id=dossier.id, code=code, document=document_code)
        raise ApiError(503, "file_damaged", "the stored file does not match its checksum; the office has been alerted")
    return data, record
