"""The write batcher: concurrent single writes share one store command, each waiter gets its own result."""

from __future__ import annotations

import asyncio

import pytest

from services.routing.adapters.repositories import Batcher


async def test_concurrent_writes_share_one_call_and_keep_their_results() -> None:
    """Ten writes submitted together make one call; each caller gets the result for its own item."""
    calls: list[list[int]] = []

    async def write_many(items: list[int]) -> list[bool]:
        calls.append(items)
        return [item % 2 == 0 for item in items]

    batcher: Batcher[int, bool] = Batcher(write_many)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(10)))
    assert calls == [list(range(10))]
    assert results == [i % 2 == 0 for i in range(10)]


async def test_batches_are_bounded_and_a_failure_reaches_every_waiter_of_its_batch() -> None:
    """Over ``max_batch`` items are split; a failing batch raises in each of its callers, the next one succeeds."""
    calls: list[list[int]] = []

    async def write_many(items: list[int]) -> list[int]:
        calls.append(items)
        if 0 in items:
            raise ConnectionError("store down")
        return items

    batcher: Batcher[int, int] = Batcher(write_many, max_batch=3)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(5)), return_exceptions=True)
    assert calls == [[0, 1, 2], [3, 4]]
    assert [type(r) for r in results[:3]] == [ConnectionError] * 3 and results[3:] == [3, 4]
    with pytest.raises(ConnectionError):
        await batcher.submit(0)
