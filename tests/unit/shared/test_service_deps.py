"""Each service keeps ONE dependencies object, ``app.state.deps``; role checks and the audit route read it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.intake.bootstrap import bootstrap as intake
from services.intake.settings import IntakeSettings
from services.notify.bootstrap import bootstrap as notify
from services.notify.settings import NotifySettings
from services.resolution.bootstrap import bootstrap as resolution
from services.resolution.settings import ResolutionSettings
from services.routing.bootstrap import bootstrap as routing
from services.routing.settings import RoutingSettings
from shared.audit import AuditTrail, audit_router
from shared.http import install_error_handlers
from shared.identity import TokenVerifier
from tests.support.audit import MemoryAudit
from tests.support.identity import bearer

SERVICES: dict[str, Callable[[], FastAPI]] = {
    "intake": lambda: intake(IntakeSettings(environment="test")),
    "routing": lambda: routing(RoutingSettings(environment="test")),
    "resolution": lambda: resolution(ResolutionSettings(environment="test")),
    "notify": lambda: notify(NotifySettings(environment="test")),
}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_keeps_its_dependencies_on_one_attribute(service: str) -> None:
    """Besides the shared runtime, bootstrap leaves only ``deps`` on app.state, holding verifier and audit trail."""
    app = SERVICES[service]()
    assert set(vars(app.state)["_state"]) == {"deps", "runtime"}
    assert isinstance(app.state.deps.verifier, TokenVerifier) and isinstance(app.state.deps.audit, AuditTrail)


class _Deps:
    """The two things shared code reads from a service's deps, and nothing else."""

    def __init__(self, verifier: TokenVerifier, audit: AuditTrail) -> None:
        self.verifier, self.audit = verifier, audit


async def test_role_checks_and_the_audit_route_read_the_deps() -> None:
    """An auditor's token is checked with deps.verifier and the records come from deps.audit; others get 401/403."""
    trail = MemoryAudit("routing")
    await trail.record("cli:admin", "office.set_status", "00070.UBND")
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(audit_router("routing"))
    app.state.deps = _Deps(TokenVerifier.from_settings(RoutingSettings(environment="test")), trail)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        page = await client.get("/v1/audit", headers=bearer("P01.TTPVHCC", "auditor"))
        assert page.status_code == 200, page.text
        assert [(r["actor"], r["target"]) for r in page.json()["items"]] == [("cli:admin", "00070.UBND")]
        operator: Any = await client.get("/v1/audit", headers=bearer("P01.TTPVHCC", "operator"))
        assert operator.status_code == 403
        assert (await client.get("/v1/audit")).status_code == 401
