"""Dossier file checks (pure): type whitelist, declared size and SHA-256, content that is really of that type."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import zipfile

import pytest

from services.intake.domain.dossier import Document
from services.intake.domain.files import file_problem

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
LIMIT = 1024 * 1024


def declared(data: bytes, content_type: str = "application/pdf") -> Document:
    return Document("to_khai", "Tờ khai", content_type, len(data), hashlib.sha256(data).hexdigest())


def zip_bomb() -> bytes:
    """A small zip that inflates to 64 MiB of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.txt", b"\0" * (64 * 1024 * 1024))
    return out.getvalue()


def test_the_declared_pdf_is_accepted() -> None:
    """A real PDF with the declared type, size and checksum passes."""
    assert file_problem(declared(PDF), "application/pdf", PDF, max_bytes=LIMIT) is None


@pytest.mark.parametrize(
    ("data", "content_type", "declared_as", "status", "code"),
    [
        (PDF, "application/zip", "application/zip", 415, "unsupported_file_type"),
        (PDF, "image/png", "application/pdf", 422, "content_type_mismatch"),
        (
            b"GIF89a not a pdf at all, just pretending %%EOF",
            "application/pdf",
            "application/pdf",
            422,
            "content_mismatch",
        ),
        (b"%PDF-1.7 cut short", "application/pdf", "application/pdf", 422, "content_mismatch"),
        (b"\xff\xd8\xff" + b"\0" * 40, "image/png", "image/png", 422, "content_mismatch"),
    ],
)
def test_wrong_files_are_refused_with_a_named_4xx(
    data: bytes, content_type: str, declared_as: str, status: int, code: str
) -> None:
    """Each kind of wrong upload gets its own code and a 4xx status."""
    problem = file_problem(declared(data, declared_as), content_type, data, max_bytes=LIMIT)
    assert problem is not None and (problem.status, problem.code) == (status, code), problem


def test_a_zip_bomb_declared_as_pdf_is_refused_without_inflating_it() -> None:
    """A zip bomb under a PDF name is named as a ZIP archive and refused; as application/zip it is not accepted."""
    bomb = zip_bomb()
    assert len(bomb) < 200_000
    problem = file_problem(declared(bomb), "application/pdf", bomb, max_bytes=LIMIT)
    assert problem is not None and problem.code == "content_mismatch" and "ZIP" in problem.message
    as_zip = file_problem(declared(bomb, "application/zip"), "application/zip", bomb, max_bytes=LIMIT)
    assert as_zip is not None and as_zip.status == 415


def test_size_checksum_and_limit_are_checked() -> None:
    """Another size than declared, another SHA-256, or more than the limit: refused, the problem named."""
    wrong_size = dataclasses.replace(declared(PDF), size=len(PDF) + 1)
    assert file_problem(wrong_size, "application/pdf", PDF, max_bytes=LIMIT).code == "size_mismatch"  # type: ignore[union-attr]
    wrong_sum = dataclasses.replace(declared(PDF), sha256="0" * 64)
    problem = file_problem(wrong_sum, "application/pdf", PDF, max_bytes=LIMIT)
    assert (
        problem is not None
        and problem.code == "checksum_mismatch"
        and hashlib.sha256(PDF).hexdigest() in problem.message
    )
    too_big = file_problem(declared(PDF), "application/pdf", PDF, max_bytes=len(PDF) - 1)
    assert too_big is not None and too_big.status == 413
