"""Request and response bodies of the resolution API (every field described, with an example, for OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events import DossierStatus
from shared.legal_clock import CalendarDatetime

EXAMPLE_TIME = "2026-11-23T09:15:00+07:00"


class ActionIn(BaseModel):
    """Body of an official's action (all fields optional)."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(
        default=None,
        max_length=2000,
        description="Reason, required (with at least one letter or digit) for refusals, supplement requests and "
        "transfers; 422 reason_required without it. Kept in the history and told to the citizen.",
        examples=["Thiếu bản chính giấy chứng sinh"],
    )
    to_next_step: bool = Field(
        default=False,
        description="Transfer: hand over to the next office of an inter-agency chain (not a wrong-office transfer).",
        examples=[False],
    )
    to_office: str | None = Field(
        default=None,
        max_length=32,
        description="Transfer: the office to hand it to (office code); routing sends it there when it is open, "
        "otherwise chooses by the jurisdiction rules.",
        examples=["00073.UBND"],
    )
    exclude_offices: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Transfer: office codes routing must not choose again.",
        examples=[["00070.UBND"]],
    )
    result_title: str | None = Field(
        default=None, max_length=300, description="Approve: title of the result document.", examples=["Giấy khai sinh"]
    )
    result_content: str | None = Field(
        default=None,
        max_length=20000,
        description="Approve: text of the result document (what is signed).",
        examples=["Cấp giấy phép xây dựng nhà ở riêng lẻ 3 tầng tại thửa đất số 12, tờ bản đồ số 5"],
    )


class ApologyIn(BaseModel):
    """A leader's apology letter (phiếu xin lỗi và hẹn lại ngày trả kết quả)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(
        min_length=3, max_length=2000, description="Why the dossier is late.", examples=["Cần xác minh thêm thông tin"]
    )
    new_due_at: CalendarDatetime | None = Field(
        default=None,
        description="New appointment date with a time-zone offset (years 2000–2100); default: the procedure's "
        "legal time from now.",
        examples=["2026-12-01T16:00:00+07:00"],
    )


class RatingIn(BaseModel):
    """The citizen's satisfaction rating."""

    model_config = ConfigDict(extra="forbid")
    score: int = Field(ge=1, le=5, description="1 (very unsatisfied) to 5 (very satisfied).", examples=[5])
    comment: str | None = Field(
        default=None, max_length=1000, description="Free text.", examples=["Cán bộ hướng dẫn tận tình"]
    )


class VerifyIn(BaseModel):
    """A result document and signature to verify."""

    model_config = ConfigDict(extra="forbid")
    document: dict[str, Any] = Field(
        description="The result document exactly as issued (`GET /v1/results/{id}` → `document`).",
        examples=[
            {
                "document_id": "1f0c2a9e-3b7d-4c55-9d0e-6a1b2c3d4e5f",
                "dossier_code": "00070.TTHCC-261123-0001",
                "procedure_code": "LT-XD-001",
                "office_code": "00070.UBND",
                "title": "Giấy phép xây dựng",
                "content": "Cấp giấy phép xây dựng nhà ở riêng lẻ 3 tầng",
                "issued_at": "2026-11-23T02:15:00+00:00",
            }
        ],
    )
    signature: str = Field(
        max_length=200, description="Base64 Ed25519 signature of the document.", examples=["q1o5...8w=="]
    )


class HistoryEntry(BaseModel):
    """One line of the case's append-only history (sổ theo dõi hồ sơ)."""

    status: DossierStatus = Field(description="Status after the entry.", examples=["accepted"])
    action: str = Field(description="What happened: routed, accept, overdue, apology, ...", examples=["accept"])
    at: datetime = Field(description="When.", examples=[EXAMPLE_TIME])
    by: str = Field(description="Official's `sub`, `system`, `citizen` or `routing`.", examples=["can-bo-tiep-nhan"])
    reason: str | None = Field(default=None, description="Reason given, if any.", examples=["Thiếu bản vẽ"])


class ApologyOut(BaseModel):
    """An issued apology letter."""

    letter: str = Field(description="Letter text (Circular 01/2018 form).", examples=["PHIẾU XIN LỖI VÀ HẸN LẠI ..."])
    reason: str = Field(description="Why the dossier is late.", examples=["Cần xác minh thêm thông tin"])
    new_due_at: datetime = Field(description="New appointment date.", examples=["2026-12-01T16:00:00+07:00"])
    issued_at: datetime = Field(description="When the letter was issued.", examples=[EXAMPLE_TIME])
    by: str = Field(description="Signing leader's `sub`.", examples=["lanh-dao-ubnd"])


class ResultOut(BaseModel):
    """A signed result attached on approval."""

    document_id: str = Field(description="Result document id.", examples=["1f0c2a9e-3b7d-4c55-9d0e-6a1b2c3d4e5f"])
    sha256: str = Field(description="SHA-256 of the canonical document.", examples=["9f86d08188..."])
    signature: str = Field(description="Base64 Ed25519 signature.", examples=["q1o5...8w=="])
    algorithm: str = Field(description="Signature algorithm.", examples=["Ed25519"])
    signed_by_office: str = Field(description="Office whose key signed.", examples=["00070.UBND"])
    verify_url: str | None = Field(
        default=None, description="Where the result can be fetched.", examples=["http://127.0.0.1:8003/v1/results/1f0c"]
    )


class RatingOut(BaseModel):
    """A citizen's rating."""

    score: int = Field(description="1–5.", examples=[5])
    comment: str | None = Field(default=None, description="Free text.", examples=["Nhanh chóng"])
    at: datetime = Field(description="When it was given.", examples=[EXAMPLE_TIME])


class TransferredFrom(BaseModel):
    """The office that transferred the dossier here, with its reason (lý do chuyển)."""

    office_code: str | None = Field(description="Transferring office.", examples=["00070.UBND"])
    reason: str | None = Field(description="Its reason.", examples=["Sai thẩm quyền: thửa đất thuộc phường khác"])


class CaseOut(BaseModel):
    """One dossier's case at the official's office."""

    id: str = Field(description="Case id (the routing decision id).", examples=["6b1d0c8e-0a43-4c1e-b1f4-0d4b8a1c2e3f"])
    dossier_id: str = Field(description="Dossier id.", examples=["0b8e2f3a-5c6d-4e7f-8a9b-0c1d2e3f4a5b"])
    dossier_code: str = Field(description="Dossier code (mã hồ sơ).", examples=["00070.TTHCC-261123-0001"])
    office_code: str = Field(description="Office handling the case.", examples=["00070.UBND"])
    office_name: str | None = Field(default=None, description="Office name.", examples=["UBND Phường Hoàn Kiếm"])
    procedure_code: str = Field(description="Procedure code.", examples=["LT-XD-001"])
    procedure_name: str | None = Field(default=None, description="Procedure name.", examples=["Cấp giấy phép xây dựng"])
    processing_days: int = Field(description="Legal time in working days.", examples=[15])
    province_code: str = Field(description="Province code.", examples=["01"])
    applicant_ward_code: str | None = Field(default=None, description="Applicant's commune/ward.", examples=["00070"])
    channel: str = Field(description="counter, online or postal.", examples=["online"])
    status: DossierStatus = Field(description="Current status.", examples=["in_process"])
    version: int = Field(description="Increases with every change.", examples=[3])
    received_at: datetime = Field(description="When the dossier was received.", examples=[EXAMPLE_TIME])
    routed_at: datetime = Field(description="When routing chose this office.", examples=[EXAMPLE_TIME])
    due_at: datetime = Field(description="Current appointment date.", examples=["2026-12-14T09:15:00+07:00"])
    original_due_at: datetime = Field(
        description="Appointment date at receipt.", examples=["2026-12-14T09:15:00+07:00"]
    )
    paused_at: datetime | None = Field(default=None, description="Clock paused since (supplement).", examples=[None])
    paused_hours: float = Field(description="Working hours paused so far.", examples=[8.0])
    supplement_requests: int = Field(description="Supplement requests made.", examples=[1])
    overdue: bool = Field(description="Past due and not yet apologised for.", examples=[False])
    overdue_at: datetime | None = Field(default=None, description="When it was flagged overdue.", examples=[None])
    apology: ApologyOut | None = Field(default=None, description="Apology letter, if issued.")
    result: ResultOut | None = Field(default=None, description="Signed result, once approved.")
    rating: RatingOut | None = Field(default=None, description="Citizen's rating, once given.")
    finished_at: datetime | None = Field(default=None, description="When approved or refused.", examples=[None])
    transferred_from: TransferredFrom | None = Field(
        default=None, description="When another office transferred it here: which, and why."
    )
    chain: list[str] = Field(
        default_factory=list,
        description="Procedures of the inter-agency chain this case is a step of (empty: no chain).",
        examples=[["LT-HT-001", "LT-CT-001", "LT-BH-001"]],
    )
    chain_step: int = Field(
        default=0,
        description="This case's step in the chain (0 = first); only the last step returns the result.",
        examples=[0],
    )
    history: list[HistoryEntry] = Field(description="Append-only history, oldest first.")


class WorklistOut(BaseModel):
    """A page of the office's worklist."""

    office: str = Field(description="The official's office.", examples=["00070.UBND"])
    items: list[CaseOut] = Field(description="Cases, overdue first, then by due date.")


class SignedResultOut(BaseModel):
    """A published result with what is needed to check it."""

    document: dict[str, Any] = Field(description="The signed document (canonical JSON is what was signed).")
    signature: str = Field(description="Base64 Ed25519 signature.", examples=["q1o5...8w=="])
    algorithm: str = Field(description="Signature algorithm.", examples=["Ed25519"])
    public_key_pem: str = Field(
        description="The issuing office's public key.", examples=["-----BEGIN PUBLIC KEY-----\n..."]
    )


class VerifyOut(BaseModel):
    """Outcome of a verification."""

    valid: bool = Field(description="True when the office's key signed exactly this document.", examples=[True])


class ServiceIndex(BaseModel):
    """Per-office index out of 100 in the spirit of Decision 766/QĐ-TTg."""

    progress: float = Field(description="On-time rate × 20.", examples=[19.5])
    online: float = Field(description="Online share × 22.", examples=[17.6])
    digitisation: float = Field(description="Signed electronic results (or reasoned refusals) × 22.", examples=[22.0])
    satisfaction: float = Field(description="Mean rating / 5 × 18.", examples=[16.2])
    transparency: float = Field(description="Overdue cases apologised for × 18.", examples=[18.0])
    total: float = Field(description="Sum, out of 100.", examples=[93.3])


class Figures(BaseModel):
    """Operations-centre figures of one group (office, procedure or commune)."""

    key: str | None = Field(description="Office code, procedure code or commune code.", examples=["00070.UBND"])
    received: int = Field(description="Cases received.", examples=[120])
    in_process: int = Field(description="Accepted, in process or waiting for a supplement.", examples=[30])
    open: int = Field(description="Not yet transferred, refused, returned or withdrawn.", examples=[35])
    overdue: int = Field(description="Open and overdue now (no apology yet).", examples=[2])
    ever_overdue: int = Field(description="Ever flagged overdue.", examples=[3])
    apologised: int = Field(description="Apology letters issued.", examples=[1])
    finished: int = Field(description="Result ready, returned or refused.", examples=[80])
    on_time: int = Field(description="Finished by the due date and never overdue.", examples=[78])
    on_time_rate: float | None = Field(description="on_time / finished.", examples=[0.975])
    online_share: float | None = Field(description="Online filings / received.", examples=[0.8])
    avg_processing_hours: float | None = Field(description="Mean working hours receipt → finish.", examples=[20.5])
    avg_legal_hours: float | None = Field(description="Mean legal working hours of the same cases.", examples=[40.0])
    signed: int = Field(description="Signed results plus reasoned refusals.", examples=[80])
    rated: int = Field(description="Ratings received.", examples=[50])
    satisfaction: float | None = Field(description="Mean rating (1–5).", examples=[4.6])


class OfficeFigures(Figures):
    """An office's figures with its service index and rank."""

    service_index: ServiceIndex = Field(description="Decision 766-style index.")
    rank: int = Field(description="Rank by service index (1 = best).", examples=[1])


class StatsOut(BaseModel):
    """Operations-centre figures."""

    by_office: list[OfficeFigures] = Field(description="Per office, best service index first.")
    by_procedure: list[Figures] = Field(description="Per procedure.")
    by_commune: list[Figures] = Field(description="Per applicant's commune/ward.")


class VerificationOut(BaseModel):
    """What the public verification page shows about a result."""

    status: Literal["valid", "tampered", "unknown"] = Field(
        description="valid: the issuing office's published key signed exactly this document; tampered: the "
        "document or signature was changed; unknown: no such result, or no published key with its key id.",
        examples=["valid"],
    )
    reason: str = Field(description="Why, in one sentence.", examples=["the issuing office's key signed exactly this"])
    document_id: str | None = Field(default=None, description="Result id.", examples=["1f0c2a9e-3b7d-4c55-9d0e"])
    dossier_code: str | None = Field(default=None, description="Dossier code.", examples=["00070.TTHCC-261123-0001"])
    office_code: str | None = Field(default=None, description="Issuing office.", examples=["00070.UBND"])
    office_name: str | None = Field(
        default=None, description="Issuing office's name.", examples=["Ủy ban nhân dân Phường Hoàn Kiếm"]
    )
    issued_at: datetime | None = Field(default=None, description="When it was signed.", examples=[EXAMPLE_TIME])
    title: str | None = Field(default=None, description="Title of the result.", examples=["Giấy khai sinh"])
    content: str | None = Field(default=None, description="Signed text (for comparison with the paper).")
    key_id: str | None = Field(default=None, description="Key id (JWK thumbprint) that signed.", examples=["kR3…"])
    pdf_url: str | None = Field(default=None, description="The result as PDF.", examples=["/v1/results/1f0c/pdf"])


class JwkOut(BaseModel):
    """One published Ed25519 public key (RFC 8037 OKP JWK) of an office."""

    kty: Literal["OKP"] = Field(description="Key type.", examples=["OKP"])
    crv: Literal["Ed25519"] = Field(description="Curve.", examples=["Ed25519"])
    x: str = Field(description="Public key, base64url.", examples=["11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"])
    kid: str = Field(description="RFC 7638 thumbprint; results name it as `key_id`.", examples=["kR3…"])
    use: Literal["sig"] = Field(description="Signatures.", examples=["sig"])
    alg: Literal["EdDSA"] = Field(description="Algorithm.", examples=["EdDSA"])
    office: str = Field(description="Office the key belongs to.", examples=["00070.UBND"])
    status: Literal["active", "retired"] = Field(
        description="active signs new results; retired keys stay published so older papers still verify.",
        examples=["active"],
    )


class JwksOut(BaseModel):
    """The published key set."""

    keys: list[JwkOut] = Field(description="Every office's keys, active and retired.")
