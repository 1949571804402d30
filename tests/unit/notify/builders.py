"""Event payloads for notify's tests."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.domain.deliveries import WebhookDelivery
from shared.envelope import CloudEvent
from shared.events import DossierReceived, DossierRouted, DossierStatusChanged
from shared.topics import Topics, event_type_of

TOKEN = "citizen-tracking-token"
PHONE = "0912345678"


def received(**overrides: Any) -> DossierReceived:
    """A receipt with a phone contact and default preferences (SMS yes, e-mail no, app yes)."""
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    dossier_id = str(uuid.uuid4())
    fields: dict[str, Any] = {
        "dossier_id": dossier_id,
        "dossier_code": f"00070.TTHCC-261123-{dossier_id[:4]}",
        "procedure_code": "LT-HT-001",
        "procedure_name": "Đăng ký khai sinh",
        "channel": "counter",
        "receiving_office_code": "00070.TTHCC",
        "province_code": "01",
        "receiving_ward_code": "00070",
        "applicant_ward_code": "00070",
        "received_at": now,
        "due_at": now + timedelta(days=1),
        "processing_days": 1,
        "tracking_token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest(),
        "contact": {"phone": PHONE, "email": "binh@example.vn", "locale": "vi"},
    }
    fields.update(overrides)
    return DossierReceived(**fields)


def routed(r: DossierReceived, *, parked: bool = False) -> DossierRouted:
    """Routing's decision for ``r``."""
    return DossierRouted(
        dossier_id=r.dossier_id,
        dossier_code=r.dossier_code,
        decision_id=str(uuid.uuid4()),
        outcome="parked" if parked else "routed",
        office_code=None if parked else "00070.UBND",
        office_name=None if parked else "UBND Phường Hoàn Kiếm",
        province_code="01",
        procedure_code=r.procedure_code,
        reason="no competent office open" if parked else "rule commune-ubnd",
        received_at=r.received_at,
        due_at=r.due_at,
        routed_at=r.received_at + timedelta(minutes=1),
    )


def status_changed(r: DossierReceived, status: str, version: int, **extra: Any) -> DossierStatusChanged:
    """A case change of ``r`` at its commune People's Committee."""
    return DossierStatusChanged(
        dossier_id=r.dossier_id,
        dossier_code=r.dossier_code,
        office_code=extra.pop("office_code", "00070.UBND"),
        status=status,
        action=extra.pop("action", "accept"),
        version=version,
        due_at=extra.pop("due_at", r.due_at),
        occurred_at=r.received_at + timedelta(hours=version),
        **extra,
    )


def cloud_event(topic: str, data: Any, *, event_id: str | None = None) -> CloudEvent:
    """The envelope a producer would send for ``data`` on ``topic``."""
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source="/lienthong/test",
        type=event_type_of(topic),
        subject=data.dossier_code,
        data=data.model_dump(mode="json"),
    )


RECEIVED, ROUTED, STATUS = Topics.DOSSIER_RECEIVED, Topics.DOSSIER_ROUTED, Topics.DOSSIER_STATUS


def webhook_delivery(at: datetime, **fields: Any) -> WebhookDelivery:
    """A first delivery of event e-1 (dossier d-1) to subscription sub_a, due ``at``; ``fields`` replace."""
    defaults: dict[str, Any] = {
        "id": "e-1:sub_a",
        "subscription_id": "sub_a",
        "dossier_id": "d-1",
        "dossier_code": "00070.TTHCC-261123-0001",
        "event_id": "e-1",
        "url": "https://app.example.vn/hook",
        "body": {},
        "created_at": at,
        "next_attempt_at": at,
    }
    return WebhookDelivery(**(defaults | fields))
