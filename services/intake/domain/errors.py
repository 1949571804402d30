"""Intake's domain errors: which rule refused what (entrypoints map each kind to its HTTP status)."""

from __future__ import annotations

from typing import Any


class IntakeError(Exception):
    """A rule of intake refused the request: machine ``code``, English ``message``, Vietnamese ``vi``."""

    def __init__(self, code: str, message: str, *, vi: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.vi = vi
        self.details = details


class Refused(IntakeError):
    """The input breaks a rule (422): incomplete dossier, unknown procedure or ticket."""


class Conflict(IntakeError):
    """The dossier's state does not allow it (409): no supplement awaited, idempotency key reused."""


class NotFound(IntakeError):
    """Nothing of that name for this caller (404): another office learns nothing of a dossier."""
