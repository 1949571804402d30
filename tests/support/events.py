"""Builders of the cross-service events the tests feed: one routing decision, one fresh receipt."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from shared.events import DossierReceived, DossierRouted


def _fresh_dossier(ward: str) -> dict[str, str]:
    """A new dossier's id and its code at ``ward``'s service centre."""
    dossier_id = str(uuid.uuid4())
    return {"dossier_id": dossier_id, "dossier_code": f"{ward}.TTHCC-261122-{dossier_id[:4]}"}


def routed(
    *,
    office: str = "00070.UBND",
    received_at: datetime | None = None,
    due_at: datetime | None = None,
    procedure: str = "LT-XD-001",
    channel: str = "counter",
    ward: str = "00070",
    token: str = "citizen-token",
    processing_days: int = 15,
    reason: str = "test",
    routed_at: datetime | None = None,
) -> DossierRouted:
    """A routing decision for a fresh dossier at ``office`` (routed when received unless told)."""
    now = datetime.now(UTC)
    return DossierRouted(
        **_fresh_dossier("00070"),
        decision_id=str(uuid.uuid4()),
        office_code=office,
        office_name="UBND Phường Hoàn Kiếm",
        province_code="01",
        procedure_code=procedure,
        reason=reason,
        channel=channel,
        applicant_ward_code=ward,
        received_at=received_at or now,
        due_at=due_at or now + timedelta(days=10),
        processing_days=processing_days,
        tracking_token_sha256=hashlib.sha256(token.encode()).hexdigest(),
        routed_at=routed_at or received_at or now,
    )


def received(
    procedure: str = "LT-HT-001",
    *,
    receiving_ward: str = "00070",
    applicant_ward: str = "00070",
    subject: str | None = None,
    province: str = "01",
) -> DossierReceived:
    """A dossier just received at ``receiving_ward``'s service centre."""
    now = datetime.now(UTC)
    return DossierReceived(
        **_fresh_dossier(receiving_ward),
        procedure_code=procedure,
        channel="counter",
        receiving_office_code=f"{receiving_ward}.TTHCC",
        province_code=province,
        receiving_ward_code=receiving_ward,
        applicant_ward_code=applicant_ward,
        subject_ward_code=subject,
        received_at=now,
        due_at=now + timedelta(days=3),
        processing_days=0,
        tracking_token_sha256="0" * 64,
    )
