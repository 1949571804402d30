"""The citizen's view of one dossier: its timeline, the contact to tell, the chosen channels (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.notify.domain.messages import Change, TimelineEntry, version_key
from shared.aggregate import EventRecorder, Unchanged
from shared.events import DEFAULT_CHANNEL_PREFERENCES


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
