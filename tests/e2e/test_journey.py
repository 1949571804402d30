"""One dossier from the front office to the citizen's phone, through four real service processes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from tests.e2e.conftest import api_key, official
from tests.support.processes import System
from tests.support.waiting import eventually

FILED_AT = "00070.TTHCC"  # Phường Hoàn Kiếm service centre, Hà Nội


def body(procedure: str, *, subject: str | None = None, phone: str = "0912345678") -> dict[str, Any]:
    docs = {
        "LT-DD-001": ["to_khai", "giay_to_nguon_goc"],
        "LT-HT-001": ["to_khai", "giay_chung_sinh"],
        "LT-XD-001": ["to_khai", "giay_to_dat", "ban_ve_thiet_ke"],
    }[procedure]
    out: dict[str, Any] = {
        "procedure_code": procedure,
        "channel": "online",
        "applicant": {
            "full_name": "Trần Thị Bình",
            "citizen_id": "001303012345",
            "phone": phone,
            "address": {"ward_code": "00070"},
        },
        "documents": [
            {"code": d, "title": d, "content_type": "application/pdf", "size": 100, "sha256": "c" * 64} for d in docs
        ],
    }
    if subject:
        out["subject"] = {"ward_code": subject}
    return out


def sms_for(system: System, code: str) -> list[dict[str, Any]]:
    if not system.sms_outbox.exists():
        return []
    return [
        line
        for line in map(json.loads, system.sms_outbox.read_text("utf-8").splitlines())
        if line["dossier_code"] == code
    ]


async def _now(value: Any) -> Any:
    return value


async def test_boundary_free_filing_resolved_in_another_commune(system: System) -> None:
    """Filed in Hoàn Kiếm for a parcel elsewhere: routed there, resolved, returned; the citizen hears every step."""
    key = await api_key(system, FILED_AT)
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(
            f"{system['intake'].url}/v1/dossiers",
            json=body("LT-DD-001", subject="00004"),
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 201, r.text
        receipt = r.json()
        code, token = receipt["code"], receipt["tracking_token"]
        leader, clerk, specialist = (official("00004.UBND", role) for role in ("leader", "clerk", "specialist"))
        res = system["resolution"].url

        case = await eventually(
            lambda: http.get(f"{res}/v1/dossiers/{code}", headers=clerk),
            until=lambda x: x.status_code == 200,
            timeout=30,
        )
        assert case.json()["office_code"] == "00004.UBND", "resolved where the parcel is, not where it was filed"
        assert (
            await http.get(f"{res}/v1/dossiers/{code}", headers=official("00070.UBND", "leader"))
        ).status_code == 404

        for action, who in (("accept", clerk), ("process", specialist), ("request-supplement", specialist)):
            step = await http.post(
                f"{res}/v1/dossiers/{code}/{action}", json={"reason": "Thiếu sơ đồ thửa đất"}, headers=who
            )
            assert step.status_code == 200, step.text
        due_before = step.json()["due_at"]

        intake_view = f"{system['intake'].url}/v1/dossiers/{code}"
        auth = {"Authorization": f"Bearer {key}"}
        await eventually(
            lambda: http.get(intake_view, headers=auth),
            until=lambda x: x.json().get("awaiting_supplement") is True,
            timeout=30,
        )
        supplement = {
            "documents": [
                {
                    "code": "so_do_thua_dat",
                    "title": "Sơ đồ",
                    "content_type": "application/pdf",
                    "size": 10,
                    "sha256": "d" * 64,
                }
            ]
        }
        assert (await http.post(f"{intake_view}/supplements", json=supplement, headers=auth)).status_code == 201
        resumed = await eventually(
            lambda: http.get(f"{res}/v1/dossiers/{code}", headers=clerk),
            until=lambda x: x.json()["status"] == "supplement_received",
            timeout=30,
        )
        assert resumed.json()["due_at"] >= due_before and resumed.json()["paused_hours"] >= 0

        for action, who in (("process", specialist), ("approve", leader), ("return", clerk)):
            step = await http.post(f"{res}/v1/dossiers/{code}/{action}", headers=who)
            assert step.status_code == 200, step.text

        track = f"{system['notify'].url}/v1/track/{code}"
        final = await eventually(
            lambda: http.get(track, params={"token": token}),
            until=lambda x: x.status_code == 200 and x.json()["timeline"][-1]["kind"] == "returned",
            timeout=30,
        )
        kinds = [e["kind"] for e in final.json()["timeline"]]
        assert kinds == [
            "received",
            "routed",
            "accepted",
            "in_process",
            "supplement_requested",
            "supplement_received",
            "in_process",
            "result_ready",
            "returned",
        ]
        texts = await eventually(
            lambda: _now(sms_for(system, code)), until=lambda ls: len(ls) == len(kinds), timeout=30
        )
        assert all(code in t["text"] for t in texts) and len({t["event_id"] for t in texts}) == len(kinds)
        rating = await http.post(f"{res}/v1/dossiers/{code}/rating", params={"token": token}, json={"score": 5})
        assert rating.status_code == 200
        assert (await http.get(track, params={"token": "wrong-token-123"})).status_code == 404
        assert hashlib.sha256(token.encode()).hexdigest() not in final.text


async def test_refusal_reaches_the_citizen(system: System) -> None:
    """A leader refuses a dossier with a reason; the citizen's SMS and timeline carry it."""
    key = await api_key(system, FILED_AT)
    async with httpx.AsyncClient(timeout=30) as http:
        receipt = (
            await http.post(
                f"{system['intake'].url}/v1/dossiers",
                json=body("LT-HT-001"),
                headers={"Authorization": f"Bearer {key}"},
            )
        ).json()
        code = receipt["code"]
        leader = official("00070.UBND", "leader")
        await eventually(
            lambda: http.get(f"{system['resolution'].url}/v1/dossiers/{code}", headers=leader),
            until=lambda x: x.status_code == 200,
            timeout=30,
        )
        refused = await http.post(
            f"{system['resolution'].url}/v1/dossiers/{code}/reject",
            json={"reason": "Giấy chứng sinh không hợp lệ"},
            headers=leader,
        )
        assert refused.json()["status"] == "refused"
        texts = await eventually(
            lambda: _now(sms_for(system, code)),
            until=lambda ls: any("không hợp lệ" in t["text"] for t in ls),
            timeout=30,
        )
        assert texts[-1]["text"].startswith("LienThong: Hồ sơ") and code in texts[-1]["text"]


async def test_logs_hold_no_personal_data(system: System) -> None:
    """Everything the four services logged so far contains neither the citizen ID nor the phone number."""
    logs = system.logs()
    assert "dossier_received" in logs
    for secret in ("001303012345", "0912345678"):
        assert secret not in logs
