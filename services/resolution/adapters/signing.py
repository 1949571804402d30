"""Digital signatures of results (ký số kết quả): Ed25519, one key per office."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def canonical(document: dict[str, Any]) -> bytes:
    """Canonical bytes of a result document (sorted keys, no spaces, UTF-8): what is signed."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


class OfficeKeys:
    """Signing keys per office: from ``<dir>/<office>.pem`` or, in development only, derived from a seed."""

    def __init__(self, *, keys_dir: str | None, dev_seed: str | None) -> None:
        self._dir = Path(keys_dir) if keys_dir else None
        self._seed = dev_seed
        self._cache: dict[str, Ed25519PrivateKey] = {}

    def private_key(self, office_code: str) -> Ed25519PrivateKey:
        """The office's private key; KeyError when none is configured."""
        if office_code not in self._cache:
            self._cache[office_code] = self._load(office_code)
        return self._cache[office_code]

    def _load(self, office_code: str) -> Ed25519PrivateKey:
        if self._dir is not None:
            path = self._dir / f"{office_code}.pem"
            if not path.is_file():
                raise KeyError(f"no signing key for office {office_code}")
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise KeyError(f"signing key of {office_code} is not Ed25519")
            return key
        if self._seed is None:
            raise KeyError("no signing keys configured")
        raw = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"lienthong-result-signing", info=office_code.encode()
        ).derive(self._seed.encode())
        return Ed25519PrivateKey.from_private_bytes(raw)

    def public_key_pem(self, office_code: str) -> str:
        """The office's public key, PEM (published for verification)."""
        return (
            self.private_key(office_code)
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def sign(self, office_code: str, document: dict[str, Any]) -> str:
        """Base64 Ed25519 signature of the canonical document."""
        return base64.b64encode(self.private_key(office_code).sign(canonical(document))).decode()

    def verify(self, office_code: str, document: dict[str, Any], signature: str) -> bool:
        """True when ``signature`` is the office's signature of exactly this document."""
        try:
            public: Ed25519PublicKey = self.private_key(office_code).public_key()
            public.verify(base64.b64decode(signature, validate=True), canonical(document))
        except (InvalidSignature, ValueError, KeyError):
            return False
        return True
