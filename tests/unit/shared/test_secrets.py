"""Public development secrets exist only in the development profile: every other environment refuses them."""

from __future__ import annotations

from typing import Any

import pytest

from services.intake.settings import IntakeSettings
from services.notify.settings import NotifySettings
from services.resolution.settings import ResolutionSettings
from services.routing.settings import RoutingSettings
from shared.settings import DEVELOPMENT_SECRETS

#: each service with the secret settings it checks
SECRETS = {
    IntakeSettings: ("pii_hash_key", "pii_encryption_key", "contact_sealing_key"),
    RoutingSettings: ("pii_hash_key",),
    ResolutionSettings: ("pii_hash_key", "signing_seed"),
    NotifySettings: ("pii_hash_key", "pii_encryption_key", "contact_sealing_key", "receipt_secret"),
}
CASES = [(cls, field) for cls, fields in SECRETS.items() for field in fields]


@pytest.mark.parametrize(("cls", "field"), CASES)
@pytest.mark.parametrize("environment", ["test", "production"])
def test_public_default_short_and_development_values_are_refused(cls: Any, field: str, environment: str) -> None:
    """The built-in default, an explicitly set development value and a short value all stop the service."""
    default = cls.model_fields[field].default.get_secret_value()
    for value in (default, *sorted(DEVELOPMENT_SECRETS), "development-my-own", "short-but-secret"):
        with pytest.raises(ValueError, match="refuses"):
            cls(environment=environment, **{field: value})


@pytest.mark.parametrize("cls", list(SECRETS))
def test_development_keeps_its_defaults_and_real_secrets_pass(cls: Any) -> None:
    """ENVIRONMENT=development starts with the defaults; long private values pass everywhere."""
    fields = {f: cls.model_fields[f].default for f in SECRETS[cls]}
    assert cls(environment="development", **fields).environment == "development"
    extra = {"sms_providers": GATEWAY} if cls is NotifySettings else {}  # production refuses the file provider
    assert cls(environment="production", **{f: "x" * 40 + f for f in SECRETS[cls]}, **extra).environment == "production"


GATEWAY = [{"name": "gw", "kind": "http", "url": "https://sms.example.vn/send"}]
NOTIFY_KEYS = {f: "x" * 40 + f for f in SECRETS[NotifySettings]}


def test_production_refuses_the_development_sms_file_provider() -> None:
    """The file provider writes phone numbers in clear to disk: production refuses it, by default and when named
    beside a gateway; a gateway alone passes, and the other profiles (the suite's `test`) keep the file."""
    for providers in (None, [{"name": "file", "kind": "file"}], [*GATEWAY, {"name": "disk", "kind": "file"}]):
        chosen = {} if providers is None else {"sms_providers": providers}
        with pytest.raises(ValueError, match="refuses: NOTIFY_SMS_PROVIDERS"):
            NotifySettings(environment="production", **NOTIFY_KEYS, **chosen)
    assert [
        p.kind for p in NotifySettings(environment="production", **NOTIFY_KEYS, sms_providers=GATEWAY).sms_providers
    ] == ["http"]
    assert NotifySettings(environment="test", **NOTIFY_KEYS).sms_providers[0].kind == "file"
