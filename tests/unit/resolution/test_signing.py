"""Result signing keys: key ids (RFC 7638 thumbprints), rotation, the JWKS, and verification with only the JWKS."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.resolution.adapters.signing import OfficeKeys, key_id
from services.resolution.adapters.verification import (
    NotAResult,
    b64url_decode,
    signed_from_pdf,
    standard_signature,
    verify_document,
)

OFFICE = "00070.UBND"


def document(keys: OfficeKeys, **extra: str) -> dict[str, str]:
    return {
        "document_id": "d1",
        "office_code": OFFICE,
        "content": "Cấp phép",
        "key_id": keys.active(OFFICE).kid,
    } | extra


def test_key_id_is_the_rfc_7638_thumbprint_of_rfc_8037s_example_key() -> None:
    """RFC 8037 appendix A.3: the Ed25519 example key's thumbprint."""
    public = Ed25519PublicKey.from_public_bytes(b64url_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
    assert key_id(public) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_rotated_development_keys_sign_with_the_newest_and_still_verify_the_old() -> None:
    """Generation 2 signs; a paper signed with generation 1 still verifies; the JWKS lists both, marked."""
    before, after = (OfficeKeys(keys_dir=None, dev_seed="seed", dev_generation=g) for g in (1, 2))
    old = document(before)
    signature = before.sign(OFFICE, old)
    assert after.active(OFFICE).kid != before.active(OFFICE).kid
    assert after.verify(OFFICE, old, signature), "retired keys stay valid for what they signed"
    jwks = after.jwks([OFFICE])
    assert [(k["kid"], k["status"]) for k in jwks["keys"]] == [
        (before.active(OFFICE).kid, "retired"),
        (after.active(OFFICE).kid, "active"),
    ]
    assert verify_document(jwks, old, signature).status == "valid"


def _write_key(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return key


def test_a_key_folder_per_office_rotates_by_file_name(tmp_path: Path) -> None:
    """`<dir>/<office>/*.pem`: the last name signs; `<dir>/<office>.pem` alone still works; offices are listed."""
    folder = tmp_path / OFFICE
    folder.mkdir()
    first = _write_key(folder / "2026-01.pem")
    second = _write_key(folder / "2026-07.pem")
    single = _write_key(tmp_path / "00073.UBND.pem")
    keys = OfficeKeys(keys_dir=str(tmp_path), dev_seed=None)
    assert keys.active(OFFICE).kid == key_id(second.public_key())
    assert [k.kid for k in keys.keys_of(OFFICE)] == [key_id(first.public_key()), key_id(second.public_key())]
    assert keys.active("00073.UBND").kid == key_id(single.public_key())
    assert keys.offices() == ["00070.UBND", "00073.UBND"]
    with pytest.raises(KeyError):
        keys.active("00074.UBND")


def test_verification_with_the_jwks_tells_valid_tampered_and_unknown() -> None:
    """Exactly the signed document is valid; a changed word is tampered; another office's or an unpublished key id
    is unknown."""
    keys = OfficeKeys(keys_dir=None, dev_seed="seed")
    doc = document(keys)
    signature = keys.sign(OFFICE, doc)
    jwks = keys.jwks([OFFICE])
    assert verify_document(jwks, doc, signature).status == "valid"
    assert verify_document(jwks, {**doc, "content": "Không cấp phép"}, signature).status == "tampered"
    assert verify_document(jwks, {**doc, "office_code": "00073.UBND"}, signature).status == "unknown"
    assert verify_document({"keys": []}, doc, signature).status == "unknown"


def test_signatures_from_links_and_pdfs_are_read_strictly() -> None:
    """A base64url signature from a link converts; garbage does not; a file that is not a PDF is no result."""
    keys = OfficeKeys(keys_dir=None, dev_seed="seed")
    signature = keys.sign(OFFICE, document(keys))
    url_form = signature.replace("+", "-").replace("/", "_").rstrip("=")
    assert standard_signature(url_form) == signature
    assert standard_signature(signature) == signature
    assert standard_signature("not-a-signature") is None
    with pytest.raises(NotAResult):
        signed_from_pdf(b"PK\x03\x04 a zip")
    with pytest.raises(NotAResult):
        signed_from_pdf(b"%PDF-1.7 broken")
