"""Resolution's control sheet (Mẫu 05) rendered from a case document: what a citizen or an auditor reads on it."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pypdf

from services.resolution.adapters.papers import form_pdf
from shared.papers import vn_short
from tests.support.pdf import pdf_text

ROUTED_REASON = (
    "Thủ tục gắn với vị trí đối tượng (thửa đất, công trình): cơ quan có thẩm quyền tại xã nơi có đối tượng 00070. / "
    "The procedure follows its subject's location: the competent office of the commune where the subject is (00070)."
)
RECEIVED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def case(history: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "dossier_code": "00070.TTHCC-261201-0001",
        "office_code": "00070.UBND",
        "procedure_code": "LT-XD-001",
        "procedure_name": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "received_at": RECEIVED,
        "due_at": RECEIVED + timedelta(days=21),
        "status": "in_process",
        "history": history,
    }


def pages(pdf: bytes) -> list[str]:
    return [" ".join((page.extract_text() or "").split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


async def test_the_routing_reason_is_printed_in_vietnamese_only() -> None:
    """Routing explains its choice as "<Vietnamese> / <English>": the form prints the Vietnamese; an official's own
    reason is printed as written, slashes and all."""
    pdf = await form_pdf(
        "control-sheet",
        case(
            [
                {"action": "routed", "by": "routing", "at": RECEIVED, "reason": ROUTED_REASON},
                {"action": "accept", "by": "clerk@00070.UBND", "at": RECEIVED + timedelta(hours=1)},
                {
                    "action": "request_supplement",
                    "by": "specialist@00070.UBND",
                    "at": RECEIVED + timedelta(hours=2),
                    "reason": "Thiếu bản vẽ mặt bằng / mặt cắt",
                },
            ]
        ),
        tracking_page_url="http://127.0.0.1:8004/track",
    )
    text = pdf_text(pdf)
    assert "cơ quan có thẩm quyền tại xã nơi có đối tượng 00070." in text
    assert "The procedure follows" not in text and "competent office" not in text
    assert "Thiếu bản vẽ mặt bằng / mặt cắt" in text


async def test_no_row_of_the_grid_is_split_across_two_pages() -> None:
    """A long history runs over several pages; each row stays whole on one page (its step, who did it and when)."""
    steps = ["accept", "process", "request_supplement", "supplement_received"]
    history = [
        {
            "action": steps[n % len(steps)],
            "by": f"official{n:02d}@00070.UBND",
            "at": RECEIVED + timedelta(minutes=7 * n + 1),
            "reason": "Ghi chú của cán bộ về bước xử lý này, đủ dài để xuống dòng trong ô. " * (n % 3),
        }
        for n in range(40)
    ]
    printed = pages(await form_pdf("control-sheet", case(history), tracking_page_url="http://127.0.0.1:8004/track"))
    assert len(printed) >= 3
    for n, row in enumerate(history):
        who = [i for i, page in enumerate(printed) if f"official{n:02d}@00070.UBND" in page]
        when = [i for i, page in enumerate(printed) if vn_short(row["at"]) in page]
        assert len(who) == 1 and who == when, (n, who, when)
