"""What the signed results and printed papers tell the inner layers (pure value types and their errors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["valid", "tampered", "unknown"]


class NotAResult(ValueError):
    """The upload is not a result PDF issued by this system (no signed original inside)."""


class FormNotApplicable(Exception):
    """The case has not been through the step the form records."""


@dataclass(frozen=True)
class Verdict:
    """Outcome of a check and what it rests on."""

    status: Status
    reason: str  # in Vietnamese, shown on the public verification page
    key_id: str | None = None  # the signing key the signature was checked against
    office_code: str | None = None  # the office that signed


@dataclass(frozen=True)
class Paper:
    """A printed paper: its PDF bytes and the file name it is offered under."""

    pdf: bytes
    filename: str
