"""Intake's data lifecycle: finished dossiers move to the archive; the applicant's personal data can be erased.

Declarations only (shared/lifecycle.py applies them); docs/data-lifecycle.md gives the retention of each
collection and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.lifecycle import CollectionLifecycle, PersonalFields, ServiceLifecycle

#: statuses after which nothing more happens to a dossier at the filing office
FINISHED_STATUSES = ("returned", "refused", "withdrawn")


def _finished_at(dossier: Mapping[str, Any]) -> datetime | None:
    """When the dossier's last status (one of the finished ones) arrived."""
    if dossier.get("status") not in FINISHED_STATUSES:
        return None
    at = (dossier.get("last_status") or {}).get("at")
    return at if isinstance(at, datetime) else None


LIFECYCLE = ServiceLifecycle(
    service="intake",
    collections=(
        CollectionLifecycle(
            name="dossiers",
            finished_filter={"status": {"$in": list(FINISHED_STATUSES)}},
            finished_at=_finished_at,
            dossier_field="_id",
            personal=PersonalFields(
                remove=(
                    "applicant.citizen_id_enc",
                    "applicant.citizen_id_hash",
                    "applicant.phone_enc",
                    "applicant.phone_hash",
                    "applicant.email_enc",
                    "applicant.address.detail",
                ),
                pseudonymise=("applicant.full_name",),
            ),
        ),
    ),
    citizen_index=("dossiers", "applicant.citizen_id_hash"),
)
