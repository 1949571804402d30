"""Mẫu 01 over the in-memory store: the slip prints what was filed, its QR code carries code and token."""

from __future__ import annotations

import httpx

from services.intake.settings import IntakeSettings
from tests.support.pdf import needs_pdftoppm, pdf_text, qr_codes
from tests.unit.intake.test_http import api_key, auth, client, dossier, store  # noqa: F401 - fixtures

SETTINGS_URL = IntakeSettings().tracking_page_url


@needs_pdftoppm
async def test_the_receipt_slip_prints_the_filing_and_links_the_tracking_page(
    client: httpx.AsyncClient,  # noqa: F811
    api_key: str,  # noqa: F811
) -> None:
    """Applicant, procedure, office and code are printed; the QR code opens the tracking page with code and token;
    another token than the dossier's is refused with 422."""
    receipt = (await client.post("/v1/dossiers", json=dossier(), headers=auth(api_key))).json()
    url = f"/v1/dossiers/{receipt['code']}/forms/receipt.pdf"
    pdf = await client.get(url, params={"token": receipt["tracking_token"]}, headers=auth(api_key))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    for expected in (
        "Mẫu số 01",
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "Nguyễn Văn An",
        dossier()["applicant"]["phone"],  # stored encrypted, printed in clear for the citizen
        "Đăng ký khai sinh",
        "Trung tâm phục vụ hành chính công Phường Hoàn Kiếm",
        receipt["code"],
    ):
        assert expected in text, expected
    assert qr_codes(pdf.content) == [f"{SETTINGS_URL}#code={receipt['code']}&token={receipt['tracking_token']}"]
    wrong = await client.get(url, params={"token": "x" * 22}, headers=auth(api_key))
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_tracking_token"
