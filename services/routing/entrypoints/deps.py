"""Everything routing's entry points use, built once by ``bootstrap`` and kept on ``app.state.deps``."""

from __future__ import annotations

from dataclasses import dataclass

from services.routing.domain.offices import OfficeBoard
from services.routing.domain.ports import OfficeStatuses, Routes
from services.routing.domain.rules import Jurisdiction
from shared.audit import AuditTrail
from shared.deps import deps_dependency
from shared.identity import TokenVerifier


@dataclass
class RoutingDeps:
    """Routing's dependencies (each replaceable through ``bootstrap(..., name=...)``)."""

    routes: Routes
    statuses: OfficeStatuses
    jurisdiction: Jurisdiction
    audit: AuditTrail
    verifier: TokenVerifier

    @property
    def board(self) -> OfficeBoard:
        """The offices' live status and load."""
        return self.jurisdiction.board


get_deps = deps_dependency(RoutingDeps)
