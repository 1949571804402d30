"""shared.aio: a wait with a time limit that never loses a cancellation (the outbox relay's stop at a kick)."""

from __future__ import annotations

import asyncio

import pytest

from shared.aio import wait_event


async def _loop(event: asyncio.Event, woken: list[int]) -> None:
    """The shape of every background loop here: wait for a wake-up or the interval, clear, work, repeat."""
    while True:
        await wait_event(event, 30)
        event.clear()
        woken.append(1)


async def test_a_cancellation_that_meets_a_wake_up_stops_the_loop() -> None:
    event = asyncio.Event()
    woken: list[int] = []
    task = asyncio.create_task(_loop(event, woken))
    await asyncio.sleep(0.01)  # the loop waits
    event.set()  # a writer's kick ...
    task.cancel()  # ... in the same moment as stop()
    done, _ = await asyncio.wait({task}, timeout=2)
    assert task in done, "the loop ran on: the cancellation was swallowed (asyncio.wait_for on Python 3.11)"
    assert task.cancelled()


async def test_it_returns_whether_the_event_was_set() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_event(event, 5) is True


async def test_an_outer_cancellation_is_not_taken_for_the_time_limit() -> None:
    task = asyncio.create_task(wait_event(asyncio.Event(), 30))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
