"""Personal data never reaches a log line in clear."""

from __future__ import annotations

import json
import logging

import pytest

from shared.logging import configure_logging, get_logger, scrub_personal_data
from shared.pii import keyed_hash, mask_citizen_id, mask_phone, scrub


def test_masks() -> None:
    """Masks keep only what an operator needs to tell records apart."""
    assert mask_phone("0912345678") == "*******678"
    assert mask_citizen_id("001203012345") == "001*******45"


def test_keyed_hash_is_stable_and_keyed() -> None:
    """Same value and key give the same hash; another key gives another."""
    assert keyed_hash("0912345678", key="a") == keyed_hash("0912345678", key="a")
    assert keyed_hash("0912345678", key="a") != keyed_hash("0912345678", key="b")


@pytest.mark.parametrize(
    "text",
    ["citizen 001203012345 filed", "call +84912345678 now", "call 0912 345 678", "mail an.nguyen@example.vn"],
)
def test_scrub_free_text(text: str) -> None:
    """Shapes of citizen IDs, phone numbers and e-mails are replaced in free text."""
    cleaned = scrub(text)
    for secret in ("001203012345", "912345678", "912 345 678", "an.nguyen@example.vn"):
        assert secret not in cleaned


def test_processor_masks_known_fields_and_nested_values() -> None:
    """Known keys are masked and nested values scrubbed."""
    out = scrub_personal_data(None, "info", {"event": "x", "phone": "0912345678", "ctx": {"note": "id 001203012345"}})
    assert out["phone"] == "*******678"
    assert "001203012345" not in json.dumps(out)


def test_log_output_has_no_personal_data(capsys: pytest.CaptureFixture[str]) -> None:
    """A real log line (structlog and stdlib) contains neither phone nor citizen ID."""
    configure_logging(service="test", level="INFO", fmt="json")
    get_logger("t").info("dossier_received", phone="0912345678", citizen_id="001203012345")
    logging.getLogger("thirdparty").warning("sending to 0912345678 for 001203012345")
    out = capsys.readouterr().out
    assert "dossier_received" in out
    assert "0912345678" not in out and "001203012345" not in out
