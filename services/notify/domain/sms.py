"""SMS length rules: GSM-7 (160/153 characters) versus UCS-2 (70/67) — Vietnamese diacritics mean UCS-2."""

from __future__ import annotations

import math
import unicodedata

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
