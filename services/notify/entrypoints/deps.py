"""What notify's routes and consumers are given, built once by services/notify/bootstrap.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.notify.domain.ports import LiveFeed, StreamGuard, TrackingLogPrinter
from services.notify.handlers import Notifier
from services.notify.settings import NotifySettings
from shared.abuse import AbuseGuard
from shared.audit import AuditTrail
from shared.deps import deps_dependency
from shared.identity import TokenVerifier


@dataclass
class NotifyDeps:
    """Every dependency of notify's entry points (each replaceable by name through ``bootstrap(**overrides)``)."""

    settings: NotifySettings
    notifier: Notifier
    live: LiveFeed
    streams: StreamGuard
    papers: TrackingLogPrinter
    abuse: AbuseGuard
    audit: AuditTrail
    #: operators' and auditors' tokens (shared.identity.require_role reads it)
    verifier: TokenVerifier


get_deps = deps_dependency(NotifyDeps)


Deps = Annotated[NotifyDeps, Depends(get_deps)]
