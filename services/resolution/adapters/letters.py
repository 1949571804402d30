"""The apology letter's text (Circular 01/2018 form), rendered from its template."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources

import jinja2

from services.resolution.domain.case import Case
from shared.reference.legal_clock import VIETNAM_TZ


@cache
def _templates() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(
        lambda name: (resources.files("services.resolution") / "templates" / name).read_text("utf-8")
    )
    return jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 - plain text


def apology_letter(case: Case, new_due_at: datetime, reason: str, signer: str, issued_at: datetime) -> str:
    """The letter of a leader's apology with the new appointment date (a ``LetterWriter``)."""
    return (
        _templates()
        .get_template("apology_letter.vi.j2")
        .render(
            office_name=case.office_name or case.office_code,
            dossier_code=case.dossier_code,
            procedure_name=case.procedure_name or case.procedure_code,
            issued_at=issued_at.astimezone(VIETNAM_TZ),
            due_at=case.due_at.astimezone(VIETNAM_TZ),
            new_due_at=new_due_at.astimezone(VIETNAM_TZ),
            reason=reason,
            signer=signer,
        )
    )
