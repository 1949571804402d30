"""Dossier files through the real processes: uploaded with the dossier and with a supplement, checked against what
was declared, kept in intake's store with GridFS, readable by the competent office's officials only."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from shared.papers import render_pdf
from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client
from tests.e2e.conftest import api_key, official
from tests.e2e.test_journey import FILED_AT
from tests.support.infra import MONGO
from tests.support.processes import System, running_system
from tests.support.waiting import eventually

COMPETENT = "00070.UBND"
UPLOAD_LIMIT = 300_000


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The four services, with a small upload limit so the 413 can be shown."""
    prefix = f"f{uuid.uuid4().hex[:8]}"
    with running_system(prefix, tmp_path_factory.mktemp(prefix), {"MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)}) as sys_:
        yield sys_


def png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="PNG")
    return out.getvalue()


def zip_bomb() -> bytes:
    """About 60 KB that inflate to 64 MiB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.txt", b"\0" * (64 * 1024 * 1024))
    return out.getvalue()


def declared(code: str, data: bytes, content_type: str) -> dict[str, Any]:
    return {
        "code": code,
        "title": code,
        "content_type": content_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


async def test_files_are_checked_stored_in_gridfs_and_shown_to_the_competent_office_only(system: System) -> None:
    """Declared files upload (201, then 200 for the same bytes again); a PDF that is not a PDF, a zip bomb, a wrong
    checksum and an oversized body get named 4xx answers; the file lands in GridFS; only officials of the office now
    competent read it, byte for byte; a supplement's file replaces the earlier one for that document."""
    form = render_pdf("<html><body><h1>Tờ khai đăng ký khai sinh</h1></body></html>")
    birth_certificate = png("white")
    fake_pdf = b"MZ\x90\x00 an executable pretending to be a PDF %%EOF"
    bomb = zip_bomb()
    documents = [
        declared("to_khai", form, "application/pdf"),
        declared("giay_chung_sinh", birth_certificate, "image/png"),
        declared("ban_sao_cccd", fake_pdf, "application/pdf"),
        declared("nen", bomb, "application/zip"),
        declared("nen_pdf", bomb, "application/pdf"),
    ]
    body = {
        "procedure_code": "LT-HT-001",
        "channel": "counter",
        "applicant": {
            "full_name": "Lê Thị Hoa",
            "citizen_id": "001303012345",
            "phone": "0912345678",
            "address": {"ward_code": "00070"},
        },
        "documents": documents,
    }
    key = {"Authorization": f"Bearer {await api_key(system, FILED_AT)}"}
    intake = system["intake"].url
    async with httpx.AsyncClient(timeout=60) as http:
        r = await http.post(f"{intake}/v1/dossiers", json=body, headers=key)
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        files = f"{intake}/v1/dossiers/{code}/documents"

        async def put(document: str, data: bytes, content_type: str) -> httpx.Response:
            return await http.put(
                f"{files}/{document}/file", content=data, headers={**key, "content-type": content_type}
            )

        first = await put("to_khai", form, "application/pdf")
        again = await put("to_khai", form, "application/pdf")
        assert first.status_code == 201, first.text
        assert again.status_code == 200 and again.json()["sha256"] == first.json()["sha256"]
        assert (await put("giay_chung_sinh", birth_certificate, "image/png")).status_code == 201

        refused = {
            "not a pdf": await put("ban_sao_cccd", fake_pdf, "application/pdf"),
            "zip bomb as zip": await put("nen", bomb, "application/zip"),
            "zip bomb as pdf": await put("nen_pdf", bomb, "application/pdf"),
            "wrong checksum": await put("giay_chung_sinh", birth_certificate[:-1] + b"\x00", "image/png"),
            "undeclared": await put("khac", form, "application/pdf"),
            "too large": await put("to_khai", b"%PDF-" + b"0" * UPLOAD_LIMIT, "application/pdf"),
        }
        codes = {name: (resp.status_code, resp.json()["code"]) for name, resp in refused.items()}
        assert codes == {
            "not a pdf": (422, "content_mismatch"),
            "zip bomb as zip": (415, "unsupported_file_type"),
            "zip bomb as pdf": (422, "content_mismatch"),
            "wrong checksum": (422, "checksum_mismatch"),
            "undeclared": (404, "unknown_document"),
            "too large": (413, "payload_too_large"),
        }, codes
        assert "ZIP" in refused["zip bomb as pdf"].json()["message"]

        res = system["resolution"].url
        clerk, leader, specialist = (official(COMPETENT, role) for role in ("clerk", "leader", "specialist"))
        await eventually(
            lambda: http.get(f"{res}/v1/dossiers/{code}", headers=clerk),
            until=lambda x: x.status_code == 200,
            timeout=60,
        )
        # intake follows dossier.routed.v1: once routed, the competent office is the one that reads the files
        routed = await eventually(
            lambda: http.get(f"{intake}/v1/dossiers/{code}", headers=key),
            until=lambda x: x.json()["current_office_code"] == COMPETENT,
        )
        assert routed.json()["current_office_name"] and FILED_AT != COMPETENT
        filing = await http.get(f"{files}/to_khai/file", headers=official(FILED_AT, "leader"))
        assert filing.status_code == 404, "the filing centre is not competent for the dossier: it reads no file"
        assert (await http.post(f"{res}/v1/dossiers/{code}/accept", headers=clerk)).status_code == 200
        read = await http.get(f"{files}/to_khai/file", headers=specialist)
        assert read.status_code == 200 and read.content == form
        assert read.headers["content-type"] == "application/pdf" and read.headers["x-content-type-options"] == "nosniff"
        assert (await http.get(f"{files}/to_khai/file", headers=official("00073.UBND", "leader"))).status_code == 404
        assert (await http.get(f"{files}/to_khai/file", headers=key)).status_code == 401, "a front-office key is no JWT"
        assert (await http.get(f"{files}/to_khai/file")).status_code == 401
        # every official's read of a file is in intake's audit trail, the refused one with its answer's code
        trail = await http.get(
            f"{intake}/v1/audit", params={"action": "dossier_file.read"}, headers=official("P01.TTPVHCC", "auditor")
        )
        reads = [(i["actor"], i["outcome"]) for i in trail.json()["items"] if i["target"] == f"{code}/to_khai"]
        assert sorted(reads) == sorted(
            [(f"leader@{FILED_AT}", "not_found"), (f"specialist@{COMPETENT}", "ok"), ("leader@00073.UBND", "not_found")]
        ), reads

        step = await http.post(
            f"{res}/v1/dossiers/{code}/request-supplement",
            json={"reason": "Giấy chứng sinh bị mờ"},
            headers=specialist,
        )
        assert step.status_code == 200, step.text
        await eventually(
            lambda: http.get(f"{intake}/v1/dossiers/{code}", headers=key),
            until=lambda x: x.json()["awaiting_supplement"] is True,
        )
        clearer = png("lightgrey")
        supplement = {"documents": [declared("giay_chung_sinh", clearer, "image/png")]}
        assert (
            await http.post(f"{intake}/v1/dossiers/{code}/supplements", json=supplement, headers=key)
        ).status_code == 201
        assert (await put("giay_chung_sinh", clearer, "image/png")).status_code == 201
        replaced = await http.get(f"{files}/giay_chung_sinh/file", headers=leader)
        assert replaced.status_code == 200 and replaced.content == clearer
        view = (await http.get(f"{intake}/v1/dossiers/{code}", headers=key)).json()
        assert [(f["document_code"], f["size"]) for f in view["files"]] == [
            ("to_khai", len(form)),
            ("giay_chung_sinh", len(birth_certificate)),
            ("giay_chung_sinh", len(clearer)),
        ]

    client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
    try:
        db = client[f"{system.prefix}_intake"]
        stored = await db["dossier_files.files"].find({"metadata.dossier_code": code}).to_list(10)
        chunks = await db["dossier_files.chunks"].count_documents({"files_id": {"$in": [f["_id"] for f in stored]}})
    finally:
        client.close()
    assert sorted(f["metadata"]["sha256"] for f in stored) == sorted(
        hashlib.sha256(d).hexdigest() for d in (form, birth_certificate, clearer)
    )
    assert chunks >= len(stored)
