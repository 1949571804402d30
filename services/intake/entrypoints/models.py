"""Request and response bodies of intake's HTTP API (documented for OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field


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
    full_name: str = Field(min_length=1, max_length=200, description="Full name.", examples=["Nguyễn Văn An"])
    citizen_id: str = Field(max_length=32, description="12-digit citizen ID (CCCD).", examples=["001203012345"])
    phone: str = Field(max_length=32, description="Vietnamese mobile number.", examples=["0912345678"])
    email: EmailStr | None = Field(default=None, description="E-mail for notifications.", examples=["an@example.vn"])
    address: Address


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
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file, hex.", examples=["a" * 64])


class NotifyPreferences(BaseModel):
    """Channels the citizen wants to be told on."""

    model_config = ConfigDict(extra="forbid")
    sms: bool = Field(default=True, description="SMS on every status change.", examples=[True])
    email: bool = Field(default=False, description="E-mail on every status change.", examples=[False])
    app: bool = Field(default=True, description="Live updates in the citizen app.", examples=[True])


class DossierIn(BaseModel):
    """A dossier as filed by a front-office app or the portal."""

    model_config = ConfigDict(extra="forbid")
    procedure_code: str = Field(
        max_length=32, description="Procedure code from /v1/procedures.", examples=["LT-HT-001"]
    )
    channel: Literal["counter", "online", "postal"] = Field(description="How it was filed.", examples=["counter"])
    applicant: Applicant
    subject: Subject | None = Field(default=None, description="Location of the subject, when the procedure needs it.")
    documents: list[Document] = Field(max_length=50, description="Attached documents.")
    notify: NotifyPreferences = Field(default_factory=NotifyPreferences, description="Notification preferences.")
    locale: Literal["vi", "en"] = Field(default="vi", description="Language of notifications.", examples=["vi"])


class Receipt(BaseModel):
    """Receipt and appointment slip (giấy tiếp nhận hồ sơ và hẹn trả kết quả)."""

    id: str = Field(description="Dossier id.", examples=["3f0c1c1e-8d6b-4b7e-9a57-3e2f4d1c2b10"])
    code: str = Field(description="Dossier code.", examples=["00070.TTHCC-261122-0001"])
    status: str = Field(description="Status.", examples=["received"])
    received_at: datetime = Field(description="When it was received.")
    due_at: datetime = Field(description="Appointment date (legal due date).")
    tracking_token: str | None = Field(
        description="Citizen's tracking token (shown only when the dossier is created).", examples=["rV2n0d9Q..."]
    )
    procedure_code: str = Field(description="Procedure.", examples=["LT-HT-001"])
    office_code: str = Field(description="Receiving office.", examples=["00070.TTHCC"])


class SupplementIn(BaseModel):
    """Documents supplied after a supplement request (bổ sung hồ sơ)."""

    model_config = ConfigDict(extra="forbid")
    documents: list[Document] = Field(min_length=1, max_length=50, description="Supplied documents.")
    note: str | None = Field(default=None, max_length=1000, description="Note from the citizen or clerk.")


class SupplementOut(BaseModel):
    """A recorded supplement."""

    supplement_id: str = Field(description="Supplement id.")
    code: str = Field(description="Dossier code.", examples=["00070.TTHCC-261122-0001"])
    received_at: datetime = Field(description="When it was received.")


class HistoryEntry(BaseModel):
    """One step of the dossier's life as seen from the filing office."""

    status: str = Field(description="Status after the step.", examples=["accepted"])
    action: str | None = Field(default=None, description="What happened.", examples=["accept"])
    at: datetime = Field(description="When.")
    office_code: str | None = Field(default=None, description="Office where it happened.", examples=["00070.UBND"])
    reason: str | None = Field(default=None, description="Reason, when given.")


class DossierView(BaseModel):
    """The filing office's view of a dossier."""

    id: str = Field(description="Dossier id.")
    code: str = Field(description="Dossier code.", examples=["00070.TTHCC-261122-0001"])
    procedure_code: str = Field(description="Procedure.", examples=["LT-HT-001"])
    status: str = Field(description="Current status.", examples=["in_process"])
    awaiting_supplement: bool = Field(description="True while a supplement is requested.")
    received_at: datetime = Field(description="When it was received.")
    due_at: datetime = Field(description="Current due date.")
    current_office_code: str | None = Field(description="Office now handling it.", examples=["00070.UBND"])
    history: list[HistoryEntry] = Field(description="Timeline.")


class ProcedureOut(BaseModel):
    """A procedure of the catalogue."""

    code: str = Field(examples=["LT-HT-001"], description="Procedure code.")
    national_code: str | None = Field(description="National procedure code, when verified.")
    name: str = Field(examples=["Đăng ký khai sinh"], description="Name (Vietnamese).")
    name_en: str = Field(examples=["Birth registration"], description="Name (English).")
    level: Literal["commune", "province"] = Field(description="Competent level.")
    processing_days: int = Field(examples=[0], description="Legal time in working days (0 = same working day).")
    boundary_free: bool = Field(description="May be filed anywhere in the province.")
    online: str = Field(examples=["full"], description="Online filing: full, partial or none.")
    competent_office_type: str = Field(examples=["UBND"], description="Kind of competent office.")
    required_documents: list[dict[str, object]] = Field(description="Documents: code, title, mandatory.")
    fees: list[dict[str, object]] = Field(description="Fees: title, amount_vnd.")
    chain: list[str] = Field(description="Next procedures of an inter-agency chain.")


class DueDateOut(BaseModel):
    """A computed appointment date."""

    procedure_code: str = Field(examples=["LT-KD-001"], description="Procedure.")
    received_at: datetime = Field(description="Receipt time used.")
    due_at: datetime = Field(description="Legal due date.")


class TicketIn(BaseModel):
    """Take a queue ticket."""

    model_config = ConfigDict(extra="forbid")
    service: str = Field(min_length=1, max_length=64, description="Service/counter group.", examples=["ho-tich"])


class CallIn(BaseModel):
    """A counter calls the next ticket."""

    model_config = ConfigDict(extra="forbid")
    counter: str = Field(min_length=1, max_length=32, description="Counter number/name.", examples=["3"])


class TicketOut(BaseModel):
    """A queue ticket."""

    number: int = Field(examples=[17], description="Ticket number (restarts daily).")
    centre: str = Field(examples=["00070.TTHCC"], description="Service centre.")
    day: str = Field(examples=["2026-11-22"], description="Day (Asia/Ho_Chi_Minh).")
    service: str = Field(examples=["ho-tich"], description="Service.")
    status: str = Field(examples=["waiting"], description="waiting, called or no_show.")
    counter: str | None = Field(default=None, description="Counter that called it.")
