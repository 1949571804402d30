"""What resolution's routes, consumers and loops are given (built once, in ``bootstrap``): ``app.state.deps``."""

from __future__ import annotations

from dataclasses import dataclass

from services.resolution.domain.ports import Papers, Results
from services.resolution.handlers import Cases, Operations, Watch
from services.resolution.settings import ResolutionSettings
from shared.abuse import AbuseGuard
from shared.audit import AuditTrail
from shared.deps import deps_dependency
from shared.identity import TokenVerifier


@dataclass
class ResolutionDeps:
    """Every dependency of the resolution service, each replaceable through ``bootstrap(..., name=...)``."""

    settings: ResolutionSettings
    cases: Cases
    operations: Operations
    watch: Watch
    results: Results
    papers: Papers
    verifier: TokenVerifier
    audit: AuditTrail
    abuse: AbuseGuard


get_deps = deps_dependency(ResolutionDeps)
