"""What intake's routes and consumers are given, built once by services/intake/bootstrap.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from services.intake import citizen
from services.intake.domain import ports
from services.intake.handlers import FilingPorts
from services.intake.settings import IntakeSettings
from shared.abuse import AbuseGuard
from shared.audit import AuditTrail
from shared.deps import app_deps, deps_dependency
from shared.identity import TokenVerifier
from shared.pii import PersonalDataKeys
from shared.reference.procedures import Catalogue


class RateLimit:
    """Sliding-window limits per key (in memory: per instance), on the event loop.

    The sliding window counter weighs the previous window's count by its overlap: O(1) per request. The
    moving window it replaced kept one timestamp per request of the window, and the threaded storage took
    locks beside the driver's threads: together about 3 ms per request under the benchmark's load
    (profiled, docs/performance.md). ``limits.aio`` keeps the same strategies with asyncio storage.
    """

    def __init__(self, rate: str) -> None:
        self.rate = parse(rate)
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    async def hit(self, *keys: str) -> bool:
        """Count one request; False when over the limit."""
        return await self._limiter.hit(self.rate, *keys)


@dataclass
class IntakeDeps:
    """Every dependency of intake's entry points (each replaceable by name through ``bootstrap(**overrides)``)."""

    settings: IntakeSettings
    dossiers: ports.Dossiers
    tickets: ports.Tickets
    sequences: ports.Sequences
    claims: ports.IdempotencyClaims
    api_keys: ports.ApiKeys
    key_cache: ports.KeyCache
    files: ports.FileStore
    printer: ports.ReceiptPrinter
    catalogue: Catalogue
    pii: PersonalDataKeys
    limiter: RateLimit
    abuse: AbuseGuard
    audit: AuditTrail
    #: officials' and auditors' tokens (shared.identity.require_role reads it)
    verifier: TokenVerifier
    #: the citizens' e-ID provider; None: citizen login is off (no CITIZEN_OIDC_ISSUER)
    citizen_login: citizen.CitizenLogin | None
    #: the citizens' login attempts, sessions, results and their own dossiers
    citizen_store: citizen.CitizenSessions

    @property
    def filing(self) -> FilingPorts:
        """What filing a dossier needs."""
        return FilingPorts(self.dossiers, self.tickets, self.sequences, self.claims, self.catalogue, self.pii)


get_deps = deps_dependency(IntakeDeps)


Deps = Annotated[IntakeDeps, Depends(get_deps)]


def deps_of(app: Any) -> IntakeDeps:
    """The dependencies of a built app (for tests and the command line)."""
    deps: IntakeDeps = app_deps(app)
    return deps
