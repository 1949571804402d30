"""Digital signatures of results (ký số kết quả): Ed25519, keys per office with key ids and rotation.

Key sources, one of:
- ``RESOLUTION_SIGNING_KEYS_DIR``: ``<dir>/<office code>.pem`` (one key), or ``<dir>/<office code>/*.pem``
  (rotation: the file whose name sorts last signs, the earlier ones stay published so papers they
  signed still verify). PKCS#8 Ed25519 private keys.
- Development only: keys derived per office and generation from a seed with HKDF-SHA256; generations
  ``1..RESOLUTION_SIGNING_KEY_GENERATION`` are published, the last one signs.

A key id (``kid``) is the RFC 7638 JWK thumbprint of the public key, so anyone holding the published key
set (``jwks()``, served at ``/.well-known/jwks.json``) can tell which key signed a paper and check it
without this service's database.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.reference.offices import parse_office_code


def canonical(document: dict[str, Any]) -> bytes:
    """Canonical bytes of a result document (sorted keys, no spaces, UTF-8): what is signed."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def b64url(data: bytes) -> str:
    """Base64url without padding (JOSE)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint of the key's JWK (members crv, kty, x in lexical order, no spaces)."""
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": b64url(raw_public(public))}, separators=(",", ":"))
    return b64url(hashlib.sha256(members.encode()).digest())


@dataclass(frozen=True)
class SigningKey:
    """One key of an office: its id, whether it signs new results, and the private half."""

    kid: str
    office_code: str
    active: bool
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        """The public half."""
        return self.private.public_key()

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK (OKP/Ed25519), with the office and whether it still signs."""
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(raw_public(self.public)),
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
            "office": self.office_code,
            "status": "active" if self.active else "retired",
        }


class OfficeKeys:
    """Signing keys per office, from a key directory or (development only) derived from a seed."""

    def __init__(self, *, keys_dir: str | None, dev_seed: str | None, dev_generation: int = 1) -> None:
        self._dir = Path(keys_dir) if keys_dir else None
        self._seed = dev_seed
        self._generation = max(1, dev_generation)
        self._cache: dict[str, list[SigningKey]] = {}

    # -- loading ----------------------------------------------------------------------------------
    def keys_of(self, office_code: str) -> list[SigningKey]:
        """Every key of an office, oldest first, the active one last; KeyError when it has none."""
        if office_code not in self._cache:
            self._cache[office_code] = self._load(office_code)
        return self._cache[office_code]

    def _load(self, office_code: str) -> list[SigningKey]:
        parse_office_code(office_code)  # no path games with office codes from documents
        privates = self._from_dir(office_code) if self._dir is not None else self._derived(office_code)
        if not privates:
            raise KeyError(f"no signing key for office {office_code}")
        last = len(privates) - 1
        return [SigningKey(key_id(p.public_key()), office_code, i == last, p) for i, p in enumerate(privates)]

    def _from_dir(self, office_code: str) -> list[Ed25519PrivateKey]:
        assert self._dir is not None
        folder = self._dir / office_code
        paths = sorted(folder.glob("*.pem")) if folder.is_dir() else []
        single = self._dir / f"{office_code}.pem"
        if not paths and single.is_file():
            paths = [single]
        keys = []
        for path in paths:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise KeyError(f"signing key {path.name} of {office_code} is not Ed25519")
            keys.append(key)
        return keys

    def _derived(self, office_code: str) -> list[Ed25519PrivateKey]:
        if self._seed is None:
            raise KeyError("no signing keys configured")
        keys = []
        for generation in range(1, self._generation + 1):
            # generation 1 keeps the original derivation, so results signed before rotation existed still verify
            info = office_code if generation == 1 else f"{office_code}#{generation}"
            raw = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=b"lienthong-result-signing", info=info.encode()
            ).derive(self._seed.encode())
            keys.append(Ed25519PrivateKey.from_private_bytes(raw))
        return keys

    def offices(self) -> list[str]:
        """Offices with keys in the key directory (a seed derives keys for any office, so it lists none)."""
        if self._dir is None or not self._dir.is_dir():
            return []
        names = {p.stem for p in self._dir.glob("*.pem")} | {p.name for p in self._dir.iterdir() if p.is_dir()}
        return sorted(n for n in names if is_office_code(n))

    # -- using ------------------------------------------------------------------------------------
    def active(self, office_code: str) -> SigningKey:
        """The key that signs the office's new results."""
        return self.keys_of(office_code)[-1]

    def private_key(self, office_code: str) -> Ed25519PrivateKey:
        """The office's active private key; KeyError when none is configured."""
        return self.active(office_code).private

    def public_key_pem(self, office_code: str, kid: str | None = None) -> str:
        """A public key of the office, PEM (the active one, or the one with ``kid``)."""
        key = self.find(office_code, kid) if kid else self.active(office_code)
        if key is None:
            raise KeyError(f"office {office_code} has no key {kid}")
        return key.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def find(self, office_code: str, kid: str) -> SigningKey | None:
        """The office's key with id ``kid``, or None."""
        try:
            return next((k for k in self.keys_of(office_code) if k.kid == kid), None)
        except (KeyError, ValueError):
            return None

    def sign(self, office_code: str, document: dict[str, Any]) -> str:
        """Base64 Ed25519 signature of the canonical document with the office's active key."""
        return base64.b64encode(self.private_key(office_code).sign(canonical(document))).decode()

    def verify(self, office_code: str, document: dict[str, Any], signature: str) -> bool:
        """True when one of the office's keys (the one named by ``document["key_id"]`` if any) signed it."""
        try:
            keys = self.keys_of(office_code)
        except (KeyError, ValueError):
            return False
        kid = document.get("key_id")
        candidates = [k for k in keys if k.kid == kid] if kid else keys
        return any(verify_with(k.public, document, signature) for k in candidates)

    def jwks(self, offices: list[str]) -> dict[str, Any]:
        """The published key set of ``offices`` (every key, active and retired): a JWKS document."""
        out: list[dict[str, Any]] = []
        for office in sorted(set(offices)):
            try:
                out += [k.jwk() for k in self.keys_of(office)]
            except (KeyError, ValueError):
                continue
        return {"keys": out}


def verify_with(public: Ed25519PublicKey, document: dict[str, Any], signature: str) -> bool:
    """True when ``signature`` (base64) is ``public``'s signature of exactly this document."""
    try:
        public.verify(base64.b64decode(signature, validate=True), canonical(document))
    except (InvalidSignature, ValueError):
        return False
    return True


def is_office_code(name: str) -> bool:
    """True when ``name`` follows the office-code scheme (shared/reference/offices.py)."""
    try:
        parse_office_code(name)
    except ValueError:
        return False
    return True
