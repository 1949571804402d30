"""Resolution's data lifecycle: finished cases move to the archive; a rating's free text can be erased.

Signed results (``results``) stay live: their public verification page must keep answering. Declarations
only (shared/lifecycle.py applies them; docs/data-lifecycle.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.resolution.domain.case import TERMINAL
from shared.lifecycle import CollectionLifecycle, PersonalFields, ServiceLifecycle


def _finished_at(case: Mapping[str, Any]) -> datetime | None:
    """When the case ended at its office (returned, refused, withdrawn or transferred)."""
    at = case.get("finished_at")
    return at if case.get("status") in TERMINAL and isinstance(at, datetime) else None


LIFECYCLE = ServiceLifecycle(
    service="resolution",
    collections=(
        CollectionLifecycle(
            name="cases",
            finished_filter={"status": {"$in": sorted(str(s) for s in TERMINAL)}},
            finished_at=_finished_at,
            dossier_field="dossier_id",
            # the citizen's free text may name them; the score stays for the office's figures
            personal=PersonalFields(pseudonymise=("rating.comment",)),
        ),
    ),
)
