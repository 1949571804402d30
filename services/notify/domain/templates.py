"""Message templates per event kind and language (jinja2, StrictUndefined), built and checked at start-up."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2

from services.notify.domain.messages import CONTEXT_KEYS
from services.notify.domain.sms import fold_to_ascii, segments

LOCALES = ("vi", "en")
CHANNELS = ("sms", "email")
#: The sample every template is rendered with at build time; its keys are exactly the run-time context keys.
SAMPLE: dict[str, str] = {
    "code": "00070.TTHCC-261122-0001",
    "procedure": "Đăng ký khai sinh",
    "office": "Ủy ban nhân dân Phường Hoàn Kiếm",
    "due_at": "17:00 25/11/2026",
    "reason": "Thiếu bản chính giấy chứng sinh",
    "result_url": "http://127.0.0.1:8003/verify?id=1f0c2a9e-3b7d-4c55-9d0e-6a1b2c3d4e5f",
}
assert tuple(SAMPLE) == CONTEXT_KEYS


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
        self.built = False
        self._env = jinja2.Environment(
            loader=loader or _package_loader(),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701 - SMS and plain-text e-mail, never HTML
            keep_trailing_newline=False,
        )

    def build(self) -> TemplateSet:
        """Render every (kind, locale, channel) with the sample; TemplateBuildError on the first problem."""
        for kind in self.kinds:
            for locale in LOCALES:
                for channel in CHANNELS:
                    name = f"{locale}/{kind}.{channel}.j2"
                    try:
                        rendered = self.render(kind, locale, channel, SAMPLE)
                    except jinja2.TemplateError as exc:
                        raise TemplateBuildError(f"{name}: {exc}") from exc
                    self._check(name, kind, channel, rendered)
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
        for text in (rendered.text, fold_to_ascii(rendered.text)):
            encoding, parts = segments(text)
            if parts > self.max_sms_segments:
                raise TemplateBuildError(f"{name}: {parts} {encoding} segments, more than {self.max_sms_segments}")

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
