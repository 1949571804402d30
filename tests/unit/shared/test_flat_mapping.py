"""The flat mapping helpers of the unit of work: a dataclass's fields to a document and back, by name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import pytest

from shared.unit_of_work import flat_arguments, flat_document

AT = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


class Colour(StrEnum):
    RED = "red"


@dataclass
class Thing:
    id: str
    colour: Colour
    at: datetime
    count: int = 0
    note: str | None = None


def test_fields_go_by_name_with_the_id_as_underscore_id_and_enums_as_values() -> None:
    doc = flat_document(Thing("t-1", Colour.RED, AT, 3), skip={"note"})
    assert doc == {"_id": "t-1", "colour": "red", "at": AT, "count": 3}
    assert type(doc["colour"]) is str


def test_a_document_of_an_older_shape_leaves_the_later_fields_to_their_defaults() -> None:
    arguments = flat_arguments(Thing, {"_id": "t-1", "colour": "red", "at": AT, "extra": 1}, skip={"colour"})
    assert arguments == {"id": "t-1", "at": AT}
    assert Thing(**arguments, colour=Colour.RED) == Thing("t-1", Colour.RED, AT)
    with pytest.raises(TypeError):
        Thing(**flat_arguments(Thing, {"colour": "red", "at": AT}))  # a required field is missing: refused
