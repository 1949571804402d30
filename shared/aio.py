"""Waiting with a time limit without losing a cancellation.

On Python 3.11 ``asyncio.wait_for`` swallows a cancellation that arrives while the awaited thing completes
(CPython gh-86296, fixed by 3.12's rewrite on ``asyncio.timeout``): a background loop woken at the moment
it is stopped then runs on, and its ``stop()`` waits for ever (seen with the outbox relay: a write's kick
at shutdown). ``asyncio.timeout`` re-raises the cancellation; every wait with a time limit goes through it.
"""

from __future__ import annotations

import asyncio
import contextlib


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set, at most ``seconds``; whether it is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
