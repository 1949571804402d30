"""Request and response bodies of intake's HTTP API (documented for OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from shared.events import DEFAULT_CHANNEL_PREFERENCES

_DOCUMENT_EXAMPLE = {
    "code": "to_khai",
    "title": "Tờ khai đăng ký khai sinh",
    "content_type": "application/pdf",
    "size": 182044,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
}
_NOW = "2026-11-23T09:15:00+07:00"
_DUE = "2026-11-26T09:15:00+07:00"

# the fields every view of a dossier has, described once
DossierId = Annotated[str, Field(description="Dossier id.", examples=["3f0c1c1e-8d6b-4b7e-9a57-3e2f4d1c2b10"])]
DossierCode = Annotated[str, Field(description="Dossier code.", examples=["00070.TTHCC-261122-0001"])]
ProcedureCode = Annotated[str, Field(description="Procedure.", examples=["LT-HT-001"])]
ReceivedAt = Annotated[datetime, Field(description="When it was received.", examples=[_NOW])]

# what an applicant's name, number and e-mail may be, for the clerk's filing and the citizen's own alike
FullName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Phone = Annotated[str, Field(max_length=32, description="Vietnamese mobile number.", examples=["0912345678"])]
Email = Annotated[EmailStr | None, Field(description="E-mail for notifications.", examples=["an@example.vn"])]
#: a counter group whose queue tickets are taken and called (ho-tich, dat-dai, ...)
QueueService = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Address(BaseModel):
    """Where the applicant lives."""

    model_config = ConfigDict(extra="forbid")
    ward_code: str = Field(description="Official code of the commune/ward (2025 list).", examples=["00070"])
    detail: str | None = Field(
        default=None, max_length=300, description="Street and house number.", examples=["12 Hàng Bạc"]
    )


class Applicant(BaseModel):
    """The citizen filing the dossier (personal data: never logged)."""

    model_config = ConfigDict(extra="forbid")
    full_name: FullName = Field(description="Full name.", examples=["Nguyễn Văn An"])
    citizen_id: str = Field(max_length=32, description="12-digit citizen ID (CCCD).", examples=["001203012345"])
    phone: Phone
    email: Email = None
    address: Address = Field(
        description="Registered address.", examples=[{"ward_code": "00070", "detail": "12 Hàng Bạc"}]
    )


class Subject(BaseModel):
    """Where the dossier's subject is (e.g. the land parcel or building site)."""

    model_config = ConfigDict(extra="forbid")
    ward_code: str = Field(description="Commune/ward of the subject.", examples=["00070"])


class Document(BaseModel):
    """Metadata of an attached document (the file itself lives in the document store)."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=64, description="Document code from the procedure's list.", examples=["to_khai"])
    title: str = Field(min_length=1, max_length=300, description="Title.", examples=["Tờ khai đăng ký khai sinh"])
    content_type: str = Field(
        pattern=r"^[\w.+-]+/[\w.+-]+$", max_length=100, description="MIME type.", examples=["application/pdf"]
    )
    size: int = Field(gt=0, le=50 * 1024 * 1024, description="Size in bytes (≤ 50 MiB).", examples=[182044])
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file, hex.", examples=[_DOCUMENT_EXAMPLE["sha256"]]
    )


def _channel(name: str, description: str) -> Any:
    """The field of one channel: on or off as the shared contract's default until the citizen chooses."""
    default = DEFAULT_CHANNEL_PREFERENCES[name]
    return Field(default=default, description=description, examples=[default])


class NotifyPreferences(BaseModel):
    """Channels the citizen wants to be told on."""

    model_config = ConfigDict(extra="forbid")
    sms: bool = _channel("sms", "SMS on every status change.")
    email: bool = _channel("email", "E-mail on every status change.")
    app: bool = _channel("app", "Live updates in the citizen app.")


class DossierIn(BaseModel):
    """A dossier as filed by a front-office app or the portal."""

    model_config = ConfigDict(extra="forbid")
    procedure_code: str = Field(
        max_length=32, description="Procedure code from /v1/procedures.", examples=["LT-HT-001"]
    )
    channel: Literal["counter", "online", "postal"] = Field(description="How it was filed.", examples=["counter"])
    applicant: Applicant = Field(
        description="The citizen filing the dossier.",
        examples=[
            {
                "full_name": "Nguyễn Văn An",
                "citizen_id": "001203012345",
                "phone": "0912345678",
                "address": {"ward_code": "00070", "detail": "12 Hàng Bạc"},
            }
        ],
    )
    subject: Subject | None = Field(
        default=None,
        description="Location of the subject, required when the procedure is decided by it (land, building).",
        examples=[{"ward_code": "00070"}],
    )
    documents: list[Document] = Field(
        max_length=50,
        description="Attached documents; every mandatory document code of the procedure must be present.",
        examples=[[_DOCUMENT_EXAMPLE]],
    )
    notify: NotifyPreferences = Field(
        default_factory=NotifyPreferences,
        description="Notification preferences.",
        examples=[dict(DEFAULT_CHANNEL_PREFERENCES)],
    )
    locale: Literal["vi", "en"] = Field(default="vi", description="Language of notifications.", examples=["vi"])
    queue_ticket: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="Counter queue ticket called today at this centre whose holder files this dossier; the "
        "ticket is marked served and linked to the dossier code.",
        examples=[17],
    )


class Receipt(BaseModel):
    """Receipt and appointment slip (giấy tiếp nhận hồ sơ và hẹn trả kết quả)."""

    id: DossierId
    code: DossierCode
    status: str = Field(description="Status.", examples=["received"])
    received_at: ReceivedAt
    due_at: datetime = Field(description="Appointment date (legal due date).", examples=[_DUE])
    tracking_token: str | None = Field(
        description="Citizen's tracking token (shown only when the dossier is created).", examples=["rV2n0d9Q..."]
    )
    procedure_code: ProcedureCode
    office_code: str = Field(description="Receiving office.", examples=["00070.TTHCC"])


class SupplementIn(BaseModel):
    """Documents supplied after a supplement request (bổ sung hồ sơ)."""

    model_config = ConfigDict(extra="forbid")
    documents: list[Document] = Field(
        min_length=1, max_length=50, description="Supplied documents.", examples=[[_DOCUMENT_EXAMPLE]]
    )
    note: str | None = Field(
        default=None,
        max_length=1000,
        description="Note from the citizen or clerk.",
        examples=["Bổ sung bản chính giấy chứng sinh"],
    )


class SupplementOut(BaseModel):
    """A recorded supplement."""

    supplement_id: str = Field(description="Supplement id.", examples=["5b1d7c2e-0f3a-4c8e-9d61-2a7b3c4d5e6f"])
    code: DossierCode
    received_at: ReceivedAt


class HistoryEntry(BaseModel):
    """One step of the dossier's life as seen from the filing office."""

    status: str = Field(description="Status after the step.", examples=["accepted"])
    action: str | None = Field(default=None, description="What happened.", examples=["accept"])
    at: datetime = Field(description="When.", examples=[_NOW])
    office_code: str | None = Field(default=None, description="Office where it happened.", examples=["00070.UBND"])
    reason: str | None = Field(
        default=None, description="Reason, when given.", examples=["Thiếu bản chính giấy chứng sinh"]
    )


class StoredFile(BaseModel):
    """A document's file kept in intake's store (GridFS)."""

    document_code: str = Field(description="Document code it belongs to.", examples=["to_khai"])
    sha256: str = Field(description="SHA-256 of the file (checked against the declared one).", examples=["9f86d0..."])
    size: int = Field(description="Size in bytes.", examples=[182044])
    content_type: str = Field(description="MIME type.", examples=["application/pdf"])
    uploaded_at: datetime = Field(description="When it was uploaded.", examples=[_NOW])


class DossierView(BaseModel):
    """The filing office's view of a dossier."""

    id: DossierId
    code: DossierCode
    procedure_code: ProcedureCode
    status: str = Field(
        description="Current status: received, routed, parked (no competent office open yet), accepted, ...",
        examples=["in_process"],
    )
    awaiting_supplement: bool = Field(description="True while a supplement is requested.", examples=[False])
    received_at: ReceivedAt
    due_at: datetime = Field(description="Current due date (moves later after a supplement pause).", examples=[_DUE])
    current_office_code: str | None = Field(
        description="Office now handling it (null while parked or before routing).", examples=["00070.UBND"]
    )
    current_office_name: str | None = Field(
        default=None, description="Name of that office.", examples=["Ủy ban nhân dân Phường Hoàn Kiếm"]
    )
    files: list[StoredFile] = Field(
        default_factory=list,
        description="Files uploaded for its documents.",
        examples=[
            [
                {
                    "document_code": "to_khai",
                    "sha256": _DOCUMENT_EXAMPLE["sha256"],
                    "size": 182044,
                    "content_type": "application/pdf",
                    "uploaded_at": _NOW,
                }
            ]
        ],
    )
    history: list[HistoryEntry] = Field(
        description="Timeline, oldest first.",
        examples=[[{"status": "received", "action": None, "at": _NOW, "office_code": "00070.TTHCC", "reason": None}]],
    )


class RequiredDocumentOut(BaseModel):
    """A document of a procedure's list (thành phần hồ sơ)."""

    code: str = Field(description="Code to give in a dossier's documents.", examples=["to_khai"])
    title: str = Field(description="Title (Vietnamese).", examples=["Tờ khai đăng ký khai sinh"])
    mandatory: bool = Field(description="Without it the dossier is incomplete.", examples=[True])


class FeeOut(BaseModel):
    """A fee or charge (phí, lệ phí)."""

    title: str = Field(description="What is charged.", examples=["Lệ phí đăng ký kinh doanh"])
    amount_vnd: int = Field(description="Amount in đồng.", examples=[100000])


class ProcedureOut(BaseModel):
    """A procedure of the catalogue."""

    code: str = Field(examples=["LT-HT-001"], description="Procedure code.")
    national_code: str | None = Field(description="National procedure code, when verified.", examples=["1.001193"])
    name: str = Field(examples=["Đăng ký khai sinh"], description="Name (Vietnamese).")
    name_en: str = Field(examples=["Birth registration"], description="Name (English).")
    level: Literal["commune", "province"] = Field(description="Competent level.", examples=["commune"])
    processing_days: int = Field(examples=[0], description="Legal time in working days (0 = same working day).")
    same_day_cutoff: str | None = Field(
        default=None,
        description="Same-day procedures received after this time are due the next working day.",
        examples=["15:00:00"],
    )
    boundary_free: bool = Field(description="May be filed anywhere in the province.", examples=[True])
    online: Literal["full", "partial", "none"] = Field(
        examples=["full"], description="Online filing: full, partial or none."
    )
    competent_office_type: str = Field(examples=["UBND"], description="Kind of competent office (code suffix).")
    subject_basis: str = Field(
        description="What decides jurisdiction: applicant_residence, subject_location or any_in_province.",
        examples=["applicant_residence"],
    )
    required_documents: list[RequiredDocumentOut] = Field(
        description="Documents the citizen supplies.",
        examples=[[{"code": "to_khai", "title": "Tờ khai đăng ký khai sinh", "mandatory": True}]],
    )
    fees: list[FeeOut] = Field(
        description="Fees and charges (empty = free).",
        examples=[[{"title": "Lệ phí đăng ký kinh doanh", "amount_vnd": 100000}]],
    )
    max_supplement_requests: int | None = Field(
        default=None, description="How many supplement requests the law allows (null = no limit).", examples=[1]
    )
    chain: list[str] = Field(
        description="Next procedures of an inter-agency chain (liên thông).", examples=[["LT-CT-001", "LT-BH-001"]]
    )
    note: str | None = Field(
        default=None, description="Legal basis and remarks.", examples=["Same working day (Law on Civil Status 2014)."]
    )


class DueDateOut(BaseModel):
    """A computed appointment date."""

    procedure_code: str = Field(examples=["LT-KD-001"], description="Procedure.")
    received_at: datetime = Field(description="Receipt time used.", examples=["2027-02-03T10:00:00+07:00"])
    due_at: datetime = Field(description="Legal due date.", examples=["2027-02-15T10:00:00+07:00"])


class TicketIn(BaseModel):
    """Take a queue ticket."""

    model_config = ConfigDict(extra="forbid")
    service: QueueService = Field(description="Service (counter group) whose queue to join.", examples=["ho-tich"])


class CallIn(BaseModel):
    """A counter calls the next ticket (of its service's queue, when it names one)."""

    model_config = ConfigDict(extra="forbid")
    counter: str = Field(min_length=1, max_length=32, description="Counter number/name.", examples=["3"])
    service: QueueService | None = Field(
        default=None,
        description="Call only from this service's queue (omitted: the oldest ticket of any service).",
        examples=["ho-tich"],
    )


class TicketOut(BaseModel):
    """A queue ticket."""

    number: int = Field(examples=[17], description="Ticket number (restarts daily).")
    centre: str = Field(examples=["00070.TTHCC"], description="Service centre.")
    day: str = Field(examples=["2026-11-22"], description="Day (Asia/Ho_Chi_Minh).")
    service: str = Field(examples=["ho-tich"], description="Service.")
    status: str = Field(examples=["waiting"], description="waiting, called, served or no_show.")
    counter: str | None = Field(default=None, description="Counter that called it.", examples=["3"])
    dossier_code: str | None = Field(
        default=None, description="Dossier filed for its holder (once served).", examples=["00070.TTHCC-261122-0001"]
    )


class TicketList(BaseModel):
    """A display board's view of a centre's queue today."""

    centre: str = Field(examples=["00070.TTHCC"], description="Service centre.")
    day: str = Field(examples=["2026-11-22"], description="Day (Asia/Ho_Chi_Minh).")
    items: list[TicketOut] = Field(
        description="Tickets in number order.",
        examples=[
            [
                {"number": 16, "centre": "00070.TTHCC", "day": "2026-11-22", "service": "ho-tich", "status": "called"},
                {"number": 17, "centre": "00070.TTHCC", "day": "2026-11-22", "service": "ho-tich", "status": "waiting"},
            ]
        ],
    )
