"""Request and response bodies of the resolution API (every field described, with an example, for OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events import DossierStatus
from shared.reference.legal_clock import CalendarDatetime

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


def _f(description: str, example: Any) -> Any:
    return Field(description=description, examples=[example])


class ReasonCount(BaseModel):
    """A refusal reason and how many refusals gave it."""

    reason: str = _f("Reason as written in the refusal.", "Hồ sơ không thuộc thẩm quyền")
    count: int = _f("Refusals with that reason.", 2)


class Figures(BaseModel):
    """Operations-centre figures of one group (definitions: docs/operations-centre.md)."""

    received: int = _f("Dossiers received in the period (each once, whatever its transfers/chain steps).", 120)
    resolved: int = _f("Dossiers finished (result or refusal) in the period.", 80)
    resolved_on_time: int = _f("Resolved by the due date and never flagged overdue.", 78)
    resolved_late: int = _f("Resolved after the due date or ever flagged overdue.", 2)
    on_time_rate: float | None = _f("resolved_on_time / resolved.", 0.975)
    open: int = _f("Dossiers open now (not transferred away, refused, returned or withdrawn).", 35)
    overdue_now: int = _f("Open with the clock running and past the due date now.", 2)
    near_due: int = _f("Clock running, due within the next 8 working hours.", 4)
    avg_resolution_hours: float | None = _f("Mean working hours receipt → result, supplement pauses excluded.", 20.5)
    p90_resolution_hours: float | None = _f("90th percentile (nearest rank) of the same.", 38.0)
    avg_legal_hours: float | None = _f("Mean legal working hours of the resolved dossiers.", 40.0)
    supplement_requests: int = _f("Supplement requests made on dossiers received in the period.", 6)
    dossiers_with_supplement: int = _f("Dossiers received in the period with at least one request.", 5)
    dossiers_with_repeat_supplement: int = _f("... with more than one request.", 1)
    refused: int = _f("Dossiers refused in the period.", 3)
    refused_with_reason: int = _f("Refusals whose event carries a non-empty reason.", 3)
    refused_without_reason: int = _f("Refusals without a reason.", 0)
    online_full: int = _f("Received online for a fully-online procedure (toàn trình).", 60)
    online_partial: int = _f("Received online for a partly-online procedure (một phần).", 20)
    online_full_share: float | None = _f("online_full / received.", 0.5)
    online_partial_share: float | None = _f("online_partial / received.", 0.1667)
    online_share: float | None = _f("(online_full + online_partial) / received.", 0.6667)
    eid_share: float | None = _f("Not measured: no e-ID (VNeID) record exists (always null).", None)
    rated: int = _f("Ratings given in the period.", 50)
    satisfaction: float | None = _f("Mean rating (1–5).", 4.6)
    satisfied_share: float | None = _f("Ratings of 4 or 5 / ratings.", 0.9)
    not_dissatisfied_share: float | None = _f("Ratings above 2 / ratings (Decision 766's formula).", 0.96)
    apologies: int = _f("Apology letters issued in the period.", 1)
    ever_late: int = _f("Dossiers flagged overdue in the period.", 2)
    apologised_late: int = _f("Of those, dossiers that received an apology letter.", 1)
    signed_results: int = _f("Resolved with a digitally signed electronic result.", 77)
    approved: int = _f("Resolved with a result (not refused).", 77)
    running: int = _f("Open with the clock running now.", 30)
    online_resolved: int = _f("Online dossiers resolved in the period.", 50)
    online_resolved_on_time: int = _f("... of which on time.", 49)
    procedures: int = _f("Procedures seen in the group's cases.", 6)
    procedures_full_online: int = _f("... of which offered fully online.", 4)
    refusal_reasons: list[ReasonCount] = Field(description="Most frequent refusal reasons (up to 10).")


class GroupScore(BaseModel):
    """One of the five groups of Decision 766."""

    name: str = _f("Group name.", "Tiến độ, kết quả giải quyết")
    weight: float = _f("The Decision's weight of the group.", 20)
    score: float = _f("Points earned on measured criteria.", 14.2)
    attainable: float = _f("Points of the measured criteria with data.", 15)


class CriterionScore(BaseModel):
    """One of the 22 criteria."""

    code: str = _f("Criterion number.", "2.1")
    group: str = _f("Group key.", "progress")
    name: str = _f("Criterion (Vietnamese).", "Hồ sơ giải quyết đúng hạn")
    points: float = _f("Points of the criterion.", 8)
    status: str = _f("measured, no_data (nothing to divide by) or not_measured (no such data here).", "measured")
    score: float | None = _f("Points earned.", 7.8)
    numerator: int | None = Field(default=None, description="Numerator of the rate.", examples=[78])
    denominator: int | None = Field(default=None, description="Denominator of the rate.", examples=[80])
    why: str | None = Field(default=None, description="Why it is not measured.", examples=[None])


class ServiceIndex(BaseModel):
    """Decision 766/QĐ-TTg service index of one office, province or scope."""

    index: float | None = _f("100 × earned / attainable (null: nothing measurable).", 91.3)
    earned: float = _f("Points earned.", 45.6)
    attainable: float = _f("Points of the criteria measured with data.", 50)
    groups: dict[str, GroupScore] = Field(description="The five groups.")
    criteria: list[CriterionScore] = Field(description="The 22 criteria.")
    ranked: bool = _f("False below the minimum sample.", True)
    not_ranked_reason: str | None = _f("Why not ranked.", None)


class GroupFigures(Figures):
    """Figures of a province, commune, office or procedure."""

    key: str = _f("Province, commune, office or procedure code.", "00070.UBND")
    name: str | None = Field(default=None, description="Its name.", examples=["UBND Phường Hoàn Kiếm"])


class RankedFigures(GroupFigures):
    """An office's or province's figures with its index and rank."""

    service_index: ServiceIndex = Field(description="Decision 766 index.")
    rank: int | None = _f("1 = best; null = not ranked (too few resolved dossiers).", 1)


class TotalFigures(Figures):
    """The scope's totals."""

    service_index: ServiceIndex = Field(description="Decision 766 index of the whole scope.")


class DayFigures(BaseModel):
    """One local day of the series."""

    day: str = _f("Local date (Asia/Ho_Chi_Minh).", "2026-11-23")
    received: int = _f("Dossiers received that day.", 12)
    online_full: int = _f("... of which filed fully online.", 7)
    online_partial: int = _f("... of which filed partly online.", 2)
    resolved_on_time: int = _f("Dossiers resolved on time that day.", 9)
    resolved_late: int = _f("Dossiers resolved late that day.", 1)
    refused: int = _f("... of the resolved, refusals.", 1)
    apologies: int = _f("Apology letters issued that day.", 0)
    avg_resolution_hours: float | None = _f("Mean working hours receipt → result of that day's resolved.", 14.5)


class DueItem(BaseModel):
    """A dossier in the near-due or overdue list."""

    dossier_code: str = _f("Dossier code.", "00070.TTHCC-261123-0001")
    office_code: str = _f("Competent office.", "00070.UBND")
    office_name: str = _f("Its name.", "UBND Phường Hoàn Kiếm")
    procedure_code: str = _f("Procedure.", "LT-XD-001")
    procedure_name: str = _f("Its name.", "Cấp giấy phép xây dựng nhà ở riêng lẻ")
    status: DossierStatus = _f("Current status.", "in_process")
    due_at: datetime = _f("Appointment date.", EXAMPLE_TIME)
    working_hours_left: float | None = Field(default=None, description="Near due: working hours left.")
    working_hours_late: float | None = Field(default=None, description="Overdue: working hours past due.")
    apologised: bool | None = Field(default=None, description="Overdue: an apology letter was issued.")


class RankingRow(BaseModel):
    """A line of the ranking table."""

    key: str = _f("Office or province code.", "00070.UBND")
    name: str = _f("Its name.", "UBND Phường Hoàn Kiếm")
    rank: int | None = _f("1 = best; null = not ranked.", 1)
    index: float | None = _f("Index out of 100.", 91.3)
    ranked: bool = _f("False below the minimum sample.", True)
    not_ranked_reason: str | None = _f("Why not ranked.", None)
    resolved: int = _f("Resolved in the period.", 80)
    on_time_rate: float | None = _f("On-time rate.", 0.975)
    groups: dict[str, float | None] = Field(description="Points per group (null: nothing measurable in it).")


class Ranking(BaseModel):
    """Offices and provinces by service index."""

    min_sample: int = _f("Resolved dossiers needed to be ranked.", 5)
    offices: list[RankingRow] = Field(description="Offices, ranked first.")
    provinces: list[RankingRow] = Field(description="Provinces, ranked first.")


class ScopeOut(BaseModel):
    """What the official sees."""

    kind: str = _f("national, province or office.", "province")
    province_code: str | None = _f("Province (competent office's).", "01")
    office_code: str | None = _f("Office.", None)


class PeriodOut(BaseModel):
    """The reporting period."""

    from_: str = Field(alias="from", description="First local day.", examples=["2026-11-01"])
    to: str = _f("Last local day (inclusive).", "2026-11-30")
    timezone: str = _f("Time zone of the days.", "Asia/Ho_Chi_Minh")


class NotMeasured(BaseModel):
    """A figure the data cannot give."""

    figure: str = _f("Figure.", "eid_share")
    why: str = _f("Why.", "no e-ID record")


class StatsOut(BaseModel):
    """The operations-centre report."""

    scope: ScopeOut = Field(description="Scope from the official's token.")
    period: PeriodOut = Field(description="Reporting period.")
    as_of: datetime = _f("When the snapshot figures (open, overdue, near due) were taken.", EXAMPLE_TIME)
    totals: TotalFigures = Field(description="Totals of the scope.")
    by_province: list[RankedFigures] = Field(description="Per competent office's province.")
    by_commune: list[GroupFigures] = Field(description="Per applicant's commune/ward.")
    by_office: list[RankedFigures] = Field(description="Per office, ranked first.")
    by_procedure: list[GroupFigures] = Field(description="Per procedure.")
    by_day: list[DayFigures] = Field(description="Every day of the period.")
    overdue: list[DueItem] = Field(description="Overdue now, longest first (up to 100).")
    near_due: list[DueItem] = Field(description="Due within 8 working hours, soonest first (up to 100).")
    ranking: Ranking = Field(description="Decision 766 ranking.")
    not_measured: list[NotMeasured] = Field(description="Figures our data cannot give.")


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
