"""What intake's routes and consumers are given, built once by services/intake/bootstrap.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

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
    """Moving-window limits per key (in memory: per instance)."""

    def __init__(self, rate: str) -> None:
        self.rate = parse(rate)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, *keys: str) -> bool:
        """Count one request; False when over the limit."""
        return self._limiter.hit(self.rate, *keys)


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
