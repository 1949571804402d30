"""Checks of an uploaded dossier file against what the dossier declared (pure: no I/O)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from services.intake.domain.dossier import Document

#: What a dossier file may be, with the bytes its content must start with. Archives are not accepted: the
#: office must be able to open every file, and a compressed archive can hide a decompression bomb.
ALLOWED_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
#: Signatures of archives, named in the refusal when one arrives under another type.
_ARCHIVES = {
    b"PK\x03\x04": ("a ZIP archive", "tệp nén ZIP"),
    b"\x1f\x8b": ("a gzip archive", "tệp nén gzip"),
    b"7z\xbc\xaf\x27\x1c": ("a 7-Zip archive", "tệp nén 7-Zip"),
}


@dataclass(frozen=True)
class FileProblem:
    """Why an upload is refused: the HTTP status, a machine code and a sentence naming the problem (English, and
    Vietnamese in ``vi``, the default language of answers)."""

    status: int
    code: str
    message: str
    vi: str | None = None


def file_problem(declared: Document, content_type: str, data: bytes, *, max_bytes: int) -> FileProblem | None:
    """None when ``data`` is the file the dossier declared (type, size, SHA-256, content of that type)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in ALLOWED_TYPES:
        allowed = ", ".join(ALLOWED_TYPES)
        return FileProblem(
            415,
            "unsupported_file_type",
            f"content-type {media_type!r} is not accepted; use {allowed}",
            f"không nhận loại tệp {media_type!r}; chỉ nhận {allowed}",
        )
    if media_type != declared.content_type.lower():
        return FileProblem(
            422,
            "content_type_mismatch",
            f"the dossier declared {declared.content_type}, the upload is {media_type}",
            f"hồ sơ khai báo {declared.content_type}, tệp tải lên là {media_type}",
        )
    if len(data) > max_bytes:
        return FileProblem(
            413,
            "file_too_large",
            f"the file has {len(data)} bytes, more than the limit of {max_bytes}",
            f"tệp có {len(data)} byte, vượt giới hạn {max_bytes} byte",
        )
    if len(data) != declared.size:
        return FileProblem(
            422,
            "size_mismatch",
            f"the dossier declared {declared.size} bytes, the upload has {len(data)}",
            f"hồ sơ khai báo {declared.size} byte, tệp tải lên có {len(data)} byte",
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != declared.sha256:
        return FileProblem(
            422,
            "checksum_mismatch",
            f"sha256 of the upload is {digest}, the dossier declared {declared.sha256}",
            f"mã SHA-256 của tệp tải lên là {digest}, hồ sơ khai báo {declared.sha256}",
        )
    if not data.startswith(ALLOWED_TYPES[media_type]):
        found, found_vi = next(
            (names for magic, names in _ARCHIVES.items() if data.startswith(magic)), ("something else", "loại khác")
        )
        return FileProblem(
            422,
            "content_mismatch",
            f"declared {media_type} but the content is {found}",
            f"khai báo {media_type} nhưng nội dung là {found_vi}",
        )
    if media_type == "application/pdf" and b"%%EOF" not in data[-2048:]:
        return FileProblem(
            422,
            "content_mismatch",
            "declared application/pdf but the file has no PDF end marker (%%EOF)",
            "khai báo application/pdf nhưng tệp không có dấu kết thúc PDF (%%EOF)",
        )
    return None
