"""Printed papers from dossiers that went through the four real processes: the Circular 01/2018 forms, the signed
result and its public verification (API and page in headless Chromium), the tracking page on a phone screen.

Every PDF is read as a person would: its text (pypdf) and its QR codes decoded from the rendered pixels
(pdftoppm + zxing-cpp).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pymongo.errors import OperationFailure

from shared.reference.legal_clock import VIETNAM_TZ
from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client, update_document
from tests.e2e.conftest import api_key, official
from tests.e2e.test_journey import FILED_AT, body, sms_for
from tests.support.browser import choose_file, chromium, needs_chromium, phone_screen, screenshot
from tests.support.infra import MONGO
from tests.support.pdf import needs_pdftoppm, pdf_attachments, pdf_text, qr_codes
from tests.support.processes import System
from tests.support.waiting import eventually

pytestmark = needs_pdftoppm

COMPETENT = "00070.UBND"  # Hoàn Kiếm's People's Committee decides births and building permits for sites there
COMPETENT_NAME = "Ủy ban nhân dân Phường Hoàn Kiếm"
FILED_NAME = "Trung tâm phục vụ hành chính công Phường Hoàn Kiếm"
SUPPLEMENT_REASON = "Thiếu bản vẽ mặt bằng móng công trình"
RESULT_TITLE = "Giấy phép xây dựng"
RESULT_CONTENT = "Cấp phép cho bà Trần Thị Bình xây dựng nhà ở riêng lẻ 3 tầng tại số 12 Hàng Bạc, Phường Hoàn Kiếm."
PERMIT = "LT-XD-001"  # construction permit: no inter-agency chain after it, one supplement request allowed


def vn(value: str) -> datetime:
    """An ISO time from an API answer, in Vietnam's time zone."""
    return datetime.fromisoformat(value).astimezone(VIETNAM_TZ)


def form_time(value: str) -> str:
    """How the forms print a time (``09 giờ 15 phút, ngày 23/11/2026``)."""
    t = vn(value)
    return f"{t:%H} giờ {t:%M} phút, ngày {t:%d/%m/%Y}"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(document: dict[str, Any]) -> bytes:
    """What the issuer signs, as its published rule says: sorted keys, no spaces, UTF-8 (written out here on purpose,
    so the check does not borrow the issuer's code)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def verify_offline(jwks: dict[str, Any], document: dict[str, Any], signature: str) -> bool:
    """A third party's check: only the published key set and the `cryptography` package."""
    jwk = next(k for k in jwks["keys"] if k["kid"] == document["key_id"] and k["office"] == document["office_code"])
    try:
        Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"])).verify(
            base64.b64decode(signature), canonical(document)
        )
    except InvalidSignature:
        return False
    return True


def tampered_pdf(pdf: bytes, *, keep_original: bool = False, **changes: Any) -> bytes:
    """The same pages with the embedded signed original edited (what a forger would do), signature kept; with
    ``keep_original`` the edited copy is added beside the genuine one."""
    payload = json.loads(pdf_attachments(pdf)["ket-qua.json"])
    payload["document"] |= changes
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    writer = pypdf.PdfWriter(clone_from=reader) if keep_original else pypdf.PdfWriter()
    if not keep_original:
        for page in reader.pages:
            writer.add_page(page)
    writer.add_attachment("ket-qua.json", json.dumps(payload, ensure_ascii=False).encode())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def _pdf(http: httpx.AsyncClient, url: str, **kwargs: Any) -> bytes:
    r = await http.get(url, **kwargs)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    return r.content


async def _step(http: httpx.AsyncClient, system: System, code: str, action: str, role: str, **body: Any) -> None:
    r = await http.post(
        f"{system['resolution'].url}/v1/dossiers/{code}/{action}", json=body or None, headers=official(COMPETENT, role)
    )
    assert r.status_code == 200, (action, r.text)


async def _file(
    http: httpx.AsyncClient, system: System, procedure: str = "LT-HT-001"
) -> tuple[dict[str, Any], dict[str, str]]:
    key = {"Authorization": f"Bearer {await api_key(system, FILED_AT)}"}
    filed = body(procedure, subject="00070" if procedure == PERMIT else None)
    r = await http.post(f"{system['intake'].url}/v1/dossiers", json=filed, headers=key)
    assert r.status_code == 201, r.text
    receipt = r.json()
    await eventually(
        lambda: http.get(
            f"{system['resolution'].url}/v1/dossiers/{receipt['code']}", headers=official(COMPETENT, "clerk")
        ),
        until=lambda x: x.status_code == 200,
        timeout=60,
    )
    return receipt, key


@pytest.fixture(scope="module")
async def returned(system: System) -> dict[str, Any]:
    """One building permit taken all the way: filed, supplement requested and given, approved, returned."""
    async with httpx.AsyncClient(timeout=60) as http:
        receipt, key = await _file(http, system, PERMIT)
        code = receipt["code"]
        res = system["resolution"].url
        forms = f"{res}/v1/dossiers/{code}/forms"
        early = await http.get(f"{forms}/supplement-request.pdf", headers=official(COMPETENT, "clerk"))
        await _step(http, system, code, "accept", "clerk")
        await _step(http, system, code, "request-supplement", "specialist", reason=SUPPLEMENT_REASON)
        supplement_request = await _pdf(http, f"{forms}/supplement-request.pdf", headers=official(COMPETENT, "clerk"))
        intake_view = f"{system['intake'].url}/v1/dossiers/{code}"
        await eventually(
            lambda: http.get(intake_view, headers=key), until=lambda x: x.json().get("awaiting_supplement") is True
        )
        document = {"code": "ban_ve_thiet_ke", "title": "Bản vẽ mặt bằng móng", "size": 10, "sha256": "e" * 64}
        supplied = await http.post(
            f"{intake_view}/supplements",
            json={"documents": [{**document, "content_type": "application/pdf"}]},
            headers=key,
        )
        assert supplied.status_code == 201, supplied.text
        await eventually(
            lambda: http.get(f"{res}/v1/dossiers/{code}", headers=official(COMPETENT, "clerk")),
            until=lambda x: x.json()["status"] == "supplement_received",
        )
        await _step(http, system, code, "process", "specialist")
        await _step(http, system, code, "approve", "leader", result_title=RESULT_TITLE, result_content=RESULT_CONTENT)
        await _step(http, system, code, "return", "clerk")
        case = (await http.get(f"{res}/v1/dossiers/{code}", headers=official(COMPETENT, "clerk"))).json()
        return {
            "receipt": receipt,
            "key": key,
            "case": case,
            "early_form": early,
            "supplement_request": supplement_request,
        }


async def test_receipt_slip_mau01_prints_the_receipt_with_the_tracking_qr(
    system: System, returned: dict[str, Any]
) -> None:
    """Mẫu 01 from intake: national header, office name, applicant, procedure, documents, fee line, due date in
    Vietnam time, the tracking token; its QR code opens the tracking page with code and token; a reprint is the
    same bytes; a wrong token or another office's key is refused."""
    receipt, key = returned["receipt"], returned["key"]
    code, token = receipt["code"], receipt["tracking_token"]
    url = f"{system['intake'].url}/v1/dossiers/{code}/forms/receipt.pdf"
    async with httpx.AsyncClient(timeout=60) as http:
        pdf = await _pdf(http, url, params={"token": token}, headers=key)
        again = await _pdf(http, url, params={"token": token}, headers=key)
        without_token = await _pdf(http, url, headers=key)
        wrong = await http.get(url, params={"token": "not-the-token-123"}, headers=key)
        elsewhere = {"Authorization": f"Bearer {await api_key(system, '00073.TTHCC')}"}
        foreign = await http.get(url, headers=elsewhere)
        procedure = (await http.get(f"{system['intake'].url}/v1/procedures/{PERMIT}")).json()
    text = pdf_text(pdf)
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Mẫu số 01",
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        f"Mã hồ sơ: {code}",
        FILED_NAME,
        "Trần Thị Bình",
        procedure["name"],
        "to_khai",
        "giay_to_dat",
        "ban_ve_thiet_ke",
        form_time(receipt["received_at"]),
        form_time(receipt["due_at"]),
        token,
    ):
        assert expected in text, expected
    assert "001303012345" not in text, "the slip does not need the citizen ID"
    tracking = f"{system['notify'].url}/track"
    assert qr_codes(pdf) == [f"{tracking}#code={code}&token={token}"]
    assert again == pdf, "the same state renders the same bytes"
    assert qr_codes(without_token) == [f"{tracking}#code={code}"] and token not in pdf_text(without_token)
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_tracking_token"
    assert foreign.status_code == 404


async def test_supplement_request_mau02_and_control_sheet_mau05(system: System, returned: dict[str, Any]) -> None:
    """Mẫu 02 exists only once a supplement was requested and carries its reason; Mẫu 05 lists every hand-over of
    the case with its timeliness; both link the tracking page by QR; another office's official gets 404."""
    code = returned["receipt"]["code"]
    assert returned["early_form"].status_code == 409 and returned["early_form"].json()["code"] == "form_not_applicable"
    tracking = f"{system['notify'].url}/track#code={code}"
    text = pdf_text(returned["supplement_request"])
    for expected in ("Mẫu số 02", "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", code, COMPETENT_NAME, SUPPLEMENT_REASON):
        assert expected in text, expected
    assert qr_codes(returned["supplement_request"]) == [tracking]
    forms = f"{system['resolution'].url}/v1/dossiers/{code}/forms"
    async with httpx.AsyncClient(timeout=60) as http:
        sheet = await _pdf(http, f"{forms}/control-sheet.pdf", headers=official(COMPETENT, "leader"))
        reprint = await _pdf(http, f"{forms}/control-sheet.pdf", headers=official(COMPETENT, "clerk"))
        foreign = await http.get(f"{forms}/control-sheet.pdf", headers=official("00073.UBND", "leader"))
        refusal = await http.get(f"{forms}/refusal.pdf", headers=official(COMPETENT, "leader"))
    text = pdf_text(sheet)
    for expected in (
        "Mẫu số 05",
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        code,
        FILED_NAME,
        COMPETENT_NAME,
        "Tiếp nhận hồ sơ",
        "Yêu cầu bổ sung hồ sơ",
        "Nhận hồ sơ bổ sung",
        "Phê duyệt, ký kết quả",
        "Trả kết quả",
        "đã trả kết quả",
    ):
        assert expected in text, expected
    assert "Trước hạn" in text or "Đúng hạn" in text
    assert "Thủ tục gắn với vị trí đối tượng" in text and "The procedure" not in text, "routing's reason, in Vietnamese"
    assert qr_codes(sheet) == [tracking]
    assert reprint == sheet, "the same state renders the same bytes"
    assert foreign.status_code == 404
    assert refusal.status_code == 409, "a returned dossier has no refusal notice"


async def test_signed_result_pdf_verifies_with_the_published_keys_only(
    system: System, returned: dict[str, Any]
) -> None:
    """The result PDF shows the signed text, office and signature; its QR opens the public check, which says valid;
    a third party verifies the embedded original with nothing but the JWKS; an edited original is 'tampered',
    an unknown id 'unknown', a file that is not a result 422."""
    result = returned["case"]["result"]
    res = system["resolution"].url
    assert result["verify_url"] == f"{res}/verify?id={result['document_id']}"
    async with httpx.AsyncClient(timeout=60, base_url=res) as http:
        pdf = await _pdf(http, f"/v1/results/{result['document_id']}/pdf")
        reprint = await _pdf(http, f"/v1/results/{result['document_id']}/pdf")
        jwks = (await http.get("/.well-known/jwks.json")).json()
        (qr,) = qr_codes(pdf)
        assert qr == f"{result['verify_url']}&sig={b64url(base64.b64decode(result['signature']))}"
        from_qr = await http.get(qr.replace(f"{res}/verify?id=", "/v1/results/").replace("&sig=", "/verification?sig="))
        signed = json.loads(pdf_attachments(pdf)["ket-qua.json"])
        forged = tampered_pdf(pdf, content=RESULT_CONTENT.replace("3 tầng", "7 tầng"))
        checked = await http.post("/v1/results/verify-pdf", content=pdf, headers={"content-type": "application/pdf"})
        tampered = await http.post(
            "/v1/results/verify-pdf", content=forged, headers={"content-type": "application/pdf"}
        )
        doubled = await http.post(
            "/v1/results/verify-pdf",
            content=tampered_pdf(pdf, keep_original=True, title="Giấy phép phá dỡ"),
            headers={"content-type": "application/pdf"},
        )
        bad_sig = await http.get(f"/v1/results/{result['document_id']}/verification", params={"sig": b64url(b"x" * 64)})
        unknown = await http.get(f"/v1/results/{uuid.uuid4()}/verification")
        not_pdf = await http.post("/v1/results/verify-pdf", content=b"PK\x03\x04 not a pdf")
    assert reprint == pdf, "the same signed result renders the same bytes"
    text = pdf_text(pdf)
    for expected in (RESULT_TITLE.upper(), RESULT_CONTENT, COMPETENT_NAME, returned["receipt"]["code"], "Ed25519"):
        assert expected in text, expected
    assert from_qr.status_code == 200, from_qr.text
    verdict = from_qr.json()
    assert (
        verdict["status"] == "valid" and verdict["office_name"] == COMPETENT_NAME and verdict["title"] == RESULT_TITLE
    )
    assert vn(verdict["issued_at"]).date() == vn(returned["case"]["finished_at"]).date()
    assert signed["document"]["key_id"] in {k["kid"] for k in jwks["keys"] if k["office"] == COMPETENT}
    assert verify_offline(jwks, signed["document"], signed["signature"])
    assert not verify_offline(jwks, {**signed["document"], "content": "changed"}, signed["signature"])
    assert checked.json()["status"] == "valid", checked.text
    assert tampered.json()["status"] == "tampered", tampered.text
    assert doubled.json()["status"] == "tampered", "a second, edited original beside the genuine one is not trusted"
    assert bad_sig.json()["status"] == "tampered"
    assert unknown.json()["status"] == "unknown"
    assert not_pdf.status_code == 422 and not_pdf.json()["code"] == "not_a_result_pdf"


async def test_result_link_reaches_the_citizen_and_tracking_log_mau06(system: System, returned: dict[str, Any]) -> None:
    """The result-ready and return SMS carry the verification link, the tracking API shows it with the due date and
    office names; notify prints the dossier's tracking log (Mẫu 06) for the token holder only."""
    receipt = returned["receipt"]
    code, token = receipt["code"], receipt["tracking_token"]
    verify_url = returned["case"]["result"]["verify_url"]
    track = f"{system['notify'].url}/v1/track/{code}"
    async with httpx.AsyncClient(timeout=60) as http:
        view = await eventually(
            lambda: http.get(track, params={"token": token}),
            until=lambda x: x.status_code == 200 and x.json()["timeline"][-1]["kind"] == "returned",
        )
        log = await _pdf(http, f"{track}/log.pdf", params={"token": token})
        wrong = await http.get(f"{track}/log.pdf", params={"token": "wrong-token-123"})
    tracking = view.json()
    assert tracking["result_url"] == verify_url
    assert tracking["office"] == COMPETENT_NAME and tracking["status"] == "returned" and tracking["due_at"]
    assert all(not (e["office"] or "").endswith((".UBND", ".TTHCC")) for e in tracking["timeline"])
    sms = await eventually(
        lambda: _now(sms_for(system, code)), until=lambda ls: sum(verify_url in s["text"] for s in ls) == 2
    )
    kinds = {e["event_id"]: e["kind"] for e in tracking["timeline"]}
    assert sorted(kinds[s["event_id"]] for s in sms if verify_url in s["text"]) == ["result_ready", "returned"]
    text = pdf_text(log)
    for expected in (
        "Mẫu số 06",
        "SỔ THEO DÕI HỒ SƠ",
        code,
        "Cấp giấy phép xây dựng",
        COMPETENT_NAME,
        "Đã trả kết quả",
    ):
        assert expected in text, expected
    assert form_time(receipt["received_at"]).split(", ngày ")[1] in text
    assert qr_codes(log) == [f"{system['notify'].url}/track#code={code}"]
    assert wrong.status_code == 404


async def _now(value: Any) -> Any:
    return value


async def test_refusal_notice_mau03_carries_the_reason(system: System) -> None:
    """A leader refuses: Mẫu 03 names the office and the written reason; its QR code opens the tracking page."""
    reason = "Giấy chứng sinh không do cơ sở y tế cấp"
    async with httpx.AsyncClient(timeout=60) as http:
        receipt, _ = await _file(http, system)
        await _step(http, system, receipt["code"], "reject", "leader", reason=reason)
        pdf = await _pdf(
            http,
            f"{system['resolution'].url}/v1/dossiers/{receipt['code']}/forms/refusal.pdf",
            headers=official(COMPETENT, "clerk"),
        )
    text = pdf_text(pdf)
    for expected in ("Mẫu số 03", "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ", receipt["code"], COMPETENT_NAME, reason):
        assert expected in text, expected
    assert qr_codes(pdf) == [f"{system['notify'].url}/track#code={receipt['code']}"]


async def test_apology_letter_mau04_has_the_new_appointment(system: System) -> None:
    """An overdue dossier's apology (due date moved into the past in the store, as if weeks had passed): Mẫu 04
    prints the old and the new appointment and the reason; its QR code opens the tracking page."""
    async with httpx.AsyncClient(timeout=60) as http:
        receipt, _ = await _file(http, system)
        code = receipt["code"]
        await _step(http, system, code, "accept", "clerk")
        client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
        try:
            past = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
            cases = client[f"{system.prefix}_resolution"]["cases"]

            async def move_due_date() -> Any:
                # the relay marking the case's event published may write at the same moment: a lost race is
                # refused by the store (version check) and simply tried again
                case = await cases.find_one({"dossier_code": code})
                with contextlib.suppress(OperationFailure):
                    await update_document(
                        cases,
                        case["_id"],
                        {"$set": {"due_at": past}, "$inc": {"version": 1}},
                        guard=lambda c: not c["overdue"],
                    )
                return await cases.find_one({"dossier_code": code})

            await eventually(move_due_date, until=lambda c: c["overdue"] or c["due_at"].replace(tzinfo=UTC) == past)
        finally:
            client.close()
        url = f"{system['resolution'].url}/v1/dossiers/{code}"
        await eventually(
            lambda: http.get(url, headers=official(COMPETENT, "clerk")), until=lambda x: x.json()["overdue"]
        )
        new_due = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
        r = await http.post(
            f"{url}/apology",
            json={"reason": "Cần xác minh thông tin khai sinh", "new_due_at": new_due.isoformat()},
            headers=official(COMPETENT, "leader"),
        )
        assert r.status_code == 200, r.text
        pdf = await _pdf(http, f"{url}/forms/apology.pdf", headers=official(COMPETENT, "clerk"))
    text = pdf_text(pdf)
    for expected in (
        "Mẫu số 04",
        "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        code,
        COMPETENT_NAME,
        "Cần xác minh thông tin khai sinh",
        form_time(new_due.isoformat()),
        form_time(past.isoformat()),
    ):
        assert expected in text, expected
    assert qr_codes(pdf) == [f"{system['notify'].url}/track#code={code}"]


VERDICT = "document.getElementById('verdict').dataset.status"
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@needs_chromium
async def test_verification_page_in_chromium(system: System, returned: dict[str, Any], tmp_path: Path) -> None:
    """In Chromium, no login: the QR link says valid with office and date; an altered signature, an edited PDF and
    an unknown id say tampered / tampered / unknown; the original PDF chosen as a file says valid. Screenshots of
    each state on a 390 px phone screen are kept in the test's folder."""
    result = returned["case"]["result"]
    res = system["resolution"].url
    async with httpx.AsyncClient(timeout=60) as http:
        pdf = await _pdf(http, f"{res}/v1/results/{result['document_id']}/pdf")
    (qr,) = qr_codes(pdf)
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(tampered_pdf(pdf, title="Giấy phép xây dựng (bản sửa)"))
    original = tmp_path / "original.pdf"
    original.write_bytes(pdf)
    sig = qr.partition("&sig=")[2]
    bad_sig = sig[:-2] + ("AA" if not sig.endswith("AA") else "BB")
    async with chromium(tmp_path) as page:
        await page.call("Page.enable")
        await phone_screen(page)

        async def open_page(url: str) -> None:
            await page.call("Page.navigate", url=url)
            await eventually(lambda: page.js("document.readyState"), until=lambda s: s == "complete")

        await open_page(qr)
        assert await eventually(lambda: page.js(VERDICT), until=lambda s: s != "none") == "valid"
        shown = await page.js("document.getElementById('verdict').innerText")
        assert "HỢP LỆ" in shown and COMPETENT_NAME in shown and RESULT_TITLE in shown
        assert vn(result_issued(returned)).strftime("%d/%m/%Y") in shown
        assert await page.js(NO_SIDEWAYS_SCROLL)
        await screenshot(page, tmp_path / "verify-valid.png")

        await open_page(qr.replace(sig, bad_sig))
        assert await eventually(lambda: page.js(VERDICT), until=lambda s: s != "none") == "tampered"
        assert "ĐÃ BỊ SỬA ĐỔI" in await page.js("document.getElementById('badge').innerText")

        await open_page(f"{res}/verify?id={uuid.uuid4()}")
        assert await eventually(lambda: page.js(VERDICT), until=lambda s: s != "none") == "unknown"

        await open_page(f"{res}/verify")
        await choose_file(page, "#file", forged)
        assert await eventually(lambda: page.js(VERDICT), until=lambda s: s != "none") == "tampered"
        await screenshot(page, tmp_path / "verify-tampered.png")
        await choose_file(page, "#file", original)
        assert await eventually(lambda: page.js(VERDICT), until=lambda s: s == "valid") == "valid"


def result_issued(returned: dict[str, Any]) -> str:
    """When the result was signed (the approve step of the case history)."""
    return next(h["at"] for h in returned["case"]["history"] if h["action"] == "approve")


@needs_chromium
async def test_tracking_page_on_a_phone_shows_due_date_offices_result_and_rating(
    system: System, returned: dict[str, Any], tmp_path: Path
) -> None:
    """In Chromium at 390 px: the page fits without sideways scrolling and shows the due date in Vietnam time, office
    names (no codes), the result link; the rating form sends the citizen's rating, once."""
    receipt = returned["receipt"]
    code, token = receipt["code"], receipt["tracking_token"]
    notify = system["notify"].url
    async with httpx.AsyncClient(timeout=60) as http:
        tracking = (
            await eventually(
                lambda: http.get(f"{notify}/v1/track/{code}", params={"token": token}),
                until=lambda x: x.status_code == 200 and x.json()["status"] == "returned",
            )
        ).json()
    async with chromium(tmp_path) as page:
        await page.call("Page.enable")
        await phone_screen(page)
        await page.call("Page.navigate", url=f"{notify}/track#code={code}&token={token}")
        await eventually(
            lambda: page.js("document.getElementById('s-status').textContent"), until=lambda s: s == "Đã trả kết quả"
        )
        due = vn(tracking["due_at"])
        assert await page.js("document.getElementById('s-due').textContent") == due.strftime("%H:%M %d/%m/%Y")
        assert await page.js("document.getElementById('s-office').textContent") == COMPETENT_NAME
        assert await page.js("document.getElementById('s-result').href") == returned["case"]["result"]["verify_url"]
        timeline = await page.js("document.getElementById('timeline').innerText")
        assert COMPETENT_NAME in timeline and ".UBND" not in timeline and ".TTHCC" not in timeline
        first = vn(tracking["timeline"][0]["at"])
        assert first.strftime("%H:%M %d/%m/%Y") in timeline, "times are Vietnam's, whatever the phone's zone"
        assert await page.js(NO_SIDEWAYS_SCROLL)
        await screenshot(page, tmp_path / "track-phone.png")
        await page.js("document.querySelector('#rating button').click(); true")
        outcome = "document.getElementById('rating-status').dataset.outcome"
        assert await eventually(lambda: page.js(outcome), until=lambda s: s is not None) == "sent"
        await page.js("document.querySelector('#rating button').click(); true")
        await eventually(lambda: page.js(outcome), until=lambda s: s == "already_rated")
