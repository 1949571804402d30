"""The Dossier aggregate: a receipt with its code and legal due date, supplements, files, and the filing
office's view of where the dossier is (from routing's decisions and resolution's status events); its code and
tracking token; and the reception checks it is received under (completeness and identity, at the end)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

from services.intake.domain.errors import Conflict, Refused
from services.intake.domain.office import Office
from shared.aggregate import EventRecorder, Unchanged
from shared.events import (
    DEFAULT_CHANNEL_PREFERENCES,
    Channel,
    ContactPoint,
    DossierReceived,
    DossierRouted,
    DossierStatus,
    DossierStatusChanged,
    DossierSupplemented,
    NotifyPreferences,
    RouteOutcome,
)
from shared.reference.admin_units import get_ward
from shared.reference.procedures import Procedure
from shared.topics import Topics


# -- dossier codes and tracking tokens (mã hồ sơ, mã tra cứu) ----------------------------------------------
def dossier_code(office_code: str, day: date, sequence: int) -> str:
    """``<office code>-<yyMMdd>-<seq>`` as on the receipt, e.g. ``00070.TTHCC-261122-0001``."""
    return f"{office_code}-{day:%y%m%d}-{sequence:04d}"


def new_tracking_token() -> str:
    """A random token the citizen uses to follow the dossier; only its hash is stored."""
    return secrets.token_urlsafe(16)


def sha256_hex(value: str | bytes) -> str:
    """Hex SHA-256 of a string or bytes."""
    return hashlib.sha256(value.encode() if isinstance(value, str) else value).hexdigest()


@dataclass(frozen=True)
class Address:
    """A registered address: the commune/ward and free text."""

    ward_code: str
    detail: str | None = None


@dataclass(frozen=True)
class StoredApplicant:
    """The applicant as kept: citizen ID, phone and e-mail encrypted, with keyed hashes to search by."""

    full_name: str
    address: Address
    citizen_id_enc: str  # AES-256-GCM with intake's at-rest key (shared/pii.py)
    citizen_id_hash: str  # keyed HMAC: the index a citizen's dossiers are found by
    phone_enc: str
    phone_hash: str
    email_enc: str | None = None  # optional: the citizen may give no e-mail
    #: True only when the citizen filed online after logging in with their e-ID (services/intake/citizen.py)
    identity_verified: bool = False
    identity_provider: str | None = None
    identity_verified_at: datetime | None = None


@dataclass(frozen=True)
class Document:
    """A document the dossier (or a supplement) declares: its code, title, type, size and SHA-256."""

    code: str  # the procedure's document code (thành phần hồ sơ)
    title: str
    content_type: str
    size: int  # bytes
    sha256: str


@dataclass(frozen=True)
class Notify:
    """Channels the citizen agreed to be told on (defaults: the one shared definition)."""

    sms: bool = DEFAULT_CHANNEL_PREFERENCES["sms"]
    email: bool = DEFAULT_CHANNEL_PREFERENCES["email"]
    app: bool = DEFAULT_CHANNEL_PREFERENCES["app"]


@dataclass(frozen=True)
class Supplement:
    """Documents the citizen supplied after a supplement request."""

    id: str
    documents: list[Document]
    note: str | None
    at: datetime


@dataclass(frozen=True)
class HistoryEntry:
    """One step of the dossier as the filing office sees it."""

    status: str
    at: datetime
    office_code: str | None
    action: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Route:
    """Routing's latest decision: the competent office (None = parked)."""

    decision_id: str
    office_code: str | None
    office_name: str | None
    routed_at: datetime
    chain_step: int = 0


@dataclass(frozen=True)
class LastStatus:
    """The newest status event applied: of which office, its version there, when."""

    office_code: str
    version: int
    at: datetime


@dataclass(frozen=True)
class FileRecord:
    """A stored file of a declared document."""

    document_code: str
    file_id: str
    sha256: str
    size: int
    content_type: str
    uploaded_at: datetime


@dataclass(frozen=True)
class Filing:
    """What the front office filed, already checked by the reception checks (:func:`dossier_problems`)."""

    procedure_code: str
    channel: str
    applicant_address: Address
    subject_ward_code: str | None
    documents: list[Document]
    notify: Notify
    locale: str = "vi"
    queue_ticket: int | None = None


@dataclass
class Dossier(EventRecorder):
    """A filed dossier (hồ sơ): state and the rules of its changes; every change records its event."""

    id: str
    code: str
    office_code: str
    province_code: str
    procedure_code: str
    channel: str
    applicant: StoredApplicant
    subject_ward_code: str | None
    documents: list[Document]
    notify: Notify
    received_at: datetime
    due_at: datetime
    #: as printed on the receipt (Mẫu 01); ``due_at`` follows later changes
    appointment_at: datetime
    tracking_token_sha256: str
    idempotency_key: str
    body_sha256: str
    queue_ticket: int | None = None
    status: str = DossierStatus.RECEIVED.value
    awaiting_supplement: bool = False
    current_office_code: str | None = None
    history: list[HistoryEntry] = field(default_factory=list)
    supplements: list[Supplement] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)
    route: Route | None = None
    last_status: LastStatus | None = None

    @classmethod
    def receive(
        cls,
        filing: Filing,
        *,
        dossier_id: str,
        code: str,
        office: Office,
        procedure: Procedure,
        applicant: StoredApplicant,
        contact: ContactPoint,
        tracking_token_sha256: str,
        idempotency_key: str,
        body_sha256: str,
        now: datetime,
    ) -> Dossier:
        """Receive a checked filing: the receipt with its legal due date, recording ``dossier.received.v1``."""
        due_at = procedure.due_at(now)
        dossier = cls(
            id=dossier_id,
            code=code,
            office_code=office.code,
            province_code=office.province_code,
            procedure_code=procedure.code,
            channel=filing.channel,
            applicant=applicant,
            subject_ward_code=filing.subject_ward_code,
            documents=list(filing.documents),
            notify=filing.notify,
            received_at=now,
            due_at=due_at,
            appointment_at=due_at,
            tracking_token_sha256=tracking_token_sha256,
            idempotency_key=idempotency_key,
            body_sha256=body_sha256,
            queue_ticket=filing.queue_ticket,
            history=[HistoryEntry(DossierStatus.RECEIVED.value, now, office.code)],
        )
        received = DossierReceived(
            dossier_id=dossier_id,
            dossier_code=code,
            procedure_code=procedure.code,
            procedure_name=procedure.name,
            channel=Channel(filing.channel),
            receiving_office_code=office.code,
            province_code=office.province_code,
            receiving_ward_code=office.ward_code,
            applicant_ward_code=filing.applicant_address.ward_code,
            subject_ward_code=filing.subject_ward_code,
            received_at=now,
            due_at=due_at,
            processing_days=procedure.processing_days,
            documents=len(filing.documents),
            tracking_token_sha256=tracking_token_sha256,
            notify=NotifyPreferences(sms=filing.notify.sms, email=filing.notify.email, app=filing.notify.app),
            contact=contact,
            applicant_identity_verified=applicant.identity_verified,
        )
        dossier.record(Topics.DOSSIER_RECEIVED, received, key=dossier_id, subject=code)
        return dossier

    def filed_at(self, office_code: str) -> bool:
        """True when ``office_code`` is the office that received it (the only one that sees it)."""
        return self.office_code == office_code

    def supplement(self, supplement_id: str, documents: list[Document], note: str | None, at: datetime) -> None:
        """Take the citizen's supplement (only while one is awaited), recording ``dossier.supplemented.v1``."""
        if not self.awaiting_supplement:
            raise Conflict(
                "not_awaiting_supplement",
                f"dossier {self.code} is {self.status}; no supplement has been requested",
                vi=f"hồ sơ {self.code} không có yêu cầu bổ sung nào đang chờ",
            )
        self.awaiting_supplement = False
        self.supplements.append(Supplement(supplement_id, list(documents), note, at))
        supplemented = DossierSupplemented(
            dossier_id=self.id,
            dossier_code=self.code,
            supplement_id=supplement_id,
            documents=len(documents),
            received_at=at,
        )
        self.record(Topics.DOSSIER_SUPPLEMENTED, supplemented, key=self.id, subject=self.code)

    def declared_document(self, document_code: str) -> Document | None:
        """The latest declaration of a document: in the newest supplement that lists it, else in the filing."""
        for supplement in reversed(self.supplements):
            for document in supplement.documents:
                if document.code == document_code:
                    return document
        return next((d for d in self.documents if d.code == document_code), None)

    def attach_file(self, record: FileRecord) -> None:
        """Record a stored file once (a repeated upload of the same bytes is :class:`Unchanged`)."""
        if any(f.file_id == record.file_id for f in self.files):
            raise Unchanged
        self.files.append(record)

    def latest_file(self, document_code: str) -> FileRecord | None:
        """The newest file uploaded for a document."""
        return next((f for f in reversed(self.files) if f.document_code == document_code), None)

    def apply_status(self, change: DossierStatusChanged) -> None:
        """Follow resolution's ``dossier.status.v1`` (an office's older version than the one shown: Unchanged)."""
        last = self.last_status
        # versions increase per dossier at one office; a transfer starts a new office's sequence
        if last is not None and last.office_code == change.office_code and change.version <= last.version:
            raise Unchanged
        status = change.status.value
        self.history.append(HistoryEntry(status, change.occurred_at, change.office_code, change.action, change.reason))
        self.last_status = LastStatus(change.office_code, change.version, change.occurred_at)
        if self._superseded(change.office_code, change.occurred_at):
            return  # on the timeline, but the dossier is elsewhere now: status and office stay
        self.status = status
        self.current_office_code = change.office_code
        if change.due_at is not None:
            self.due_at = change.due_at
        if status == DossierStatus.SUPPLEMENT_REQUESTED.value:
            self.awaiting_supplement = True
        elif change.action != "overdue":
            self.awaiting_supplement = False

    def apply_routed(self, routed: DossierRouted) -> None:
        """Follow routing's ``dossier.routed.v1``: the competent office now holding it, or parked."""
        route = self.route
        if route is not None and (
            routed.routed_at < route.routed_at
            or (routed.routed_at == route.routed_at and routed.decision_id == route.decision_id)
        ):
            raise Unchanged  # a decision older than the one shown, or that one again
        parked = routed.outcome is RouteOutcome.PARKED
        status = (DossierStatus.PARKED if parked else DossierStatus.ROUTED).value
        self.route = Route(
            routed.decision_id, routed.office_code, routed.office_name, routed.routed_at, routed.chain_step
        )
        last = self.last_status
        # status events travel on another topic and may overtake the decision: the office's own news wins
        acted = bool(routed.office_code and last is not None and last.office_code == routed.office_code)
        if not (acted and last is not None and last.at >= routed.routed_at):
            self.status = status
            self.current_office_code = routed.office_code
            self.awaiting_supplement = False
        action, reason = ("park", routed.reason) if parked else ("route", None)
        self.history.append(HistoryEntry(status, routed.routed_at, routed.office_code, action, reason))

    def current_office_name(self) -> str | None:
        """The competent office's name, when routing's decision names the office holding it now."""
        route = self.route
        return route.office_name if route is not None and route.office_code == self.current_office_code else None

    def _superseded(self, office_code: str, at: datetime) -> bool:
        """True when routing moved the dossier to another office after ``at`` (news of an office it has left)."""
        route = self.route
        return bool(route is not None and route.office_code != office_code and at < route.routed_at)


# -- reception checks: completeness and identity (kiểm tra tính đầy đủ của hồ sơ); pure functions --------
# Province-of-birth-registration codes printed on citizen ID cards (the 63 pre-2025 provinces).
CCCD_PROVINCE_CODES = frozenset(
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 035 036 037 038 "
    "040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 070 072 074 075 077 079 080 082 "
    "083 084 086 087 089 091 092 093 094 095 096".split()
)
# [0-9], not \d: \d also matches other scripts' digits (０１２, ٠١٢), which must not reach an SMS gateway
_MOBILE = re.compile(r"^0(3|5|7|8|9)[0-9]{8}$")


@dataclass(frozen=True)
class Problem:
    """One reason a dossier cannot be received: machine code, field and human message (English, Vietnamese)."""

    code: str
    field: str
    message: str
    message_vi: str


def citizen_id_problem(citizen_id: str, *, today: date) -> str | None:
    """Why ``citizen_id`` is not a well-formed 12-digit CCCD number, or None when it is."""
    why = _citizen_id_problem(citizen_id, today=today)
    return why[0] if why else None


def _citizen_id_problem(citizen_id: str, *, today: date) -> tuple[str, str] | None:
    """(English, Vietnamese) reason ``citizen_id`` is not a well-formed CCCD number, or None."""
    if not re.fullmatch(r"[0-9]{12}", citizen_id):
        return "must be exactly 12 digits", "phải gồm đúng 12 chữ số"  # [0-9], not \d (other scripts)
    if citizen_id[:3] not in CCCD_PROVINCE_CODES:
        return (
            f"province-of-birth code {citizen_id[:3]} does not exist",
            f"mã tỉnh nơi đăng ký khai sinh {citizen_id[:3]} không tồn tại",
        )
    century = 1900 + (int(citizen_id[3]) // 2) * 100
    birth_year = century + int(citizen_id[4:6])
    if birth_year > today.year:
        return (
            f"gender/century digit and year give a birth year in the future ({birth_year})",
            f"chữ số giới tính/thế kỷ và năm sinh cho năm sinh ở tương lai ({birth_year})",
        )
    return None


def normalise_phone(phone: str) -> str | None:
    """Vietnamese mobile number as ``0xxxxxxxxx``, or None when it is not one."""
    digits = re.sub(r"[\s.\-()]", "", phone)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if _MOBILE.match(digits) else None


def dossier_problems(
    *,
    procedure: Procedure,
    channel: str,
    citizen_id: str,
    phone: str,
    applicant_ward: str,
    subject_ward: str | None,
    document_codes: list[str],
    today: date,
) -> list[Problem]:
    """Every reason the dossier is incomplete or malformed, in the order a clerk would check them."""
    problems: list[Problem] = []
    if channel == "online" and procedure.online == "none":
        problems.append(
            Problem(
                "procedure_not_online",
                "channel",
                f"{procedure.code} cannot be filed online",
                f"thủ tục {procedure.code} không được nộp trực tuyến",
            )
        )
    if (why := _citizen_id_problem(citizen_id, today=today)) is not None:
        problems.append(Problem("invalid_citizen_id", "applicant.citizen_id", *why))
    if normalise_phone(phone) is None:
        problems.append(
            Problem(
                "invalid_phone",
                "applicant.phone",
                "must be a Vietnamese mobile number (0 or +84, then 9 digits)",
                "phải là số di động Việt Nam (0 hoặc +84, sau đó 9 chữ số)",
            )
        )
    if get_ward(applicant_ward) is None:
        problems.append(
            Problem(
                "unknown_ward",
                "applicant.address.ward_code",
                f"no commune/ward {applicant_ward!r}",
                f"không có xã/phường {applicant_ward!r}",
            )
        )
    if subject_ward is not None and get_ward(subject_ward) is None:
        problems.append(
            Problem(
                "unknown_ward",
                "subject.ward_code",
                f"no commune/ward {subject_ward!r}",
                f"không có xã/phường {subject_ward!r}",
            )
        )
    if procedure.subject_basis == "subject_location" and subject_ward is None:
        problems.append(
            Problem(
                "missing_subject",
                "subject.ward_code",
                f"{procedure.code} needs the commune of its subject",
                f"thủ tục {procedure.code} cần xã/phường nơi có đối tượng (thửa đất, công trình)",
            )
        )
    missing = sorted(procedure.mandatory_documents - set(document_codes))
    if missing:
        problems.append(
            Problem(
                "missing_documents",
                "documents",
                f"mandatory documents missing: {', '.join(missing)}",
                f"còn thiếu giấy tờ bắt buộc: {', '.join(missing)}",
            )
        )
    return problems


def refuse_incomplete(problems: list[Problem]) -> None:
    """Refuse (422) a dossier with problems: the first rule broken names the answer, ``details`` lists all."""
    if problems:
        first = problems[0]
        raise Refused(
            first.code,
            f"{first.field}: {first.message}",
            details=[{"code": p.code, "field": p.field, "message": p.message} for p in problems],
            vi=f"{first.field}: {first.message_vi}",
        )
