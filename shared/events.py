"""Event data contracts (the JSON ``data`` of each topic). Within a version fields are only added, optional."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EventData(BaseModel):
    """Base of every event payload: immutable, unknown fields ignored (forward compatible)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class DossierStatus(StrEnum):
    """Citizen-visible dossier statuses; the number is the Vietnamese production status code where one exists."""

    RECEIVED = "received"  # 1/2 mới tiếp nhận
    ROUTED = "routed"  # chuyển đến cơ quan có thẩm quyền
    PARKED = "parked"  # chờ cơ quan có thẩm quyền (no competent office open)
    ACCEPTED = "accepted"  # 2 đã tiếp nhận
    IN_PROCESS = "in_process"  # 4 đang xử lý
    SUPPLEMENT_REQUESTED = "supplement_requested"  # 5 yêu cầu bổ sung
    SUPPLEMENT_RECEIVED = "supplement_received"
    TRANSFERRED = "transferred"  # chuyển xử lý
    REFUSED = "refused"  # 3 không tiếp nhận / từ chối
    RESULT_READY = "result_ready"  # 9 đã xử lý, có kết quả
    RETURNED = "returned"  # 10 đã trả kết quả
    WITHDRAWN = "withdrawn"  # 7 công dân rút hồ sơ


class Channel(StrEnum):
    """How the dossier was filed."""

    COUNTER = "counter"
    ONLINE = "online"
    POSTAL = "postal"


#: The channels a citizen is told on until they choose (the one definition: intake's form, the receipt event
#: and notify's view all start from it). Read-only: copy it (``dict(DEFAULT_CHANNEL_PREFERENCES)``) to change one.
DEFAULT_CHANNEL_PREFERENCES: Mapping[str, bool] = MappingProxyType({"sms": True, "email": False, "app": True})


class NotifyPreferences(EventData):
    """Channels the citizen agreed to be told on."""

    sms: bool = DEFAULT_CHANNEL_PREFERENCES["sms"]
    email: bool = DEFAULT_CHANNEL_PREFERENCES["email"]
    app: bool = DEFAULT_CHANNEL_PREFERENCES["app"]


class ContactPoint(EventData):
    """Contact data on ``dossier.received.v1``, for notify (which owns delivery) only.

    Since the security review intake sends ``sealed`` (AES-GCM with ``CONTACT_SEALING_KEY``, which only
    intake and notify hold: ``{"phone", "email"}`` as JSON) and ``phone_hash`` (keyed hash), never the phone
    or e-mail in clear; ``phone`` and ``email`` stay for older events and are then empty.
    """

    phone: str | None = None
    email: str | None = None
    locale: Literal["vi", "en"] = "vi"
    sealed: str | None = Field(default=None, description="The contact, encrypted for notify.")
    phone_hash: str | None = Field(default=None, description="HMAC-SHA256 of the phone (PII_HASH_KEY).")


class DossierReceived(EventData):
    """``dossier.received.v1``: intake issued a receipt (giấy tiếp nhận và hẹn trả kết quả)."""

    dossier_id: str
    dossier_code: str
    procedure_code: str
    procedure_name: str | None = None
    channel: Channel
    receiving_office_code: str
    province_code: str
    receiving_ward_code: str | None = None
    applicant_ward_code: str
    subject_ward_code: str | None = None
    received_at: datetime
    due_at: datetime
    processing_days: int
    documents: int = 0
    tracking_token_sha256: str = Field(description="SHA-256 of the citizen's tracking token, never the token.")
    notify: NotifyPreferences = NotifyPreferences()
    contact: ContactPoint = ContactPoint()
    applicant_identity_verified: bool = Field(
        default=False,
        description="The applicant logged in with the e-ID provider (VNeID) and filed as themselves: the "
        "dossier's citizen ID is the provider's, not typed into a form.",
    )


class RouteOutcome(StrEnum):
    """What routing decided."""

    ROUTED = "routed"
    PARKED = "parked"


class DossierRouted(EventData):
    """``dossier.routed.v1``: routing chose the competent office (or parked the dossier with a reason)."""

    dossier_id: str
    dossier_code: str
    decision_id: str
    outcome: RouteOutcome = RouteOutcome.ROUTED
    office_code: str | None = None
    office_name: str | None = None
    province_code: str
    procedure_code: str
    procedure_name: str | None = None
    rule_id: str | None = None
    reason: str
    channel: Channel = Channel.ONLINE
    receiving_office_code: str | None = None
    applicant_ward_code: str | None = None
    received_at: datetime
    due_at: datetime
    processing_days: int = 0
    chain_step: int = 0
    chain: list[str] = Field(default_factory=list)
    previous_office_code: str | None = None
    transfer_reason: str | None = Field(
        default=None, description="Why the previous office transferred it (shown to the new office)."
    )
    tried_offices: list[str] = Field(default_factory=list)
    tracking_token_sha256: str | None = None
    routed_at: datetime


class ResultDocument(EventData):
    """A signed result (kết quả giải quyết) attached on approval."""

    document_id: str
    sha256: str
    signature: str
    algorithm: str = "Ed25519"
    signed_by_office: str
    verify_url: str | None = Field(default=None, description="Public verification page of the result (no login).")
    key_id: str | None = Field(default=None, description="Id (JWK thumbprint) of the key that signed it.")


class DossierStatusChanged(EventData):
    """``dossier.status.v1``: a case changed state at an office (or was flagged overdue / got an apology)."""

    dossier_id: str
    dossier_code: str
    office_code: str
    procedure_code: str | None = None
    status: DossierStatus
    previous_status: DossierStatus | None = None
    action: str = Field(description="accept, request_supplement, ..., overdue, apology, rate.")
    version: int = Field(description="Case version after the change; strictly increasing per dossier at one office.")
    reason: str | None = None
    due_at: datetime | None = None
    previous_due_at: datetime | None = None
    paused_working_hours: float | None = None
    overdue: bool = False
    result: ResultDocument | None = None
    transfer_to_next_step: bool = False
    exclude_offices: list[str] = Field(default_factory=list)
    transfer_to_office: str | None = Field(default=None, description="Transfer: the office the official named.")
    actor_role: str | None = None
    chain_step: int = Field(default=0, description="Position of this office's step in an inter-agency chain.")
    chain: list[str] = Field(default_factory=list, description="Procedures of the chain (empty: no chain).")
    office_name: str | None = None
    occurred_at: datetime

    @property
    def chain_continues(self) -> bool:
        """True when another office of the chain follows this step (its result is not the citizen's yet)."""
        return self.chain_step + 1 < len(self.chain)


class DossierSupplemented(EventData):
    """``dossier.supplemented.v1``: the citizen supplied the requested documents; the clock resumes."""

    dossier_id: str
    dossier_code: str
    supplement_id: str
    documents: int
    received_at: datetime


class DeliveryStatus(StrEnum):
    """Outcome of one notification on one channel."""

    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


class NotificationDelivery(EventData):
    """``notification.delivery.v1``: what happened to one message to a citizen or app back end."""

    notification_id: str
    dossier_id: str
    dossier_code: str
    channel: Literal["sms", "email", "app", "webhook"]
    status: DeliveryStatus
    provider: str | None = None
    source_event_id: str
    attempts: int = 1
    detail: str | None = None
    occurred_at: datetime
