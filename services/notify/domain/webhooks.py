"""Signed webhook deliveries for app back ends: body, signature and the retry schedule (pure)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

#: Fields that never leave notify in a webhook (personal data and the citizen's secret).
PRIVATE_FIELDS = frozenset({"contact", "tracking_token_sha256", "notify"})

#: Documented backoff table (seconds before retry n); NOTIFY_WEBHOOK_BACKOFF overrides it.
DEFAULT_BACKOFF: tuple[float, ...] = (10, 30, 120, 600, 3600, 21600)


def webhook_body(
    *, event_id: str, event_type: str, subject: str | None, time: str, data: dict[str, Any]
) -> dict[str, Any]:
    """The JSON POSTed to a subscriber: the CloudEvent without personal data."""
    return {
        "id": event_id,
        "type": event_type,
        "subject": subject,
        "time": time,
        "data": {k: v for k, v in data.items() if k not in PRIVATE_FIELDS},
    }


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">`` (the timestamp defeats replays of old bodies)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes) -> bool:
    """True when ``header`` is a valid signature of ``body`` (what a subscriber does)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return False
    return hmac.compare_digest(sign(secret, int(parts["t"]), body), header)


# -- where a webhook may go (SSRF) -------------------------------------------------------------------
#: Names of cloud metadata services and local names, refused whatever they resolve to.
BLOCKED_NAMES = frozenset(
    {
        "localhost",
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
BLOCKED_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")
#: Metadata addresses named explicitly (most are link-local or private anyway).
METADATA_ADDRESSES = frozenset({"169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254"})
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def url_problem(url: str, *, production: bool, allowed_networks: Networks = ()) -> str | None:
    """Why ``url`` may not receive webhooks, judged from its text alone; None when it may (pending DNS)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed:
        return f"the scheme must be {' or '.join(allowed)}"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL are not accepted"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "the URL has no host"
    if port == 0:
        return "port 0 is not a port"
    literal = _ip_literal(host)
    if literal is not None:
        return address_problem(literal, allowed_networks=allowed_networks)
    if numeric_host_form(host):
        return "numeric, hexadecimal or octal host forms are not accepted; give a name or a dotted address"
    if host in BLOCKED_NAMES or host.endswith(BLOCKED_SUFFIXES):
        return f"host {host!r} is internal"
    return None


def numeric_host_form(host: str) -> bool:
    """True for 0x7f000001, 2130706433, 0177.0.0.1, 127.1 and the like (resolvers read them as addresses)."""
    return all(_NUMERIC_LABEL.match(label) for label in host.rstrip(".").split(".")) and _ip_literal(host) is None


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    dotted = re.fullmatch(r"(\d{1,3}\.){3}\d{1,3}", host)
    if dotted and not any(p.startswith("0") and p != "0" for p in host.split(".")):
        try:
            return ipaddress.IPv4Address(host)
        except ValueError:  # 300.1.1.1
            return None
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.strip("[]"))
        except ValueError:
            return None
    return None


def address_problem(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | str,
    *,
    allowed_networks: Networks,
) -> str | None:
    """Why a resolved address may not receive webhooks (private, loopback, link-local, metadata, reserved)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allowed_networks):
        return None
    if str(ip) in METADATA_ADDRESSES:
        return f"address {ip} is a cloud metadata service"
    for flag, what in (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_private, "private"),
        (ip.is_multicast, "multicast"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "not globally routable"),
    ):
        if flag:
            return f"address {ip} is {what}"
    return None
