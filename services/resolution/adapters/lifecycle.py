"""Resolution's data lifecycle: finished cases move to the archive; a rating's free text can be erased.

Signed results (``results``) stay live: their public verification page must keep answering. Declarations
only (shared/lifecycle.py applies them; docs/data-lifecycle.md).
"""

from __future__ import annotations

from services.resolution.domain.case import TERMINAL
from shared.lifecycle import CollectionLifecycle, PersonalFields, ServiceLifecycle

LIFECYCLE = ServiceLifecycle(
    service="resolution",
    collections=(
        CollectionLifecycle.by_status(
            "cases",
            TERMINAL,  # returned, refused, withdrawn or transferred: the case ended at its office
            finished_field="finished_at",
            dossier_field="dossier_id",
            # the citizen's free text may name them; the score stays for the office's figures
            personal=PersonalFields(pseudonymise=("rating.comment",)),
        ),
    ),
)
