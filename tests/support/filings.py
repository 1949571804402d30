"""The filing body the intake tests send: one complete birth registration, varied per test."""

from __future__ import annotations

from typing import Any

DOCUMENT = {"title": "t", "content_type": "application/pdf", "size": 10, "sha256": "a" * 64}


def birth_registration(**applicant: Any) -> dict[str, Any]:
    """A complete birth registration filed at the counter; ``applicant`` fields replace the applicant's defaults."""
    return {
        "procedure_code": "LT-HT-001",
        "channel": "counter",
        "applicant": {
            "full_name": "Nguyễn Văn An",
            "citizen_id": "001203012345",
            "phone": "0912345678",
            "address": {"ward_code": "00070"},
            **applicant,
        },
        "documents": [{**DOCUMENT, "code": "to_khai"}, {**DOCUMENT, "code": "giay_chung_sinh"}],
    }
