"""Abuse limits: per-client requests, failed attempts per client and per target, 429 with Retry-After."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from shared.abuse import AbuseGuard, MemoryCounters
from shared.http import ApiError


def request(host: str) -> Request:
    """A bare request from ``host``."""
    return Request({"type": "http", "client": (host, 1234), "headers": [], "method": "GET", "path": "/"})


def guard(clock: list[float]) -> AbuseGuard:
    return AbuseGuard(
        MemoryCounters(clock=lambda: clock[0]),
        client_limit="5/minute",
        failure_limit="3/minute",
        target_failure_limit="4/hour",
        service="test",
    )


async def test_a_client_over_its_request_limit_gets_429_with_retry_after() -> None:
    """The sixth request in a minute is refused with the seconds left in the window; the next window admits."""
    clock = [600.0]
    g = guard(clock)
    for _ in range(5):
        await g.admit(request("198.51.100.1"), "verify")
    with pytest.raises(ApiError) as refused:
        await g.admit(request("198.51.100.1"), "verify")
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "60"}
    await g.admit(request("198.51.100.2"), "verify")  # another client is not affected
    clock[0] += 60
    await g.admit(request("198.51.100.1"), "verify")


async def test_after_failed_guesses_even_the_right_token_is_refused() -> None:
    """Three wrong tokens from one client stop that client; four on one code stop every client on it."""
    clock = [0.0]
    g = guard(clock)
    for _ in range(3):
        await g.admit(request("198.51.100.1"), "track", target="CODE-1", count=False)
        await g.failed(request("198.51.100.1"), "track", target="CODE-1")
    with pytest.raises(ApiError, match="failed attempts from this client"):
        await g.admit(request("198.51.100.1"), "track", target="CODE-2", count=False)
    await g.failed(request("198.51.100.9"), "track", target="CODE-1")
    with pytest.raises(ApiError, match="failed attempts on this item"):
        await g.admit(request("198.51.100.7"), "track", target="CODE-1", count=False)
    await g.admit(request("198.51.100.7"), "track", target="CODE-2", count=False)
