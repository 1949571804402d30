"""Notify's templates (built and checked at start-up) and SMS length rules."""

from __future__ import annotations

import jinja2
import pytest

from services.notify.domain.sms import fold_to_ascii, segments
from services.notify.domain.templates import SAMPLE, TemplateBuildError, TemplateSet
from services.notify.handlers import in_quiet_hours, sign_webhook


def test_shipped_template_set_builds_and_includes_the_code() -> None:
    """Every shipped template renders; each SMS names the dossier code."""
    templates = TemplateSet().build()
    for kind in templates.kinds:
        for locale in ("vi", "en"):
            assert SAMPLE["code"] in templates.render(kind, locale, "sms", SAMPLE).text


def test_bad_template_variable_fails_the_build() -> None:
    """A template using an unknown variable fails the build of the set, not a send at run time."""
    loader = jinja2.DictLoader(
        {
            f"{loc}/received.{ch}.j2": "{{ code }} {{ no_such_variable }}"
            for loc in ("vi", "en")
            for ch in ("sms", "email")
        }
    )
    with pytest.raises(TemplateBuildError, match="no_such_variable"):
        TemplateSet(loader=loader, kinds=["received"]).build()


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("Ho so da nhan", "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("Hồ sơ đã nhận", "UCS-2", 1),
        ("ồ" * 71, "UCS-2", 2),
        ("ồ" * 134, "UCS-2", 2),
        ("ồ" * 135, "UCS-2", 3),
    ],
)
def test_segments(text: str, encoding: str, parts: int) -> None:
    """GSM-7 160/153 and UCS-2 70/67 character segments."""
    assert segments(text) == (encoding, parts)


def test_ascii_folding_makes_vietnamese_gsm7() -> None:
    """Folded Vietnamese fits GSM-7."""
    assert fold_to_ascii("Hồ sơ Đăng ký khai sinh") == "Ho so Dang ky khai sinh"
    assert segments(fold_to_ascii("Hồ sơ đã được tiếp nhận"))[0] == "GSM-7"


def test_quiet_hours_window_across_midnight() -> None:
    """21:00–07:00: 23:00 and 05:00 are quiet (resume at 07:00), noon is not."""
    from datetime import datetime

    from shared.legal_clock import VIETNAM_TZ

    assert in_quiet_hours(datetime(2026, 11, 23, 23, 0, tzinfo=VIETNAM_TZ), "21:00-07:00") == datetime(
        2026, 11, 24, 7, 0, tzinfo=VIETNAM_TZ
    )
    assert in_quiet_hours(datetime(2026, 11, 23, 5, 0, tzinfo=VIETNAM_TZ), "21:00-07:00") == datetime(
        2026, 11, 23, 7, 0, tzinfo=VIETNAM_TZ
    )
    assert in_quiet_hours(datetime(2026, 11, 23, 12, 0, tzinfo=VIETNAM_TZ), "21:00-07:00") is None


def test_webhook_signature_is_hmac_of_timestamp_and_body() -> None:
    """The signature changes with secret, timestamp or body."""
    sig = sign_webhook("s3cret", 1700000000, b'{"a":1}')
    assert sig.startswith("t=1700000000,v1=") and sig != sign_webhook("other", 1700000000, b'{"a":1}')
