"""Outgoing webhook POSTs to app back ends (httpx)."""

from __future__ import annotations

import httpx


class HttpWebhookClient:
    """POSTs one signed delivery; answers the HTTP status, or raises WebhookUnreachable."""

    def __init__(self, client: httpx.AsyncClient, *, timeout: float) -> None:
        self._client = client
        self._timeout = timeout

    async def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> int:
        """Send the delivery; the subscriber's HTTP status code."""
        try:
            response = await self._client.post(url, content=body, headers=headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise WebhookUnreachable(type(exc).__name__) from exc
        return response.status_code


class WebhookUnreachable(Exception):
    """The subscriber could not be reached (connection refused, time-out, ...)."""
