"""Reading PDFs in tests as a person would: their text (pypdf), their pages as pictures (pdftoppm), QR codes."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import pypdf
import pytest
import zxingcpp
from PIL import Image

PDFTOPPM = shutil.which("pdftoppm")
needs_pdftoppm = pytest.mark.skipif(PDFTOPPM is None, reason="poppler-utils (pdftoppm) is not installed")


def pdf_text(pdf: bytes) -> str:
    """All text of a PDF, pages joined, whitespace collapsed (line breaks fall anywhere in a long line)."""
    assert pdf.startswith(b"%PDF-"), pdf[:40]
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def pdf_attachments(pdf: bytes) -> dict[str, bytes]:
    """Files embedded in a PDF, by name (the first of each name)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return {name: contents[0] for name, contents in reader.attachments.items()}


def pdf_pages_png(pdf: bytes, out_dir: Path, *, dpi: int = 150) -> list[Path]:
    """Each page as a PNG, rendered by poppler's pdftoppm (what a viewer shows)."""
    assert PDFTOPPM is not None
    source = out_dir / "document.pdf"
    source.write_bytes(pdf)
    subprocess.run([PDFTOPPM, "-png", "-r", str(dpi), str(source), str(out_dir / "page")], check=True, timeout=120)
    return sorted(out_dir.glob("page*.png"))


def qr_codes(pdf: bytes) -> list[str]:
    """The text of every QR code on every page of a PDF, decoded from the rendered pixels by zxing-cpp."""
    with tempfile.TemporaryDirectory() as tmp:
        found: list[str] = []
        for png in pdf_pages_png(pdf, Path(tmp)):
            with Image.open(png) as image:
                found += [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]
        return found
