"""The Dossier and Ticket aggregates: transitions, the rules that refuse them, and the events they record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.intake.domain.dossier import Address, Document, Dossier, FileRecord, Filing, Notify, StoredApplicant
from services.intake.domain.errors import Conflict, NotFound
from services.intake.domain.office import office_of
from services.intake.domain.ticket import Ticket, queue_day
from shared.aggregate import Unchanged
from shared.events import ContactPoint, DossierReceived, DossierStatus, DossierStatusChanged
from shared.reference.procedures import load_catalogue
from shared.topics import Topics

NOW = datetime(2026, 11, 23, 2, 15, tzinfo=UTC)  # Monday 09:15 in Hà Nội
DOC = Document("to_khai", "Tờ khai", "application/pdf", 10, "a" * 64)


def dossier(procedure_code: str = "LT-KD-001") -> Dossier:
    """A received dossier (its recorded event left in place)."""
    filing = Filing(
        procedure_code=procedure_code,
        channel="counter",
        applicant_address=Address("00070"),
        subject_ward_code=None,
        documents=[DOC],
        notify=Notify(sms=True, email=False, app=True),
    )
    procedure = load_catalogue().get(procedure_code)
    assert procedure is not None
    return Dossier.receive(
        filing,
        dossier_id="d1",
        code="00070.TTHCC-261123-0001",
        office=office_of("00070.TTHCC"),
        procedure=procedure,
        applicant=StoredApplicant("Nguyễn Văn An", Address("00070"), "enc", "hash", "penc", "phash"),
        contact=ContactPoint(sealed="sealed", phone_hash="phash"),
        tracking_token_sha256="t" * 64,
        idempotency_key="none:d1",
        body_sha256="b" * 64,
        now=NOW,
    )


def status(version: int, value: DossierStatus, *, office: str = "00070.UBND", **extra: object) -> DossierStatusChanged:
    """A status event of resolution."""
    return DossierStatusChanged.model_validate(
        {
            "dossier_id": "d1",
            "dossier_code": "00070.TTHCC-261123-0001",
            "office_code": office,
            "status": value,
            "action": extra.pop("action", value.value),
            "version": version,
            "occurred_at": extra.pop("at", NOW),
            **extra,
        }
    )


def test_a_receipt_records_dossier_received_with_the_legal_due_date() -> None:
    """Receiving sets the due date by the legal clock (3 working days) and records one dossier.received.v1."""
    d = dossier()
    procedure = load_catalogue().get("LT-KD-001")
    assert procedure is not None and d.due_at == d.appointment_at == procedure.due_at(NOW)
    assert d.due_at - NOW >= timedelta(days=3)
    (event,) = d.pull_events()
    assert (event.topic, event.key, event.subject) == (Topics.DOSSIER_RECEIVED, "d1", d.code)
    received = DossierReceived.model_validate(event.data)
    assert received.processing_days == 3 and received.documents == 1 and received.contact.sealed == "sealed"
    assert [(h.status, h.office_code) for h in d.history] == [("received", "00070.TTHCC")]


def test_a_supplement_is_taken_only_while_requested_and_records_its_event() -> None:
    """Before a request: Conflict, nothing recorded; after one: the supplement and dossier.supplemented.v1."""
    d = dossier()
    d.pull_events()
    with pytest.raises(Conflict):
        d.supplement("s1", [DOC], None, NOW)
    assert d.pull_events() == []
    d.apply_status(status(2, DossierStatus.SUPPLEMENT_REQUESTED, action="request_supplement"))
    later = Document("to_khai", "Tờ khai (mới)", "application/pdf", 20, "c" * 64)
    d.supplement("s1", [later], "bổ sung", NOW)
    (event,) = d.pull_events()
    assert event.topic == Topics.DOSSIER_SUPPLEMENTED and event.data["supplement_id"] == "s1"
    assert not d.awaiting_supplement and d.declared_document("to_khai") == later  # the latest declaration wins
    assert d.declared_document("missing") is None


def test_an_overdue_flag_keeps_the_supplement_awaited() -> None:
    """The overdue action changes the status, but a requested supplement is still awaited."""
    d = dossier()
    d.apply_status(status(2, DossierStatus.SUPPLEMENT_REQUESTED, action="request_supplement"))
    d.apply_status(status(3, DossierStatus.SUPPLEMENT_REQUESTED, action="overdue"))
    assert d.awaiting_supplement
    d.apply_status(status(4, DossierStatus.IN_PROCESS, action="resume", due_at=NOW + timedelta(days=9)))
    assert not d.awaiting_supplement and d.due_at == NOW + timedelta(days=9)


def test_an_older_version_of_the_same_office_is_unchanged() -> None:
    """Versions only move forward per office; another office's sequence starts afresh."""
    d = dossier()
    d.apply_status(status(3, DossierStatus.IN_PROCESS))
    with pytest.raises(Unchanged):
        d.apply_status(status(3, DossierStatus.ACCEPTED))
    d.apply_status(status(1, DossierStatus.ACCEPTED, office="00070.CA"))
    assert d.current_office_code == "00070.CA"


def test_a_file_is_recorded_once() -> None:
    """The same file again is Unchanged; the newest upload of a document is the one read."""
    d = dossier()
    first = FileRecord("to_khai", "d1/to_khai/a", "a" * 64, 10, "application/pdf", NOW)
    d.attach_file(first)
    with pytest.raises(Unchanged):
        d.attach_file(first)
    second = FileRecord("to_khai", "d1/to_khai/c", "c" * 64, 20, "application/pdf", NOW)
    d.attach_file(second)
    assert d.latest_file("to_khai") == second and d.latest_file("x") is None


def test_ticket_transitions() -> None:
    """waiting → called → served (again with the same code: Unchanged); no-show only when called."""
    t = Ticket("C1", queue_day(NOW), 1, "ho-tich", NOW)
    assert t.id == f"C1:{queue_day(NOW)}:1" and not t.called()
    with pytest.raises(Unchanged):
        t.serve("X", NOW)
    with pytest.raises(NotFound):
        t.no_show(NOW)
    t.call("4", NOW)
    with pytest.raises(Unchanged):
        t.call("5", NOW)
    assert (t.status, t.counter) == ("called", "4")
    t.serve("X", NOW)
    with pytest.raises(Unchanged):
        t.serve("X", NOW)
    assert (t.status, t.dossier_code) == ("served", "X")
