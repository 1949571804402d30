"""Regression journeys for the defects found by using the running system (issue 14), through the four processes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import OPERATOR, api_key, official
from tests.e2e.test_journey import FILED_AT, body, sms_for
from tests.support.processes import System
from tests.support.waiting import eventually

QUANG_NINH_WARD = "07090"  # Phường An Sinh, Quảng Ninh


async def _value(value: Any) -> Any:
    return value


def land_transfer(subject: str) -> dict[str, Any]:
    """A land-use right transfer (LT-DD-002) for a parcel in commune ``subject``."""
    out = body("LT-HT-001")
    out["procedure_code"] = "LT-DD-002"
    out["subject"] = {"ward_code": subject}
    out["documents"] = [
        {"code": d, "title": d, "content_type": "application/pdf", "size": 100, "sha256": "e" * 64}
        for d in ("to_khai", "hop_dong_chuyen_nhuong", "giay_chung_nhan")
    ]
    return out


async def _file(http: httpx.AsyncClient, system: System, payload: dict[str, Any]) -> tuple[dict[str, Any], str]:
    key = await api_key(system, FILED_AT)
    r = await http.post(f"{system['intake'].url}/v1/dossiers", json=payload, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201, r.text
    return dict(r.json()), key


async def _case_at(http: httpx.AsyncClient, system: System, code: str, office: str) -> dict[str, Any]:
    r = await eventually(
        lambda: http.get(f"{system['resolution'].url}/v1/dossiers/{code}", headers=official(office, "clerk")),
        until=lambda x: x.status_code == 200,
        timeout=60,
    )
    return dict(r.json())


async def _intake_view(http: httpx.AsyncClient, system: System, code: str, key: str, *, until: Any) -> dict[str, Any]:
    r = await eventually(
        lambda: http.get(f"{system['intake'].url}/v1/dossiers/{code}", headers={"Authorization": f"Bearer {key}"}),
        until=lambda x: x.status_code == 200 and until(x.json()),
        timeout=60,
    )
    return dict(r.json())


async def _act(
    http: httpx.AsyncClient, system: System, code: str, office: str, action: str, role: str
) -> httpx.Response:
    return await http.post(
        f"{system['resolution'].url}/v1/dossiers/{code}/{action}",
        json={"reason": "e2e kiểm tra"},
        headers=official(office, role),
    )


async def test_land_in_quang_ninh_filed_in_ha_noi_is_resolved_in_quang_ninh(system: System) -> None:
    """Items 3, 6, 9: the transfer of a Quảng Ninh parcel filed at Hoàn Kiếm is routed to Quảng Ninh's department
    (not Hà Nội's); the route is found by the dossier code; the filing office's view names that office."""
    async with httpx.AsyncClient(timeout=30) as http:
        filed, key = await _file(http, system, land_transfer(QUANG_NINH_WARD))
        code = filed["code"]
        case = await _case_at(http, system, code, "P22.SNNMT")
        assert case["province_code"] == "22"
        hanoi = await http.get(f"{system['resolution'].url}/v1/dossiers/{code}", headers=official("P01.SNNMT", "clerk"))
        assert hanoi.status_code == 404
        route = await http.get(f"{system['routing'].url}/v1/dossiers/{code}/route", headers=OPERATOR)
        assert route.status_code == 200 and route.json()["current_office_code"] == "P22.SNNMT"
        view = await _intake_view(http, system, code, key, until=lambda v: v["current_office_code"] is not None)
        assert (view["status"], view["current_office_code"]) == ("routed", "P22.SNNMT")
        assert "Quảng Ninh" in view["current_office_name"]
        assert (await _act(http, system, code, "P22.SNNMT", "accept", "clerk")).status_code == 200
        accepted = await _intake_view(http, system, code, key, until=lambda v: v["status"] == "accepted")
        assert accepted["current_office_code"] == "P22.SNNMT"
        texts = await eventually(lambda: _value(sms_for(system, code)), until=lambda ls: len(ls) >= 3, timeout=30)
        accepted_sms = texts[-1]["text"]
        assert "Sở Nông nghiệp và Môi trường tỉnh Quảng Ninh" in accepted_sms and "P22.SNNMT" not in accepted_sms


async def test_parked_dossier_is_parked_in_the_filing_office_view_and_its_sms_is_vietnamese(system: System) -> None:
    """Items 4, 6: with the parcel's commune closed the dossier is parked: the filing office sees "parked" with no
    office, the citizen's SMS is Vietnamese only (no rule id) and within 4 segments; reopening routes it."""
    async with httpx.AsyncClient(timeout=30) as http:
        closed = await http.post(
            f"{system['routing'].url}/v1/offices/00004.UBND/status", json={"status": "closed"}, headers=OPERATOR
        )
        assert closed.status_code == 200, closed.text
        try:
            filed, key = await _file(http, system, body("LT-XD-001", subject="00004"))
            code = filed["code"]
            view = await _intake_view(http, system, code, key, until=lambda v: v["status"] == "parked")
            assert view["current_office_code"] is None
            texts = await eventually(lambda: _value(sms_for(system, code)), until=lambda ls: len(ls) >= 2, timeout=30)
            parked_sms = texts[-1]["text"]
            assert code in parked_sms and "cơ quan" in parked_sms
            assert not any(word in parked_sms for word in ("rule", "R10", "parked", "office"))
        finally:
            await http.post(
                f"{system['routing'].url}/v1/offices/00004.UBND/status", json={"status": "open"}, headers=OPERATOR
            )
        routed = await _intake_view(http, system, code, key, until=lambda v: v["status"] == "routed")
        assert routed["current_office_code"] == "00004.UBND"


async def test_transfer_to_a_named_office_tells_it_why(system: System) -> None:
    """Items 6, 7: the clerk transfers to 00073.UBND naming it; the case opens there with the first office and its
    reason; the filing office's view follows to the new office."""
    why = "Sai thẩm quyền: người nộp cư trú tại phường khác"
    async with httpx.AsyncClient(timeout=30) as http:
        filed, key = await _file(http, system, body("LT-HT-001"))
        code = filed["code"]
        await _case_at(http, system, code, "00070.UBND")
        r = await http.post(
            f"{system['resolution'].url}/v1/dossiers/{code}/transfer",
            json={"reason": why, "to_office": "00073.UBND"},
            headers=official("00070.UBND", "clerk"),
        )
        assert r.status_code == 200 and r.json()["status"] == "transferred", r.text
        arrived = await _case_at(http, system, code, "00073.UBND")
        assert arrived["transferred_from"] == {"office_code": "00070.UBND", "reason": why}
        view = await _intake_view(http, system, code, key, until=lambda v: v["current_office_code"] == "00073.UBND")
        assert view["status"] == "routed" and "transferred" in [h["status"] for h in view["history"]]


async def test_chain_is_returned_once_at_the_end_and_rated_then(system: System) -> None:
    """Item 2: birth → residence → insurance. Returning the first step's result is refused (chain continues) and
    the citizen hears "goes on to the next office", not "come and collect"; after the last step the result is
    returned once and the rating is accepted."""
    offices = ["00070.UBND", "00070.CA", "P01.BHXH"]
    async with httpx.AsyncClient(timeout=30) as http:
        filed, _ = await _file(http, system, body("LT-HT-001"))
        code = filed["code"]
        for step, office in enumerate(offices):
            await _case_at(http, system, code, office)
            for action, role in (("accept", "clerk"), ("process", "specialist"), ("approve", "leader")):
                assert (await _act(http, system, code, office, action, role)).status_code == 200, (office, action)
            if step == 0:
                early = await _act(http, system, code, office, "return", "clerk")
                assert (early.status_code, early.json()["code"]) == (409, "chain_continues"), early.text
                rating = await http.post(
                    f"{system['resolution'].url}/v1/dossiers/{code}/rating",
                    params={"token": filed["tracking_token"]},
                    json={"score": 5},
                )
                assert (rating.status_code, rating.json()["code"]) == (409, "not_returned")
        assert (await _act(http, system, code, offices[-1], "return", "clerk")).status_code == 200
        track = f"{system['notify'].url}/v1/track/{code}"
        final = await eventually(
            lambda: http.get(track, params={"token": filed["tracking_token"]}),
            until=lambda x: x.status_code == 200 and x.json()["timeline"][-1]["kind"] == "returned",
            timeout=60,
        )
        timeline = final.json()["timeline"]
        kinds = [e["kind"] for e in timeline]
        assert kinds.count("returned") == 1 and kinds.count("result_ready") == len(offices)
        steps = [(e["chain_step"], e["chain_steps"]) for e in timeline if e["kind"] == "result_ready"]
        assert steps == [(1, 3), (2, 3), (3, 3)]
        rating = await http.post(
            f"{system['resolution'].url}/v1/dossiers/{code}/rating",
            params={"token": filed["tracking_token"]},
            json={"score": 5},
        )
        assert rating.status_code == 200, rating.text
        texts = await eventually(
            lambda: _value(sms_for(system, code)), until=lambda ls: len(ls) >= len(kinds), timeout=30
        )
        ready_ids = [e["event_id"] for e in timeline if e["kind"] == "result_ready"]
        ready_sms = [next(t["text"] for t in texts if t["event_id"] == event_id) for event_id in ready_ids]
        assert all("chuyển tiếp" in t and "Mời nhận" not in t for t in ready_sms[:-1]), ready_sms
        assert "Mời nhận" in ready_sms[-1]
        assert sum("mời đánh giá" in t["text"] for t in texts) == 1
