"""Notify's aggregates alone: transitions, their guards (Unchanged) and the events they record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain.notifications import Notification, NotificationStatus, SentDetails
from services.notify.domain.view import DossierView, StoredContact, from_received, from_status
from shared.aggregate import Unchanged
from shared.topics import Topics
from tests.unit.notify.builders import received, status_changed, webhook_delivery

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
S = NotificationStatus


def _notification(**fields: object) -> Notification:
    return Notification(
        id="e-1:sms",
        dossier_id="d-1",
        dossier_code="C-1",
        event_id="e-1",
        channel="sms",
        kind="accepted",
        context={},
        template_version="v",
        created_at=T0,
        **fields,  # type: ignore[arg-type]
    )


def test_a_notification_is_claimed_once_per_attempt_and_records_its_outcome() -> None:
    n = _notification()
    n.wait_for_contact(T0)
    with pytest.raises(Unchanged):
        n.wait_for_contact(T0)  # only from created
    n.start_sending(T0, attempt=1, reference="r")
    with pytest.raises(Unchanged):
        n.start_sending(T0, attempt=1, reference="r")  # a second claimer of the same attempt
    assert not n.recorded
    n.finish(S.SENT, T0, expected=frozenset({S.SENDING}), provider="p", sent=SentDetails(T0, awaiting_receipt=True))
    (event,) = n.pull_events()
    assert event.topic == Topics.NOTIFICATION_DELIVERY and event.key == "d-1" and event.subject == "C-1"
    assert (event.data["status"], event.data["attempts"], event.data["provider"]) == ("sent", 1, "p")
    assert n.awaiting_receipt
    n.receipt(True, T0)
    assert n.status == S.DELIVERED and not n.awaiting_receipt and n.pull_events()[0].data["status"] == "delivered"
    with pytest.raises(Unchanged):
        n.receipt(False, T0)  # a late second receipt


def test_a_retry_is_deferred_only_from_sending_and_keeps_the_reference() -> None:
    n = _notification()
    with pytest.raises(Unchanged):
        n.defer(T0, "retry", retrying=True)
    n.start_sending(T0, attempt=1, reference="r")
    n.defer(T0 + timedelta(seconds=30), "retry", detail="down", retrying=True)
    assert (n.status, n.deferred_for, n.detail, n.due(T0)) == (S.DEFERRED, "retry", "down", False)
    n.start_sending(T0, attempt=2, reference="other")
    assert n.reference == "other" and n.attempts == 2  # the use case passes the kept reference


def test_the_view_applies_a_change_once_per_version_and_marks_a_late_contact() -> None:
    r = received()
    view = DossierView(id=r.dossier_id, code=r.dossier_code, created_at=T0)
    view.apply(from_status("e-2", status_changed(r, "accepted", 2)))
    with pytest.raises(Unchanged):
        view.apply(from_status("e-1", status_changed(r, "accepted", 1)))  # an older case version
    assert not view.release_pending
    view.apply(from_received("e-0", r), StoredContact(phone_enc="v1.x"))
    assert (
        view.release_pending
        and view.contact is not None
        and [e.kind for e in view.timeline]
        == [
            "accepted",
            "received",
        ]
    )
    view.released()
    with pytest.raises(Unchanged):
        view.released()
    assert view.choose({"email": True}) == {"sms": True, "email": True, "app": True}


def test_a_contact_that_comes_first_needs_no_release() -> None:
    r = received()
    view = DossierView(id=r.dossier_id, code=r.dossier_code, created_at=T0)
    view.apply(from_received("e-0", r), StoredContact(phone_enc="v1.x"))
    assert not view.release_pending


def test_a_webhook_delivery_follows_the_table_then_fails_and_can_be_resent() -> None:
    d = webhook_delivery(T0, id="e-1:sub", subscription_id="sub")
    d.lease(T0, attempt=1, until=T0 + timedelta(seconds=15))
    with pytest.raises(Unchanged):
        d.lease(T0, attempt=1, until=T0)  # leased: not due now
    assert d.attempted(T0, attempt=1, ok=False, outcome="HTTP 500", backoff=[10]) is None and not d.recorded
    assert d.attempted(T0, attempt=2, ok=False, outcome="HTTP 503", backoff=[10]) == "failed"
    (event,) = d.pull_events()
    assert (event.data["channel"], event.data["status"], event.data["attempts"]) == ("webhook", "failed", 2)
    with pytest.raises(Unchanged):
        d.resend("another", T0)
    d.resend("sub", T0)
    assert (d.status, d.attempts, d.resends) == ("pending", 0, 1)
