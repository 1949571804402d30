"""What resolution's use cases need from outside (implemented in ``services.resolution.adapters``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Protocol

from services.resolution.domain.case import Case
from services.resolution.domain.results import Paper, Verdict
from shared.aggregate import Aggregates
from shared.events import DossierStatus, ResultDocument


class CaseRepository(Aggregates[Case], Protocol):
    """The cases, with the questions the use cases ask of them."""

    async def newest_of(self, dossier: str, office_code: str | None = None) -> Case | None:
        """The newest case of a dossier (by id, else by code), optionally at one office."""
        ...

    async def worklist(
        self, office_code: str, statuses: Collection[DossierStatus], *, limit: int, offset: int
    ) -> list[Case]:
        """Cases of an office in ``statuses``: overdue first, then by due date."""
        ...

    async def overdue_candidates(self, now: datetime, *, limit: int) -> list[Case]:
        """Running, unflagged cases whose due date has passed by ``now``."""
        ...

    async def next_due(self) -> datetime | None:
        """The earliest due date among running cases not flagged overdue."""
        ...

    async def overdue_by_province(self, now: datetime) -> dict[str, int]:
        """Running cases past their due date, per competent office's province."""
        ...

    async def figures_inputs(
        self, *, province_code: str | None, office_code: str | None, since: datetime
    ) -> list[dict[str, Any]]:
        """The operations figures' read model: rows of the cases touching a period from ``since`` (or open)."""
        ...


class Results(Protocol):
    """Signed results: signing on approval, publication of the keys, public checks."""

    async def sign(self, case: Case, *, title: str | None, content: str | None, now: datetime) -> ResultDocument:
        """Sign and keep the result of ``case`` (Conflict ``no_signing_key`` when its office has no key)."""
        ...

    def verify(self, document: dict[str, Any], signature: str) -> bool:
        """True when ``signature`` is the issuing office's signature of exactly ``document``."""
        ...

    async def jwks(self, office: str | None = None) -> dict[str, Any]:
        """The published keys, of one office or of all."""
        ...

    async def published(self, document_id: str) -> dict[str, Any] | None:
        """A signed result with its office's public key (Conflict ``no_signing_key`` when the key is gone)."""
        ...

    async def check(self, document_id: str, signature: str | None) -> tuple[Verdict, dict[str, Any] | None]:
        """The public check of a result id and the signature of its QR code: verdict and signed document."""
        ...

    async def check_pdf(self, pdf: bytes) -> tuple[Verdict, dict[str, Any]]:
        """Check an uploaded result PDF by its embedded original (NotAResult when it has none)."""
        ...

    async def paper(self, document_id: str) -> Paper | None:
        """The result as a PDF, or None when no such result was issued."""
        ...


class Papers(Protocol):
    """Circular 01/2018's printed forms of a case."""

    async def form(self, form: str, case: Case) -> Paper:
        """The form (FormNotApplicable when the case has not been through its step)."""
        ...


class BusinessFigures(Protocol):
    """Business metrics next to the technical ones (received, resolved, overdue now)."""

    def received(self, province: str) -> None:
        """Count a newly received dossier."""
        ...

    def resolved(self, province: str, *, late: bool, refused: bool) -> None:
        """Count a finished dossier."""
        ...

    def set_overdue(self, counts: dict[str, int]) -> None:
        """Replace the overdue-now figure per province."""
        ...
