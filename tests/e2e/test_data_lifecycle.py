"""Erasure of a citizen's personal data and archiving of finished dossiers, after the real pipeline.

A dossier goes through the four service processes (filed, routed, resolved, returned, rated), then the
operators' CLI erases its applicant's personal data: no document in any of the four databases holds the
name, citizen ID, phone, e-mail or the rating's words any more — in clear, keyed-hashed or encrypted —
while the dossier's legal record still answers through every service's API, and each service audited it.
Archiving then moves the finished dossier's documents out of all four live stores and leaves the open one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.data_cli import SERVICES
from services.intake.settings import IntakeSettings
from services.notify.settings import NotifySettings
from shared.lifecycle import ERASED, archive_finished
from shared.pii import PersonalDataKeys
from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client
from tests.e2e.conftest import api_key, official
from tests.e2e.test_journey import body
from tests.support.infra import MONGO
from tests.support.pdf import pdf_text
from tests.support.processes import System
from tests.support.waiting import eventually

FILED_AT = "00070.TTHCC"
OFFICE = "00070.UBND"
LIENTHONG = Path(sys.executable).with_name("lienthong")
CITIZEN = {"full_name": "Trần Thị Bình", "citizen_id": "001303012345", "phone": "0912345678"}
EMAIL = "tran.thi.binh@example.vn"
COMMENT = "Chị Trần Thị Bình rất hài lòng"
OTHER = {"full_name": "Lê Văn Cường", "citizen_id": "001203099999", "phone": "0987654321"}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _cli_env(system: System) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "MONGODB_"))}
    return {**env, **{k: v for k, v in system["intake"].env.items() if k.endswith("_MONGODB_DATABASE")}} | {
        "MONGODB_URL": MONGO
    }


def _cli(system: System, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LIENTHONG), "data", *args], env=_cli_env(system), capture_output=True, text=True, timeout=180
    )


async def _every_document(system: System) -> dict[str, list[dict[str, Any]]]:
    """Every document of every collection of the run's four databases, by ``service.collection``."""
    client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
    try:
        found: dict[str, list[dict[str, Any]]] = {}
        for service in ("intake", "routing", "resolution", "notify"):
            db = client[f"{system.prefix}_{service}"]
            for name in await db.list_collection_names():
                found[f"{service}.{name}"] = await db[name].find({}).to_list(None)
        return found
    finally:
        client.close()


def _personal_traces(documents: dict[str, list[dict[str, Any]]], person: Mapping[str, str], email: str) -> list[str]:
    """Where the person's data shows in the stores: in clear, as a keyed hash, or encrypted (any service key)."""
    env = {k.lower(): v for k, v in os.environ.items()}
    keys = [PersonalDataKeys.from_settings(cls(**env)) for cls in (IntakeSettings, NotifySettings)]
    clear = {person["full_name"], person["citizen_id"], person["phone"], email, COMMENT}
    hashed = {keys[0].hash(v) for v in (person["citizen_id"], person["phone"], email)}
    traces = []
    for where, docs in documents.items():
        for doc in docs:
            for text in _strings(doc):
                if any(secret in text for secret in clear) or text in hashed:
                    traces.append(f"{where}/{doc['_id']}: {text[:30]}")
                elif text.startswith("v1."):
                    for key in keys:
                        try:
                            opened = key.at_rest.decrypt(text)
                        except Exception:  # another key's or not a token: not this person's then
                            continue
                        if opened in clear:
                            traces.append(f"{where}/{doc['_id']}: encrypted {opened[:3]}…")
    return traces


async def _file(http: httpx.AsyncClient, system: System, key: str, person: Mapping[str, str], email: str) -> Any:
    filing = body("LT-XD-001", subject="00070", phone=person["phone"])
    filing["applicant"] |= {"full_name": person["full_name"], "citizen_id": person["citizen_id"], "email": email}
    filing["applicant"]["address"]["detail"] = "12 Hàng Bài"
    filing["notify"] = {"sms": True, "email": True, "app": True}
    r = await http.post(f"{system['intake'].url}/v1/dossiers", json=filing, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201, r.text
    return r.json()


async def test_erasure_then_archiving_across_the_four_stores(system: System) -> None:
    """Personal data erased in all four stores, the legal record kept and audited; then the dossier archived."""
    key = await api_key(system, FILED_AT)
    filer = {"Authorization": f"Bearer {key}"}
    res, intake, notify = system["resolution"].url, system["intake"].url, system["notify"].url
    async with httpx.AsyncClient(timeout=30) as http:
        receipt = await _file(http, system, key, CITIZEN, EMAIL)
        other = await _file(http, system, key, OTHER, "le.van.cuong@example.vn")
        code, token = receipt["code"], receipt["tracking_token"]
        clerk = official(OFFICE, "clerk")
        await eventually(
            lambda: http.get(f"{res}/v1/dossiers/{code}", headers=clerk), until=lambda x: x.status_code == 200
        )
        for action, role in (
            ("accept", "clerk"),
            ("process", "specialist"),
            ("approve", "leader"),
            ("return", "clerk"),
        ):
            step = await http.post(f"{res}/v1/dossiers/{code}/{action}", headers=official(OFFICE, role))
            assert step.status_code == 200, (action, step.text)
        await eventually(
            lambda: http.get(f"{notify}/v1/track/{code}", params={"token": token}),
            until=lambda x: x.status_code == 200 and x.json().get("status") == "returned",
        )
        rated = await http.post(
            f"{res}/v1/dossiers/{code}/rating", params={"token": token}, json={"score": 5, "comment": COMMENT}
        )
        assert rated.status_code == 200, rated.text
        await eventually(  # notify has the contact of the other dossier too (the control)
            lambda: http.get(f"{notify}/v1/track/{other['code']}", params={"token": other["tracking_token"]}),
            until=lambda x: x.status_code == 200,
        )

        before = _personal_traces(await _every_document(system), CITIZEN, EMAIL)
        assert any(t.startswith("intake.") for t in before) and any(t.startswith("notify.") for t in before)
        assert any(t.startswith("resolution.") for t in before), "the rating's words are in resolution"

        erased = _cli(system, "erase", "--citizen-id", CITIZEN["citizen_id"], "--reason", "YC-2026-001")
        assert erased.returncode == 0, erased.stdout + erased.stderr
        assert "1 dossier(s)" in erased.stdout
        assert CITIZEN["citizen_id"] not in erased.stdout + erased.stderr

        after = await _every_document(system)
        assert _personal_traces(after, CITIZEN, EMAIL) == []
        assert _personal_traces(after, OTHER, "le.van.cuong@example.vn"), "the other citizen's data stays"

        # the legal record answers as before, through each service's API
        view = (await http.get(f"{intake}/v1/dossiers/{code}", headers=filer)).json()
        assert view["status"] == "returned" and view["code"] == code and view["due_at"]
        # the receipt slip (Mẫu 01) is printed again from the record: the applicant's name now reads erased
        slip = await http.get(f"{intake}/v1/dossiers/{code}/forms/receipt.pdf", headers=filer)
        assert slip.status_code == 200, slip.text
        slip_text = pdf_text(slip.content)
        assert code in slip_text and ERASED in slip_text and CITIZEN["full_name"] not in slip_text
        assert CITIZEN["phone"] not in slip_text
        control = await http.get(f"{intake}/v1/dossiers/{other['code']}/forms/receipt.pdf", headers=filer)
        assert OTHER["full_name"] in pdf_text(control.content)
        found = await http.get(f"{intake}/v1/dossiers", params={"citizen_id": CITIZEN["citizen_id"]}, headers=filer)
        assert found.status_code == 200 and found.json() == []
        case = (await http.get(f"{res}/v1/dossiers/{code}", headers=clerk)).json()
        assert case["status"] == "returned" and case["result"] and case["rating"]["score"] == 5
        assert case["rating"]["comment"] == ERASED
        timeline = await http.get(f"{notify}/v1/track/{code}", params={"token": token})
        assert timeline.status_code == 200 and timeline.json()["status"] == "returned"

        for service in ("intake", "routing", "resolution", "notify"):
            audit = await http.get(
                f"{system[service].url}/v1/audit",
                params={"action": "personal_data.erase"},
                headers=official(OFFICE, "auditor"),
            )
            assert audit.status_code == 200, (service, audit.text)
            (record,) = audit.json()["items"]
            assert record["details"]["reason"] == "YC-2026-001" and record["details"]["dossiers"] == [receipt["id"]]
            assert CITIZEN["citizen_id"] not in str(record)

        again = _cli(system, "erase", "--citizen-id", CITIZEN["citizen_id"], "--reason", "YC-2026-001")
        assert again.returncode == 0 and "0 dossier(s)" in again.stdout, again.stdout + again.stderr

        # archiving: the CLI refuses a period shorter than the event topics' retention
        refused = _cli(system, "archive", "--older-than-days", "1")
        assert refused.returncode == 2 and "retention" in refused.stderr
        # the library moves what finished before a moment (a year from now stands for "long ago")
        client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
        try:
            moved = {}
            for lifecycle, _ in SERVICES:
                db = client[f"{system.prefix}_{lifecycle.service}"]
                report = await archive_finished(db, lifecycle, before=datetime.now(UTC) + timedelta(days=1), grace=0.5)
                moved[lifecycle.service] = report.moved
        finally:
            client.close()
        assert moved["intake"]["dossiers"] == 1 and moved["resolution"]["cases"] == 1
        assert moved["routing"]["routes"] == 1 and moved["notify"]["dossiers"] == 1
        assert moved["notify"]["notifications"] >= 1
        assert (await http.get(f"{intake}/v1/dossiers/{code}", headers=filer)).status_code == 404
        assert (await http.get(f"{intake}/v1/dossiers/{other['code']}", headers=filer)).status_code == 200

    archived = await _every_document(system)
    assert [d["code"] for d in archived["intake.dossiers_archive"]] == [code]
    assert [d["_id"] for d in archived["intake.dossiers"]] == [other["id"]]
    assert _personal_traces(archived, CITIZEN, EMAIL) == []
