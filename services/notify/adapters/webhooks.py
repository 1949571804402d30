"""Outgoing webhook POSTs to app back ends (httpx), only to public addresses checked at every delivery."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import httpx

from services.notify.domain.webhooks import Networks, address_problem, url_problem

Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class UnsafeWebhookUrl(ValueError):
    """The URL (or what its name resolves to now) may not receive webhooks."""


class HttpWebhookClient:
    """POSTs one signed delivery; answers the HTTP status, or raises WebhookUnreachable.

    The host is resolved, every address checked, and the connection made to the checked address (Host
    header and TLS server name stay the URL's), so a name that re-resolves to an internal address between
    the check and the connection (DNS rebinding) reaches nothing. Redirects are never followed.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        timeout: float,
        production: bool,
        allowed_networks: Networks = (),
        resolver: Resolver = resolve,
    ) -> None:
        self._client = client
        self._timeout = timeout
        self._production = production
        self._allowed = allowed_networks
        self._resolve = resolver

    async def check(self, url: str) -> str:
        """The address a delivery to ``url`` would connect to now; UnsafeWebhookUrl when it may not."""
        if (problem := url_problem(url, production=self._production, allowed_networks=self._allowed)) is not None:
            raise UnsafeWebhookUrl(problem)
        parts = urlsplit(url)
        host = (parts.hostname or "").strip("[]")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = [host] if _is_ip(host) else await self._resolve(host, port)
        except OSError as exc:
            raise UnsafeWebhookUrl(f"host {host!r} does not resolve ({type(exc).__name__})") from None
        if not addresses:
            raise UnsafeWebhookUrl(f"host {host!r} does not resolve")
        for address in addresses:
            if (problem := address_problem(address, allowed_networks=self._allowed)) is not None:
                raise UnsafeWebhookUrl(f"{host} resolves to a refused address: {problem}")
        return addresses[0]

    async def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> int:
        """Send the delivery; the subscriber's HTTP status code."""
        try:
            address = await self.check(url)
        except UnsafeWebhookUrl as exc:
            raise WebhookUnreachable(f"refused: {exc}") from exc
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc_ip = f"[{address}]" if ":" in address else address
        pinned = urlunsplit(parts._replace(netloc=f"{netloc_ip}:{parts.port}" if parts.port else netloc_ip))
        request_headers = {**headers, "Host": parts.netloc.rpartition("@")[2]}
        try:
            response = await self._client.post(
                pinned,
                content=body,
                headers=request_headers,
                timeout=self._timeout,
                follow_redirects=False,
                extensions={"sni_hostname": host},
            )
        except httpx.HTTPError as exc:
            raise WebhookUnreachable(type(exc).__name__) from exc
        return response.status_code


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class WebhookUnreachable(Exception):
    """The subscriber could not be reached (connection refused, time-out, refused address, ...)."""
