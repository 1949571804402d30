"""Per-document write serialisation inside one process.

FerretDB 1.24 applies an update as read → modify in Go → replace by ``_id`` with no transaction
around it, so two concurrent updates of one document lose one of them (measured: 200 concurrent
``$inc`` on one document gave 44). MongoDB applies single-document updates atomically. Every write
path that can race on one document — HTTP handlers, consumers and the outbox relay — takes the
document's lock from here, which makes the single-document outbox safe within a process on both
stores. See docs/adr/0002-ferretdb-lost-updates.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any


class DocumentLocks:
    """Async locks keyed by (collection, document id); entries vanish when unused."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, Any], tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, collection: str, doc_id: Any) -> AsyncIterator[None]:
        """Hold the lock of one document while its update runs."""
        key = (collection, doc_id)
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


_locks = DocumentLocks()


def document_lock(collection: Any, doc_id: Any) -> contextlib.AbstractAsyncContextManager[None]:
    """The process-wide lock of document ``doc_id`` in ``collection`` (a motor collection or its name)."""
    name = collection if isinstance(collection, str) else collection.full_name
    return _locks.hold(name, doc_id)
