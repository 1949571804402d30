"""The lifecycle declarations' rules, without a store: what erasure writes, when an aggregate is finished."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.intake.adapters.lifecycle import LIFECYCLE as INTAKE
from services.notify.adapters.lifecycle import LIFECYCLE as NOTIFY
from services.resolution.adapters.lifecycle import LIFECYCLE as RESOLUTION
from services.routing.adapters.lifecycle import LIFECYCLE as ROUTING
from shared.lifecycle import ERASED, ERASED_AT_FIELD, PersonalFields

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=30)


def test_erasure_removes_replaces_and_re_encrypts_once() -> None:
    """Removed paths go, pseudonymised ones read ERASED, required encrypted ones hold ERASED encrypted; then nothing."""
    fields = PersonalFields(
        remove=("a.email_enc",), pseudonymise=("a.name", "a.hash", "r.comment"), encrypted=("a.enc",)
    )
    doc = {"a": {"enc": "v1.x", "hash": "h", "name": "Bình", "email_enc": "v1.y"}, "r": None}
    update = fields.erasure(doc, now=NOW, encrypt=lambda text: f"sealed({text})")
    assert update == {
        "$unset": {"a.email_enc": ""},
        "$set": {"a.name": ERASED, "a.hash": ERASED, "a.enc": f"sealed({ERASED})", ERASED_AT_FIELD: NOW},
    }
    erased = {"a": {"enc": f"sealed({ERASED})", "hash": ERASED, "name": ERASED}, "r": None}
    assert fields.erasure(erased, now=NOW) is None
    with pytest.raises(ValueError, match="at-rest key"):
        fields.erasure(doc, now=NOW)


def test_a_rating_without_comment_is_left_alone() -> None:
    """resolution: a case never rated (rating None) or rated without words has nothing to erase."""
    (cases,) = RESOLUTION.collections
    assert cases.personal.erasure({"rating": None}, now=NOW) is None
    assert cases.personal.erasure({"rating": {"score": 4, "comment": None}}, now=NOW) is None
    assert cases.personal.erasure({"rating": {"score": 4, "comment": "tốt"}}, now=NOW) is not None


def test_intake_dossier_finishes_with_its_last_status() -> None:
    """Returned, refused or withdrawn at the time of the last status; an open dossier is not finished."""
    (dossiers,) = INTAKE.collections
    assert dossiers.finished_at is not None
    assert dossiers.finished_at({"status": "returned", "last_status": {"at": EARLIER}}) == EARLIER
    assert dossiers.finished_at({"status": "in_process", "last_status": {"at": EARLIER}}) is None
    assert dossiers.archivable({"status": "refused", "last_status": {"at": EARLIER}}, before=NOW)
    assert not dossiers.archivable(
        {"status": "refused", "last_status": {"at": EARLIER}, "outbox_pending": 1}, before=NOW
    )


def test_route_finishes_when_its_latest_hand_off_came_back() -> None:
    """A transfer's earlier hand-off never comes back; only the latest one counts, and a parked route is open."""
    (routes,) = ROUTING.collections
    assert routes.finished_at is not None
    first = {"sent_at": EARLIER, "received_at": EARLIER}  # transferred away: no returned_at
    latest = {"sent_at": EARLIER + timedelta(days=1), "returned_at": EARLIER + timedelta(days=5)}
    assert routes.finished_at({"parked": False, "handoffs": {"a": first, "b": latest}}) == latest["returned_at"]
    assert routes.finished_at({"parked": False, "handoffs": {"a": {**latest, "returned_at": None}, "b": first}}) is None
    assert routes.finished_at({"parked": True, "handoffs": {"b": latest}}) is None


def test_notify_timeline_and_messages() -> None:
    """A timeline ending returned (time as text) is finished; a sent message awaiting its receipt is not."""
    dossiers, notifications = NOTIFY.collections
    assert dossiers.finished_at is not None and notifications.finished_at is not None
    timeline = [
        {"status": "received", "at": "2027-01-01T01:00:00+00:00"},
        {"status": "returned", "at": EARLIER.isoformat()},
    ]
    assert dossiers.finished_at({"timeline": timeline}) == EARLIER
    assert dossiers.finished_at({"timeline": timeline[:1]}) is None
    assert notifications.finished_at({"status": "sent", "finished_at": EARLIER}) == EARLIER
    assert notifications.finished_at({"status": "sent", "finished_at": EARLIER, "awaiting_receipt": True}) is None


def test_a_case_finishes_in_a_terminal_status_and_only_those_are_preselected() -> None:
    """``by_status``: the store filter and the fresh-read rule name the same statuses."""
    (cases,) = RESOLUTION.collections
    assert cases.finished_filter == {"status": {"$in": ["refused", "returned", "transferred", "withdrawn"]}}
    assert cases.finished_at is not None
    assert cases.finished_at({"status": "transferred", "finished_at": EARLIER}) == EARLIER
    assert cases.finished_at({"status": "in_process", "finished_at": EARLIER}) is None
    assert not cases.archivable({"status": "returned"}, before=NOW)  # no finish time: kept
