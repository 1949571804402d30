"""Message templates per event kind and language (jinja2, StrictUndefined), built and checked at start-up."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2

LOCALES = ("vi", "en")
CHANNELS = ("sms", "email")
SAMPLE = {
    "code": "00070.TTHCC-261122-0001",
    "procedure": "Đăng ký khai sinh",
    "office": "Ủy ban nhân dân Phường Hoàn Kiếm",
    "due_at": "17:00 25/11/2026",
    "reason": "Thiếu bản chính giấy chứng sinh",
}


class TemplateBuildError(Exception):
    """A template of the set does not render with its kind's variables."""


@dataclass(frozen=True)
class Rendered:
    """A rendered message: subject (e-mail only) and text."""

    subject: str | None
    text: str


class TemplateSet:
    """All templates of one version; ``build()`` renders each against a sample so errors surface at start-up."""

    def __init__(
        self, loader: jinja2.BaseLoader | None = None, kinds: list[str] | None = None, version: str | None = None
    ) -> None:
        root = resources.files("services.notify") / "templates"
        manifest = json.loads((root / "manifest.json").read_text("utf-8"))
        self.version = version or manifest["version"]
        self.kinds = kinds or list(manifest["kinds"])
        self._env = jinja2.Environment(
            loader=loader or jinja2.FunctionLoader(lambda name: (root / name).read_text("utf-8")),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701 - SMS and plain-text e-mail, never HTML
            keep_trailing_newline=False,
        )

    def build(self) -> TemplateSet:
        """Render every (kind, locale, channel) with the sample context; TemplateBuildError on the first failure."""
        for kind in self.kinds:
            for locale in LOCALES:
                for channel in CHANNELS:
                    try:
                        self.render(kind, locale, channel, SAMPLE)
                    except jinja2.TemplateError as exc:
                        raise TemplateBuildError(f"{locale}/{kind}.{channel}.j2: {exc}") from exc
        return self

    def render(self, kind: str, locale: str, channel: str, context: dict[str, Any]) -> Rendered:
        """Render one message."""
        text = self._env.get_template(f"{locale}/{kind}.{channel}.j2").render(**context).strip()
        if channel == "email":
            subject, _, body = text.partition("\n---\n")
            return Rendered(subject.strip(), body.strip())
        return Rendered(None, text)
