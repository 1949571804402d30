"""Message templates per event kind and language (jinja2, StrictUndefined), built and checked at start-up against
the SMS length rules (GSM-7 or UCS-2 segments) at the end of this module."""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2

from services.notify.domain.view import CONTEXT_KEYS
from shared.reference.offices import longest_office_name
from shared.reference.procedures import load_catalogue

LOCALES = ("vi", "en")
CHANNELS = ("sms", "email")
#: The sample every template is rendered with at build time; its keys are exactly the run-time context keys.
SAMPLE: dict[str, str] = {
    "code": "00070.TTHCC-261122-0001",
    "procedure": "Đăng ký khai sinh",
    "procedure_en": "Birth registration",
    "office": "Ủy ban nhân dân Phường Hoàn Kiếm",
    "office_en": "People's Committee of Phường Hoàn Kiếm",
    "due_at": "17:00 25/11/2026",
    "reason": "Thiếu bản chính giấy chứng sinh",
    "result_url": "http://127.0.0.1:8003/verify?id=1f0c2a9e-3b7d-4c55-9d0e-6a1b2c3d4e5f",
}
assert tuple(SAMPLE) == CONTEXT_KEYS
#: Longest reason an official may write (resolution's limit); an SMS must shorten it to keep its budget.
LONGEST_REASON = ("Thiếu bản chính giấy chứng sinh và sơ đồ thửa đất có xác nhận; " * 40)[:2000]
#: Longest result link: resolution's public base URL is at most ``RESULT_BASE_URL_MAX`` characters
#: (``RESOLUTION_PUBLIC_BASE_URL``, checked there), then ``/verify?id=`` and the result's UUID.
RESULT_BASE_URL_MAX = 40
LONGEST_RESULT_URL = "https://" + "d" * (RESULT_BASE_URL_MAX - len("https://")) + "/verify?id=" + "f" * 36


def longest_sample() -> dict[str, str]:
    """The context with the longest real values: office and procedure names of the whole country, a 5-digit
    sequence in the code and the longest reason; every SMS must fit its segment budget with it."""
    procedures = load_catalogue().all()
    return {
        "code": "00070.TTHCC-261122-12345",
        "procedure": max((p.name for p in procedures), key=len),
        "procedure_en": max((p.name_en for p in procedures), key=len),
        "office": longest_office_name("vi"),
        "office_en": longest_office_name("en"),
        "due_at": "17:00 25/11/2026",
        "reason": LONGEST_REASON,
        "result_url": LONGEST_RESULT_URL,
    }


class TemplateBuildError(Exception):
    """A template of the set does not render with its kind's variables, or breaks a rule of the set."""


@dataclass(frozen=True)
class Rendered:
    """A rendered message: subject (e-mail only) and text."""

    subject: str | None
    text: str


def _package_loader() -> jinja2.BaseLoader:
    root = resources.files("services.notify") / "templates"
    return jinja2.FunctionLoader(lambda name: (root / name).read_text("utf-8"))


def _manifest() -> dict[str, Any]:
    root = resources.files("services.notify") / "templates"
    manifest: dict[str, Any] = json.loads((root / "manifest.json").read_text("utf-8"))
    return manifest


class TemplateSet:
    """All templates of one version; ``build()`` renders each against a sample so errors surface at start-up."""

    def __init__(
        self,
        loader: jinja2.BaseLoader | None = None,
        kinds: list[str] | None = None,
        version: str | None = None,
        manifest: dict[str, Any] | None = None,
    ) -> None:
        manifest = manifest or _manifest()
        self.version: str = version or manifest["version"]
        self.kinds: list[str] = kinds or list(manifest["kinds"])
        self.sms_must_show: dict[str, list[str]] = manifest.get("sms_must_show", {})
        self.max_sms_segments: int = int(manifest.get("max_sms_segments", 4))
        #: per-kind budgets declared in the manifest (``sms_segments``); others get ``max_sms_segments``
        self.sms_segments: dict[str, int] = {k: int(v) for k, v in manifest.get("sms_segments", {}).items()}
        self.built = False
        self._env = jinja2.Environment(
            loader=loader or _package_loader(),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701 - SMS and plain-text e-mail, never HTML
            keep_trailing_newline=False,
        )

    def budget(self, kind: str) -> int:
        """The declared most SMS segments of ``kind``."""
        return self.sms_segments.get(kind, self.max_sms_segments)

    def build(self) -> TemplateSet:
        """Render every (kind, locale, channel) with the sample and the longest values; TemplateBuildError on the
        first problem."""
        longest = longest_sample()
        for kind in self.kinds:
            for locale in LOCALES:
                for channel in CHANNELS:
                    name = f"{locale}/{kind}.{channel}.j2"
                    try:
                        rendered = self.render(kind, locale, channel, SAMPLE)
                        widest = self.render(kind, locale, channel, longest)
                    except jinja2.TemplateError as exc:
                        raise TemplateBuildError(f"{name}: {exc}") from exc
                    self._check(name, kind, channel, rendered)
                    if channel == "sms":
                        self._check_length(name, kind, widest)
        self.built = True
        return self

    def _check(self, name: str, kind: str, channel: str, rendered: Rendered) -> None:
        """Rules of the set: the code always, the due date or reason where it matters, a bounded SMS length."""
        if SAMPLE["code"] not in rendered.text:
            raise TemplateBuildError(f"{name}: the message must show the dossier code ({{{{ code }}}})")
        if channel == "email" and not rendered.subject:
            raise TemplateBuildError(f"{name}: an e-mail template starts with a subject line, then '---'")
        if channel != "sms":
            return
        for variable in self.sms_must_show.get(kind, []):
            if SAMPLE[variable] not in rendered.text:
                raise TemplateBuildError(f"{name}: a {kind} SMS must show {{{{ {variable} }}}}")
        self._check_length(name, kind, rendered)

    def _check_length(self, name: str, kind: str, rendered: Rendered) -> None:
        """The SMS fits its kind's budget, with diacritics (UCS-2) and folded to ASCII (GSM-7)."""
        for text in (rendered.text, fold_to_ascii(rendered.text)):
            encoding, parts = segments(text)
            if parts > self.budget(kind):
                raise TemplateBuildError(f"{name}: {parts} {encoding} segments, more than {self.budget(kind)}")

    def render(self, kind: str, locale: str, channel: str, context: dict[str, Any]) -> Rendered:
        """Render one message (``locale`` falls back to Vietnamese when unknown)."""
        locale = locale if locale in LOCALES else "vi"
        # notifications stored before a variable was added still render (it is empty for them)
        context = dict.fromkeys(CONTEXT_KEYS, "") | context
        text = self._env.get_template(f"{locale}/{kind}.{channel}.j2").render(**context).strip()
        if channel == "email":
            subject, _, body = text.partition("\n---\n")
            return Rendered(subject.strip(), body.strip())
        return Rendered(None, text)


# -- SMS length rules: GSM-7 (160/153 characters) versus UCS-2 (70/67); Vietnamese diacritics mean UCS-2 --
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXT = set("^{}\\[~]|€")


def is_gsm7(text: str) -> bool:
    """True when every character fits the GSM 03.38 alphabet (with its extension table)."""
    return all(c in _GSM7 or c in _GSM7_EXT for c in text)


def segments(text: str) -> tuple[str, int]:
    """(encoding, number of SMS segments) for ``text``."""
    if is_gsm7(text):
        units = sum(2 if c in _GSM7_EXT else 1 for c in text)
        return "GSM-7", 1 if units <= 160 else math.ceil(units / 153)
    units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
    return "UCS-2", 1 if units <= 70 else math.ceil(units / 67)


def fold_to_ascii(text: str) -> str:
    """Vietnamese without diacritics (``Hồ sơ`` → ``Ho so``) for gateways that only take GSM-7."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
