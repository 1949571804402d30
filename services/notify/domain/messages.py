"""What one dossier event means for the citizen: a timeline entry and, usually, a message kind (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.events import DossierReceived, DossierRouted, DossierStatusChanged, RouteOutcome
from shared.legal_clock import VIETNAM_TZ
from shared.offices import office_name

#: Variables every template may use; the template-set build renders with exactly these keys.
CONTEXT_KEYS = ("code", "procedure", "office", "due_at", "reason", "result_url")

#: Status-event actions that are told with their own template rather than by the new status.
_ACTION_KINDS = {"overdue": "overdue", "apology": "apology"}
#: Actions the citizen is not messaged about (they still appear on the timeline).
_SILENT_ACTIONS = frozenset({"rate"})


@dataclass(frozen=True)
class Change:
    """One change of a dossier as notify sees it."""

    event_id: str
    dossier_id: str
    code: str
    kind: str  # template kind, also the label on the tracking timeline
    at: datetime
    context: dict[str, str]
    notify: bool = True  # False: timeline only, no message
    status: str | None = None
    office: str | None = None
    due_at: datetime | None = None
    reason: str | None = None
    office_code: str | None = None
    version: int | None = None  # the office's case version, for the stale-event guard
    contact: dict[str, Any] | None = None  # only from the receipt event
    preferences: dict[str, bool] | None = None
    token_sha256: str | None = None
    result_url: str | None = None  # public verification page of the signed result
    procedure: str | None = None  # procedure name (from the receipt)

    def timeline_entry(self) -> dict[str, Any]:
        """The line shown to the citizen (no personal data)."""
        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "status": self.status,
            "office": self.office,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "reason": self.reason,
            "at": self.at.isoformat(),
            "office_code": self.office_code,
            "result_url": self.result_url,
        }


def local_time(value: datetime | None) -> str:
    """``17:00 25/11/2026`` in Vietnam time, as citizens read dates; ``-`` when unknown."""
    return value.astimezone(VIETNAM_TZ).strftime("%H:%M %d/%m/%Y") if value else "-"


def _context(
    code: str,
    procedure: str | None,
    office: str | None,
    due_at: datetime | None,
    reason: str | None,
    result_url: str | None = None,
) -> dict[str, str]:
    return {
        "code": code,
        "procedure": procedure or "",
        "office": office or "",
        "due_at": local_time(due_at),
        "reason": reason or "-",
        "result_url": result_url or "",
    }


def shown_office(code: str | None) -> str | None:
    """What the citizen reads for an office: its name, the code only when the name is unknown."""
    return (office_name(code) or code) if code else None


def from_received(event_id: str, e: DossierReceived) -> Change:
    """The receipt (giấy tiếp nhận và hẹn trả kết quả): also brings contact, preferences and token hash."""
    return Change(
        event_id=event_id,
        dossier_id=e.dossier_id,
        code=e.dossier_code,
        kind="received",
        at=e.received_at,
        context=_context(e.dossier_code, e.procedure_name or e.procedure_code, None, e.due_at, None),
        status="received",
        office=shown_office(e.receiving_office_code),
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
    office = e.office_name or e.office_code
    return Change(
        event_id=event_id,
        dossier_id=e.dossier_id,
        code=e.dossier_code,
        kind="parked" if parked else "routed",
        at=e.routed_at,
        context=_context(e.dossier_code, e.procedure_name or e.procedure_code, office, e.due_at, e.reason),
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
    result_url = e.result.verify_url if e.result is not None else None
    return Change(
        event_id=event_id,
        dossier_id=e.dossier_id,
        code=e.dossier_code,
        kind=kind,
        at=e.occurred_at,
        context=_context(e.dossier_code, e.procedure_code, e.office_code, e.due_at, e.reason, result_url),
        notify=e.action not in _SILENT_ACTIONS,
        status=e.status.value,
        office=shown_office(e.office_code),
        due_at=e.due_at,
        reason=e.reason,
        office_code=e.office_code,
        version=e.version,
        result_url=result_url,
    )


def version_key(office_code: str) -> str:
    """Field name for an office's last seen case version (dots are path separators in the store)."""
    return office_code.replace(".", "_")


def is_stale(change: Change, dossier: dict[str, Any]) -> bool:
    """True when a newer (or equal) case version of the same office was already applied."""
    if change.office_code is None or change.version is None:
        return False
    seen = (dossier.get("versions") or {}).get(version_key(change.office_code))
    return seen is not None and change.version <= seen
