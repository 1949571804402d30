"""Intake's data lifecycle: finished dossiers move to the archive; the applicant's personal data can be erased.

Declarations only (shared/lifecycle.py applies them); docs/data-lifecycle.md gives the retention of each
collection and why.
"""

from __future__ import annotations

from shared.lifecycle import CollectionLifecycle, PersonalFields, ServiceLifecycle

#: statuses after which nothing more happens to a dossier at the filing office
FINISHED_STATUSES = ("returned", "refused", "withdrawn")

LIFECYCLE = ServiceLifecycle(
    service="intake",
    collections=(
        CollectionLifecycle.by_status(
            "dossiers",
            FINISHED_STATUSES,
            finished_field="last_status.at",  # when the last (finished) status arrived
            dossier_field="_id",
            # the dossier's domain requires an encrypted citizen ID and phone: they become "erased", encrypted
            personal=PersonalFields(
                remove=("applicant.email_enc", "applicant.address.detail"),
                pseudonymise=("applicant.full_name", "applicant.citizen_id_hash", "applicant.phone_hash"),
                encrypted=("applicant.citizen_id_enc", "applicant.phone_enc"),
            ),
        ),
    ),
    citizen_index=("dossiers", "applicant.citizen_id_hash"),
)
