"""Dead-letter headers and logs describe an error without the input values it quotes."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from shared.broker import describe_error


class Contact(BaseModel):
    phone: int
    citizen_id: int


def test_pydantic_errors_keep_field_and_message_but_not_the_input() -> None:
    """A payload that failed validation names the fields and why, never the values (phone, citizen ID)."""
    with pytest.raises(ValidationError) as info:
        Contact.model_validate({"phone": "09１２３４５６７８x", "citizen_id": "001203012345z"})
    assert "09１２３４５６７８x" in str(info.value)  # what used to go into x-dlq-error
    described = describe_error(info.value)
    assert "phone:" in described and "citizen_id:" in described
    assert "09１２３４５６７８" not in described and "001203012345" not in described


def test_other_errors_are_scrubbed_of_personal_data() -> None:
    """Free text shaped like a citizen ID, phone or e-mail is replaced."""
    described = describe_error(ValueError("no office for 001203012345 / 0912345678 / an@example.vn"))
    assert described == "no office for [citizen-id] / [phone] / [email]"
