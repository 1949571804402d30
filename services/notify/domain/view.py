"""The citizen's view of one dossier: what each dossier event means for them (a :class:`Change`: a timeline
entry and, usually, a message kind), and the :class:`DossierView` aggregate — its timeline, the contact to tell,
the chosen channels (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from shared.aggregate import EventRecorder, Unchanged
from shared.events import (
    DEFAULT_CHANNEL_PREFERENCES,
    DossierReceived,
    DossierRouted,
    DossierStatus,
    DossierStatusChanged,
    RouteOutcome,
)
from shared.reference.legal_clock import VIETNAM_TZ
from shared.reference.offices import office_name
from shared.reference.procedures import load_catalogue

#: Variables every template may use; the template-set build renders with exactly these keys. Names come in
#: both languages (``procedure_en``, ``office_en``) so an English message never shows a Vietnamese name.
CONTEXT_KEYS = ("code", "procedure", "procedure_en", "office", "office_en", "due_at", "reason", "result_url")

#: Status-event actions that are told with their own template rather than by the new status.
_ACTION_KINDS = {"overdue": "overdue", "apology": "apology"}


@dataclass(frozen=True)
class TimelineEntry:
    """One line the citizen sees (no personal data); times as ISO strings, as the tracking API shows them.

    Its fields are the ones of :class:`Change` that a citizen may read, taken by name.
    """

    event_id: str
    kind: str  # the timeline label (received, routed, parked, accepted, …)
    at: str
    status: str | None = None
    office: str | None = None  # the office's name, as the citizen reads it
    due_at: str | None = None
    reason: str | None = None  # an official's reason (refusal, supplement, transfer)
    chain_step: int | None = None
    chain_steps: int | None = None
    office_code: str | None = None
    result_url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The entry as the API, the live streams and the printed log show it."""
        return asdict(self)


_ENTRY_FIELDS = tuple(f.name for f in fields(TimelineEntry))


@dataclass(frozen=True)
class Change:
    """One change of a dossier as notify sees it."""

    event_id: str
    dossier_id: str
    code: str
    kind: str  # template kind, also the label on the tracking timeline
    at: datetime
    context: dict[str, str]
    template: str | None = None  # the message's template kind when it differs from the timeline label
    chain_step: int | None = None  # 1-based step of an inter-agency chain, with the number of steps
    chain_steps: int | None = None
    status: str | None = None  # the case's new status (status events only)
    office: str | None = None  # the competent office's name
    due_at: datetime | None = None  # the legal due date, when the change sets or moves it
    reason: str | None = None
    office_code: str | None = None
    version: int | None = None  # the office's case version, for the stale-event guard
    contact: dict[str, Any] | None = None  # only from the receipt event
    preferences: dict[str, bool] | None = None
    token_sha256: str | None = None
    result_url: str | None = None  # public verification page of the signed result
    procedure: str | None = None  # procedure name (from the receipt)

    def timeline_entry(self) -> TimelineEntry:
        """The line shown to the citizen (no personal data): the entry's fields of this change, times as ISO."""
        values: dict[str, Any] = {}
        for name in _ENTRY_FIELDS:
            value = getattr(self, name)
            values[name] = value.isoformat() if isinstance(value, datetime) else value
        return TimelineEntry(**values)

    @property
    def message_kind(self) -> str:
        """The template kind of the message about this change."""
        return self.template or self.kind


def local_time(value: datetime | None) -> str:
    """``17:00 25/11/2026`` in Vietnam time, as citizens read dates; ``-`` when unknown."""
    return value.astimezone(VIETNAM_TZ).strftime("%H:%M %d/%m/%Y") if value else "-"


def _context(
    code: str,
    procedure_code: str | None,
    office_code: str | None,
    due_at: datetime | None,
    reason: str | None,
    *,
    procedure_name: str | None = None,
    office_label: str | None = None,
    result_url: str | None = None,
) -> dict[str, str]:
    """Message variables: procedure and office by name in each language (the event's own name, else the code)."""
    procedure = load_catalogue().get(procedure_code) if procedure_code else None
    vi_procedure = procedure.name if procedure else procedure_name or procedure_code or ""
    vi_office = (office_name(office_code) if office_code else None) or office_label or office_code or ""
    return {
        "code": code,
        "procedure": vi_procedure,
        "procedure_en": procedure.name_en if procedure else vi_procedure,
        "office": vi_office,
        "office_en": (office_name(office_code, "en") if office_code else None) or vi_office,
        "due_at": local_time(due_at),
        "reason": reason or "-",
        "result_url": result_url or "",
    }


def _office_context(
    e: DossierRouted | DossierStatusChanged, *, procedure_name: str | None = None, result_url: str | None = None
) -> dict[str, str]:
    """Message variables of an event at an office: its code, procedure, office, due date and reason."""
    return _context(
        e.dossier_code,
        e.procedure_code,
        e.office_code,
        e.due_at,
        e.reason,
        procedure_name=procedure_name,
        office_label=e.office_name,
        result_url=result_url,
    )


def from_received(event_id: str, e: DossierReceived) -> Change:
    """The receipt (giấy tiếp nhận và hẹn trả kết quả): also brings contact, preferences and token hash."""
    return Change(
        event_id=event_id,
        dossier_id=e.dossier_id,
        code=e.dossier_code,
        kind="received",
        at=e.received_at,
        context=_context(e.dossier_code, e.procedure_code, None, e.due_at, None, procedure_name=e.procedure_name),
        status="received",
        office=office_name(e.receiving_office_code) or e.receiving_office_code,  # citizens read names, not codes
        due_at=e.due_at,
        office_code=e.receiving_office_code,
        contact=e.contact.model_dump(),
        preferences=e.notify.model_dump(),
        token_sha256=e.tracking_token_sha256,
        procedure=e.procedure_name or e.procedure_code,
    )


def from_routed(event_id: str, e: DossierRouted) -> Change:
    """Routing chose the competent office, or parked the dossier with a reason."""
    parked = e.outcome is RouteOutcome.PARKED
    office = (office_name(e.office_code) if e.office_code else None) or e.office_name or e.office_code
    return Change(
        event_id=event_id,
        dossier_id=e.dossier_id,
        code=e.dossier_code,
        kind="parked" if parked else "routed",
        at=e.routed_at,
        context=_office_context(e, procedure_name=e.procedure_name),
        status="parked" if parked else "routed",
        office=office,
        due_at=e.due_at,
        office_code=e.office_code,
        reason=e.reason if parked else None,
        token_sha256=e.tracking_token_sha256,
        procedure=e.procedure_name or e.procedure_code,
    )


def from_status(event_id: str, e: DossierStatusChanged) -> Change:
    """A case changed state at an office (or was flagged overdue, or got an apology with a new date)."""
    kind = _ACTION_KINDS.get(e.action, e.status.value)
    # a chain step's result goes on to the next office: tell it as such, not as "come and collect it"
    step_done = e.status is DossierStatus.RESULT_READY and e.chain_continues
    # a step's result is for the next office: the citizen's link is the last step's
    result_url = e.result.verify_url if e.result is not None and not step_done else None
    return Change(
        event_id=event_id,
        dossier_id=e.dossier_id,
        code=e.dossier_code,
        kind=kind,
        template="step_result_ready" if step_done else None,
        chain_step=e.chain_step + 1 if e.chain else None,
        chain_steps=len(e.chain) or None,
        at=e.occurred_at,
        context=_office_context(e, result_url=result_url),
        status=e.status.value,
        office=(office_name(e.office_code) or e.office_name or e.office_code),
        due_at=e.due_at,
        reason=e.reason,
        office_code=e.office_code,
        version=e.version,
        result_url=result_url,
    )


def version_key(office_code: str) -> str:
    """Field name for an office's last seen case version (dots are path separators in the store)."""
    return office_code.replace(".", "_")


# -- the aggregate ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredContact:
    """The citizen's contact as notify keeps it: encrypted with notify's key, with keyed hashes."""

    locale: str = "vi"
    phone_enc: str | None = None
    phone_hash: str | None = None
    email_enc: str | None = None
    email_hash: str | None = None
    phone: str | None = None  # only in views stored before encryption at rest
    email: str | None = None


@dataclass
class DossierView(EventRecorder):
    """Applied once per event (the unit of work's consumed window), guarded by each office's case version."""

    id: str
    code: str
    created_at: datetime
    timeline: list[TimelineEntry] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)  # office (dots folded) → last case version applied
    contact: StoredContact | None = None
    preferences: dict[str, bool] | None = None
    token_sha256: str | None = None
    result_url: str | None = None
    procedure: str | None = None
    #: the contact came after other changes: notifications made before it may wait for it (see ``released``)
    release_pending: bool = False

    def is_stale(self, change: Change) -> bool:
        """True when a newer (or equal) case version of the same office was already applied."""
        if change.office_code is None or change.version is None:
            return False
        seen = self.versions.get(version_key(change.office_code))
        return seen is not None and change.version <= seen

    def apply(self, change: Change, contact: StoredContact | None = None) -> None:
        """Put the change on the timeline; Unchanged when it is stale (a newer case version is known)."""
        if self.is_stale(change):
            raise Unchanged
        if contact is not None:
            # stored with the contact, so the release does not depend on the process that stores it living on
            self.release_pending = self.release_pending or bool(self.timeline)
            self.contact, self.preferences = contact, change.preferences
        self.timeline.append(change.timeline_entry())
        self.token_sha256 = change.token_sha256 or self.token_sha256
        self.result_url = change.result_url or self.result_url
        self.procedure = change.procedure or self.procedure
        if change.office_code is not None and change.version is not None:
            self.versions[version_key(change.office_code)] = change.version

    def released(self) -> None:
        """Nothing of this dossier waits for the contact any more."""
        if not self.release_pending:
            raise Unchanged
        self.release_pending = False

    def choose(self, changes: dict[str, bool]) -> dict[str, bool]:
        """The citizen changes channels (opt-out included); the channels chosen now."""
        self.preferences = {**DEFAULT_CHANNEL_PREFERENCES, **(self.preferences or {}), **changes}
        return dict(self.preferences)

    def public(self) -> dict[str, Any]:
        """What the tracking API, live streams and the printed log read (no contact)."""
        return {
            "_id": self.id,
            "code": self.code,
            "timeline": [entry.as_dict() for entry in self.timeline],
            "preferences": self.preferences,
            "procedure": self.procedure,
            "result_url": self.result_url,
        }
