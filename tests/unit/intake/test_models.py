"""Intake's HTTP bodies take their defaults from the shared contract (one definition of the channel defaults)."""

from __future__ import annotations

from services.intake.entrypoints.citizen import CitizenDossierIn
from services.intake.entrypoints.models import DossierIn, NotifyPreferences
from shared.events import DEFAULT_CHANNEL_PREFERENCES


def test_preferences_left_out_are_the_shared_defaults() -> None:
    """A body without ``notify`` (front office or citizen portal) gets exactly shared.events' defaults."""
    assert NotifyPreferences().model_dump() == dict(DEFAULT_CHANNEL_PREFERENCES)
    for body in (DossierIn, CitizenDossierIn):
        default = body.model_fields["notify"].get_default(call_default_factory=True)
        assert default.model_dump() == dict(DEFAULT_CHANNEL_PREFERENCES), body.__name__


def test_the_published_schema_shows_the_shared_defaults() -> None:
    """The OpenAPI schema of the preferences documents the same defaults."""
    properties = NotifyPreferences.model_json_schema()["properties"]
    assert {name: spec["default"] for name, spec in properties.items()} == dict(DEFAULT_CHANNEL_PREFERENCES)
