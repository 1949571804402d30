"""Checking a signed result with nothing but the published keys (JWKS): valid, tampered or unknown.

A verifier needs the paper (or its QR link) and ``/.well-known/jwks.json``; it never needs the issuing
service's database. ``signed_from_pdf`` takes the signed original out of a result PDF.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from typing import Any

import pypdf
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pypdf.errors import PdfReadError

from services.resolution.adapters.signing import verify_with
from services.resolution.domain.results import NotAResult, Status, Verdict

__all__ = ["ATTACHMENT", "NotAResult", "Status", "Verdict", "signed_from_pdf", "standard_signature", "verify_document"]

ATTACHMENT = "ket-qua.json"


def b64url_decode(text: str) -> bytes:
    """Base64url with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def standard_signature(given: str) -> str | None:
    """A signature from a link (base64url) or a document (base64) as standard base64; None if malformed."""
    try:
        raw = base64.b64decode(given, validate=True) if ("+" in given or "/" in given or given.endswith("=")) else None
        raw = raw if raw is not None else b64url_decode(given)
    except (binascii.Error, ValueError):
        return None
    return base64.b64encode(raw).decode() if len(raw) == 64 else None


def find_key(jwks: dict[str, Any], kid: str | None, office_code: str | None) -> Ed25519PublicKey | None:
    """The published Ed25519 key with id ``kid`` belonging to ``office_code``, or None."""
    for jwk in jwks.get("keys", []):
        if jwk.get("kid") == kid and jwk.get("office") == office_code and jwk.get("crv") == "Ed25519":
            try:
                return Ed25519PublicKey.from_public_bytes(b64url_decode(str(jwk["x"])))
            except (KeyError, ValueError):
                return None
    return None


def verify_document(jwks: dict[str, Any], document: dict[str, Any], signature: str) -> Verdict:
    """Check ``signature`` over ``document`` with the key the document names, looked up in ``jwks``."""
    kid, office = document.get("key_id"), document.get("office_code")
    public = find_key(jwks, kid if isinstance(kid, str) else None, office if isinstance(office, str) else None)
    if public is None:
        return Verdict("unknown", "no published key of the issuing office has this key id", kid, office)
    if verify_with(public, document, signature):
        return Verdict("valid", "the issuing office's key signed exactly this document", kid, office)
    return Verdict("tampered", "the signature does not match this document: it was changed after signing", kid, office)


def signed_from_pdf(pdf: bytes) -> list[tuple[dict[str, Any], str]]:
    """Every signed original (document, signature) embedded in a result PDF (one, unless edited); NotAResult else."""
    if not pdf.startswith(b"%PDF-"):
        raise NotAResult("the file is not a PDF")
    try:
        found = []
        for raw in pypdf.PdfReader(io.BytesIO(pdf)).attachments[ATTACHMENT]:
            payload = json.loads(raw)
            found.append((payload["document"], payload["signature"]))
    except (PdfReadError, KeyError, IndexError, ValueError, TypeError) as exc:
        raise NotAResult(f"the PDF carries no signed result ({ATTACHMENT}): {type(exc).__name__}") from None
    except Exception as exc:  # pypdf raises many kinds of error on broken files; all mean "not ours"
        raise NotAResult(f"the PDF carries no signed result ({ATTACHMENT}): {type(exc).__name__}") from None
    if not found or not all(isinstance(d, dict) and isinstance(s, str) for d, s in found):
        raise NotAResult(f"{ATTACHMENT} is not a signed result")
    return found
