"""What the citizen is told for each event: the kind of message and its variables (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.legal_clock import VIETNAM_TZ


def _when(value: Any) -> str:
    if value is None:
        return "-"
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return dt.astimezone(VIETNAM_TZ).strftime("%H:%M %d/%m/%Y")


def message_for(event_type: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(template kind, context) for an event, or None when the citizen is not told of it."""
    code = data.get("dossier_code", "")
    context = {
        "code": code,
        "procedure": data.get("procedure_name") or data.get("procedure_code") or "",
        "office": data.get("office_name") or data.get("office_code") or "",
        "due_at": _when(data.get("due_at")),
        "reason": data.get("reason") or "-",
    }
    if event_type.endswith("dossier.received.v1"):
        return "received", context
    if event_type.endswith("dossier.routed.v1"):
        return ("parked" if data.get("outcome") == "parked" else "routed"), context
    if event_type.endswith("dossier.status.v1"):
        action = data.get("action")
        if action in ("overdue", "apology"):
            return str(action), context
        if action == "rate":
            return None
        return str(data.get("status")), context
    return None


def timeline_entry(event_id: str, event_type: str, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    """One line of the citizen's tracking timeline (no personal data)."""
    kind = message_for(event_type, data)
    return {
        "event_id": event_id,
        "kind": kind[0] if kind else "update",
        "status": data.get("status") or ("parked" if data.get("outcome") == "parked" else None),
        "office": data.get("office_name") or data.get("office_code"),
        "due_at": data.get("due_at"),
        "reason": data.get("reason"),
        "at": at.isoformat(),
    }
