"""When a Kafka subscriber counts as alive: every consume loop (one per worker) has a live copy."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from shared.runtime import _subscriber_alive


class _Loops:
    async def _run_consume_loop(self, _consumer: object) -> None:
        await asyncio.sleep(3600)


@dataclass
class _Subscriber:
    consumer_subgroup: list[object]
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


async def _settled(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_all_loops_running_is_alive_and_one_lost_is_dead() -> None:
    """Two workers, two live loops: alive; one cancelled and not replaced: dead; a restarted copy: alive again."""
    loops = _Loops()
    subscriber = _Subscriber(consumer_subgroup=[object(), object()])
    subscriber.tasks = [asyncio.create_task(loops._run_consume_loop(c)) for c in subscriber.consumer_subgroup]
    try:
        assert _subscriber_alive(subscriber)
        await _settled(subscriber.tasks[0])
        assert not _subscriber_alive(subscriber)
        # what FastStream's supervisor does after a crash: a new task, the dead one stays in the list
        subscriber.tasks.append(asyncio.create_task(loops._run_consume_loop(subscriber.consumer_subgroup[0])))
        assert _subscriber_alive(subscriber)
    finally:
        for task in subscriber.tasks:
            await _settled(task)


async def test_a_subscriber_without_tasks_is_dead() -> None:
    """A stopped subscriber (its tasks cleared) is not consuming."""
    assert not _subscriber_alive(_Subscriber(consumer_subgroup=[]))
