"""Signed results (Ed25519): signing on approval, the archive of issued results, JWKS and the public checks.

Implements the ``Results`` port. The results and the offices that ever signed live in their own
collections (not aggregates: a result is written once and never changes).
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.resolution.adapters.papers import result_pdf
from services.resolution.adapters.signing import OfficeKeys, canonical, is_office_code
from services.resolution.adapters.verification import signed_from_pdf, standard_signature, verify_document
from services.resolution.domain.case import Case, Conflict
from services.resolution.domain.results import Paper, Status, Verdict
from shared.events import ResultDocument
from shared.reference.offices import known_office


class SignedResults:
    """Results of one service instance: keys from ``OfficeKeys``, documents in ``results``."""

    def __init__(self, db: Any, *, keys: OfficeKeys, public_base_url: str) -> None:
        self.results = db["results"]
        self.signing_offices = db["signing_offices"]
        self.keys = keys
        self.public_base_url = public_base_url

    def verify_url(self, document_id: str) -> str:
        """The public verification page of a result (also what the citizen's SMS links to)."""
        return f"{self.public_base_url.rstrip('/')}/verify?id={document_id}"

    async def sign(self, case: Case, *, title: str | None, content: str | None, now: datetime) -> ResultDocument:
        """Sign the result of ``case`` with its office's active key and keep it."""
        try:
            key = self.keys.active(case.office_code)
        except KeyError:
            raise Conflict("no_signing_key", f"office {case.office_code} has no signing key configured") from None
        document_id = str(uuid.uuid4())
        document = {
            "document_id": document_id,
            "dossier_code": case.dossier_code,
            "procedure_code": case.procedure_code,
            "office_code": case.office_code,
            "title": title or f"Kết quả giải quyết thủ tục {case.procedure_name or case.procedure_code}",
            "content": content or "",
            "issued_at": now.isoformat(),
            "key_id": key.kid,
        }
        signature = self.keys.sign(case.office_code, document)
        await self._note_signer(case.office_code, key.kid, now)
        await self._keep(
            {
                "_id": document_id,
                "document": document,
                "signature": signature,
                "algorithm": "Ed25519",
                "procedure_name": case.procedure_name,
            }
        )
        return ResultDocument(
            document_id=document_id,
            sha256=hashlib.sha256(canonical(document)).hexdigest(),
            signature=signature,
            signed_by_office=case.office_code,
            verify_url=self.verify_url(document_id),
            key_id=key.kid,
        )

    # -- the archive (the only store access; unit tests replace these four) ------------------------
    async def _note_signer(self, office_code: str, key_id: str, at: datetime) -> None:
        """Remember that an office signs results, so its keys are published in the JWKS (insert-only)."""
        with contextlib.suppress(DuplicateKeyError):
            await self.signing_offices.insert_one({"_id": office_code, "first_key_id": key_id, "first_signed_at": at})

    async def _keep(self, stored: dict[str, Any]) -> None:
        await self.results.insert_one(stored)

    async def _stored(self, document_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await self.results.find_one({"_id": document_id})
        return found

    async def signers(self) -> list[str]:
        """Offices that have signed results."""
        return [doc["_id"] async for doc in self.signing_offices.find({}, {"_id": 1})]

    def verify(self, document: dict[str, Any], signature: str) -> bool:
        """True when ``signature`` is the issuing office's signature of exactly ``document``."""
        office = document.get("office_code")
        # only a real office's key is looked up (the code comes from an unauthenticated caller)
        return isinstance(office, str) and known_office(office) and self.keys.verify(office, document, signature)

    async def jwks(self, office: str | None = None) -> dict[str, Any]:
        """The published keys: of one office, or of every office with a key directory entry or a signed result."""
        offices = [office] if office else [*self.keys.offices(), *await self.signers()]
        return self.keys.jwks(offices)

    async def published(self, document_id: str) -> dict[str, Any] | None:
        """A signed result with the public key that checks it."""
        found = await self._stored(document_id)
        if found is None:
            return None
        office = found["document"]["office_code"]
        try:
            public_key = self.keys.public_key_pem(office, found["document"].get("key_id"))
        except KeyError:
            raise Conflict("no_signing_key", f"office {office} has no signing key configured any more") from None
        return {
            "document": found["document"],
            "signature": found["signature"],
            "algorithm": found["algorithm"],
            "public_key_pem": public_key,
        }

    async def check(self, document_id: str, signature: str | None) -> tuple[Verdict, dict[str, Any] | None]:
        """The public page's check of a result id (and the signature printed in its QR code)."""
        stored = await self._stored(document_id)
        if stored is None:
            return Verdict("unknown", "no result with this id was issued"), None
        document: dict[str, Any] = stored["document"]
        given = stored["signature"] if signature is None else standard_signature(signature)
        if given is None:
            return Verdict("tampered", "the signature in the link is malformed"), document
        if "key_id" not in document:  # signed before key ids existed: the office's keys decide
            ok = self.verify(document, given)
            status: Status = "valid" if ok else "tampered"
            verdict = Verdict(status, "checked with the issuing office's keys", None, document.get("office_code"))
            return verdict, document
        return verify_document(await self.jwks(document["office_code"]), document, given), document

    async def check_pdf(self, pdf: bytes) -> tuple[Verdict, dict[str, Any]]:
        """Check an uploaded result PDF by its embedded signed original and the published keys only."""
        originals = signed_from_pdf(pdf)
        document, signature = originals[0]
        if len(originals) > 1:
            # an edited copy added beside the genuine one: which would a reader trust? neither
            return Verdict("tampered", "the PDF carries more than one signed original"), document
        office = document.get("office_code")
        jwks = await self.jwks(office) if isinstance(office, str) and is_office_code(office) else {"keys": []}
        return verify_document(jwks, document, signature), document

    async def paper(self, document_id: str) -> Paper | None:
        """The signed result as PDF (the signed original embedded), or None."""
        found = await self._stored(document_id)
        if found is None:
            return None
        verify_url = self.verify_url(document_id)
        pdf = await result_pdf(found, verify_url=verify_url, procedure_name=found.get("procedure_name"))
        return Paper(pdf, f"{found['document']['dossier_code']}-ket-qua.pdf")
