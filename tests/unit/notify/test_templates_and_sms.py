"""Notify's pure rules: templates (built and checked at start-up), SMS length, quiet hours, webhook signatures."""

from __future__ import annotations

from datetime import UTC, datetime

import jinja2
import pytest
from pydantic import ValidationError

from services.notify.domain import webhooks
from services.notify.domain.quiet_hours import parse_window, resume_at
from services.notify.domain.templates import (
    SAMPLE,
    TemplateBuildError,
    TemplateSet,
    fold_to_ascii,
    longest_sample,
    segments,
)
from services.notify.domain.view import CONTEXT_KEYS, from_received, from_routed, from_status
from services.notify.settings import NotifySettings
from shared.events import ResultDocument
from shared.reference.legal_clock import VIETNAM_TZ
from tests.unit.notify.builders import received, routed, status_changed

GOOD = {
    "sms": "{{ code }} hẹn {{ due_at }}",
    "email": "Hồ sơ {{ code }}\n---\n{{ code }} {{ due_at }}",
}


def _set(overrides: dict[str, str] | None = None, kinds: tuple[str, ...] = ("received",)) -> TemplateSet:
    templates = {f"{loc}/{kind}.{ch}.j2": GOOD[ch] for loc in ("vi", "en") for kind in kinds for ch in ("sms", "email")}
    templates.update(overrides or {})
    manifest = {"version": "test", "kinds": list(kinds), "sms_must_show": {"received": ["due_at"]}}
    return TemplateSet(loader=jinja2.DictLoader(templates), manifest=manifest)


def test_shipped_template_set_builds_and_each_sms_shows_the_code() -> None:
    """Every shipped template renders; each SMS names the dossier code; the set carries a version."""
    templates = TemplateSet().build()
    assert templates.version and templates.built
    for kind in templates.kinds:
        for locale in ("vi", "en"):
            assert SAMPLE["code"] in templates.render(kind, locale, "sms", SAMPLE).text


def test_bad_template_variable_fails_the_build() -> None:
    """A template using an unknown variable fails the build of the set, not a send at run time."""
    bad = _set({"en/received.email.j2": "S {{ code }}\n---\n{{ code }} {{ no_such_variable }}"})
    with pytest.raises(TemplateBuildError, match=r"en/received.email.j2: 'no_such_variable' is undefined"):
        bad.build()
    assert not bad.built


def test_a_minimal_good_set_builds() -> None:
    """The control for the failing builds below: the same set without the fault builds."""
    assert _set().build().built


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"vi/received.sms.j2": "Hồ sơ đã nhận, hẹn {{ due_at }}"}, "must show the dossier code"),
        ({"vi/received.sms.j2": "Hồ sơ {{ code }} đã nhận"}, "must show {{ due_at }}"),
        ({"en/received.email.j2": "{{ code }} without a subject separator"}, "must show the dossier code"),
        ({"vi/received.sms.j2": "{{ code }} {{ due_at }} " + "ồ" * 300}, "segments, more than 4"),
        ({"vi/received.sms.j2": "{{ code }} {{ due_at }} {% if %}"}, "vi/received.sms.j2"),
    ],
)
def test_rules_of_the_set_fail_the_build(override: dict[str, str], message: str) -> None:
    """No code, no due date where it matters, a missing subject, an overlong SMS or a syntax error fail the build."""
    with pytest.raises(TemplateBuildError, match=message.replace("{", r"\{").replace("}", r"\}")):
        _set(override).build()


def test_every_event_gives_exactly_the_context_the_build_checked() -> None:
    """Run-time contexts have the sample's keys, so a template that built cannot hit an undefined variable later."""
    r = received()
    changes = [
        from_received("e1", r),
        from_routed("e2", routed(r)),
        from_routed("e3", routed(r, parked=True)),
        from_status("e4", status_changed(r, "accepted", 2)),
    ]
    assert all(tuple(c.context) == CONTEXT_KEYS for c in changes)
    assert [c.kind for c in changes] == ["received", "routed", "parked", "accepted"]
    assert changes[0].context["due_at"] == r.due_at.astimezone(VIETNAM_TZ).strftime("%H:%M %d/%m/%Y")


def test_overdue_and_apology_have_their_own_messages() -> None:
    """Status events are told by action where it matters (a rating emits no status event at all)."""
    r = received()
    assert from_status("e", status_changed(r, "in_process", 3, action="overdue", overdue=True)).kind == "overdue"
    assert from_status("e", status_changed(r, "in_process", 4, action="apology")).kind == "apology"


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("Ho so da nhan", "GSM-7", 1),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("[" * 80, "GSM-7", 1),
        ("[" * 81, "GSM-7", 2),
        ("Hồ sơ đã nhận", "UCS-2", 1),
        ("ồ" * 70, "UCS-2", 1),
        ("ồ" * 71, "UCS-2", 2),
        ("ồ" * 134, "UCS-2", 2),
        ("ồ" * 135, "UCS-2", 3),
    ],
)
def test_segments(text: str, encoding: str, parts: int) -> None:
    """GSM-7 160/153 (extension characters count twice) and UCS-2 70/67 character segments."""
    assert segments(text) == (encoding, parts)


def test_ascii_folding_makes_vietnamese_gsm7() -> None:
    """Folded Vietnamese fits GSM-7 and so takes fewer segments."""
    text = TemplateSet().build().render("received", "vi", "sms", SAMPLE).text
    assert segments(text)[0] == "UCS-2"
    assert fold_to_ascii("Hồ sơ Đăng ký khai sinh") == "Ho so Dang ky khai sinh"
    assert segments(fold_to_ascii(text))[0] == "GSM-7"
    assert segments(fold_to_ascii(text))[1] <= segments(text)[1]


def test_quiet_hours_window_across_midnight() -> None:
    """21:00–07:00: 23:00 and 05:00 are quiet (resume at 07:00), noon and 07:00 are not."""

    def at(hour: int, day: int = 23) -> datetime:
        return datetime(2026, 11, day, hour, 0, tzinfo=VIETNAM_TZ)

    assert resume_at(at(23), "21:00-07:00") == at(7, 24)
    assert resume_at(at(5), "21:00-07:00") == at(7)
    assert resume_at(at(12), "21:00-07:00") is None
    assert resume_at(at(7), "21:00-07:00") is None
    assert resume_at(at(12).astimezone(UTC), "11:30-13:00") == at(13).replace(minute=0)
    assert resume_at(at(23), "") is None


@pytest.mark.parametrize("window", ["9pm-7am", "21:00", "25:00-07:00", "07:00-07:00"])
def test_malformed_quiet_hours_are_refused_at_start(window: str) -> None:
    """A quiet-hours setting that is not HH:MM-HH:MM (or empty) stops the settings from loading."""
    with pytest.raises(ValueError):
        parse_window(window)
    with pytest.raises(ValidationError):
        NotifySettings(quiet_hours=window)


def test_http_sms_provider_needs_a_url() -> None:
    """An http provider without a url is refused when settings load, not at the first send."""
    with pytest.raises(ValidationError, match="needs a url"):
        NotifySettings(sms_providers=[{"name": "gw", "kind": "http"}])


def test_webhook_signature_is_hmac_of_timestamp_and_body() -> None:
    """The signature verifies, and changes with secret, timestamp or body."""
    body = b'{"a":1}'
    sig = webhooks.sign("s3cret", 1700000000, body)
    assert sig.startswith("t=1700000000,v1=") and webhooks.verify("s3cret", sig, body)
    assert not webhooks.verify("other", sig, body)
    assert not webhooks.verify("s3cret", sig, b'{"a":2}')
    assert sig != webhooks.sign("s3cret", 1700000001, body)
    assert not webhooks.verify("s3cret", "garbage", body)


def test_webhook_body_carries_no_personal_data() -> None:
    """Contact, preferences and the token hash never leave notify in a webhook."""
    r = received()
    body = webhooks.webhook_body(
        event_id="e", event_type="t", subject=r.dossier_code, time="now", data=r.model_dump(mode="json")
    )
    assert {"contact", "notify", "tracking_token_sha256"}.isdisjoint(body["data"])
    assert body["data"]["dossier_code"] == r.dossier_code


def test_due_date_is_shown_in_vietnam_time() -> None:
    """A due date stored in UTC is shown to citizens in Asia/Ho_Chi_Minh time."""
    r = received(due_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
    assert from_received("e", r).context["due_at"] == "17:00 25/11/2026"


SHIPPED = TemplateSet().build()
ROUTING_PARKED_REASON = (
    "Chưa có cơ quan có thẩm quyền đang tiếp nhận; hồ sơ được giữ và sẽ chuyển khi cơ quan mở lại. / "
    "No competent office is open (rule R20-boundary-free-commune); the dossier is parked and will be routed when "
    "one reopens."
)


def _sms(kind: str, locale: str, context: dict[str, str]) -> str:
    return SHIPPED.render(kind, locale, "sms", context).text


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_every_sms_with_the_longest_real_names_fits_its_declared_budget(locale: str) -> None:
    """With the country's longest office and procedure names, a 5-digit sequence and a 2,000-character reason,
    each SMS kind stays within the segment budget the manifest declares for it, with and without diacritics."""
    longest = longest_sample()
    assert len(longest["office"]) >= 60 and len(longest["procedure"]) >= 100  # real names, not a short sample
    assert set(SHIPPED.sms_segments) == set(SHIPPED.kinds)
    for kind in SHIPPED.kinds:
        text = _sms(kind, locale, longest)
        for variant in (text, fold_to_ascii(text)):
            assert segments(variant)[1] <= SHIPPED.budget(kind) <= 4, (kind, locale, segments(variant))


def test_an_sms_that_does_not_shorten_a_long_reason_fails_the_build() -> None:
    """The budget is checked with the longest values: a reason shown in full breaks a 4-segment budget."""
    with pytest.raises(TemplateBuildError, match="segments, more than 4"):
        _set({"vi/received.sms.j2": "{{ code }} {{ due_at }} {{ reason }}"}).build()


def test_parked_sms_has_no_english_and_no_rule_id() -> None:
    """The Vietnamese "parked" SMS is Vietnamese only (routing's reason carries English and the rule id)."""
    r = received()
    parked = from_routed("e", routed(r, parked=True).model_copy(update={"reason": ROUTING_PARKED_REASON}))
    vi, en = _sms("parked", "vi", parked.context), _sms("parked", "en", parked.context)
    assert r.dossier_code in vi and "cơ quan" in vi
    for foreign in ("rule", "R20", "No competent", "parked", "office"):
        assert foreign not in vi, foreign
    assert "Chưa" not in en and "R20" not in en and r.dossier_code in en


def test_status_sms_name_the_office_and_english_sms_the_english_procedure() -> None:
    """Status events carry only the office code: the SMS shows the office's name (in each language), and an
    English SMS shows the procedure's English name."""
    r = received()
    accepted = from_status("e", status_changed(r, "accepted", 2)).context
    assert "Ủy ban nhân dân Phường Hoàn Kiếm" in _sms("accepted", "vi", accepted)
    assert "People's Committee of Phường Hoàn Kiếm" in _sms("accepted", "en", accepted)
    assert "00070.UBND" not in _sms("accepted", "vi", accepted) + _sms("accepted", "en", accepted)
    department = from_status("e", status_changed(r, "accepted", 2, office_code="P22.SNNMT")).context
    assert "Sở Nông nghiệp và Môi trường tỉnh Quảng Ninh" in _sms("accepted", "vi", department)
    receipt = from_received("e", r).context
    assert "Birth registration" in _sms("received", "en", receipt)
    assert "Đăng ký khai sinh" not in _sms("received", "en", receipt)
    assert "Đăng ký khai sinh" in _sms("received", "vi", receipt)


def test_an_intermediate_chain_result_is_told_as_a_step_and_the_last_as_the_result() -> None:
    """A chain step's result goes on to the next office: its message says so (no "come and collect"), the
    timeline marks it step 1 of 3; the last step's result is told as the citizen's result."""
    r = received()
    chain = ["LT-HT-001", "LT-CT-001", "LT-BH-001"]

    def signed(document_id: str) -> ResultDocument:
        return ResultDocument(
            document_id=document_id,
            sha256="0" * 64,
            signature="c2ln",
            signed_by_office="00070.UBND",
            verify_url=f"http://127.0.0.1:8003/verify?id={document_id}",
        )

    first = from_status(
        "e1", status_changed(r, "result_ready", 4, action="approve", chain=chain, chain_step=0, result=signed("s1"))
    )
    last = from_status(
        "e3", status_changed(r, "result_ready", 4, action="approve", chain=chain, chain_step=2, result=signed("s3"))
    )
    alone = from_status("e4", status_changed(r, "result_ready", 4, action="approve"))
    assert (first.kind, first.message_kind, first.timeline_entry().chain_step) == (
        "result_ready",
        "step_result_ready",
        1,
    )
    assert first.timeline_entry().chain_steps == 3
    assert (last.message_kind, alone.message_kind, alone.timeline_entry().chain_steps) == (
        "result_ready",
        "result_ready",
        None,
    )
    step_sms = _sms(first.message_kind, "vi", first.context)
    assert "chuyển tiếp" in step_sms and "Mời nhận" not in step_sms
    assert "Mời nhận" in _sms(last.message_kind, "vi", last.context)
    # only the last step's signed result is the citizen's link (tracking page, result and return SMS)
    assert (first.result_url, first.context["result_url"]) == (None, "")
    assert last.result_url == last.context["result_url"] == "http://127.0.0.1:8003/verify?id=s3"
    assert last.result_url in _sms(last.message_kind, "vi", last.context)
