"""In-process fan-out of timeline entries to live listeners (the SSE streams of this instance)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any


class LiveUpdates:
    """Per-dossier queues fed by the consumers; each open SSE stream holds one."""

    def __init__(self, *, queue_size: int = 100) -> None:
        self._listeners: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._queue_size = queue_size

    def listen(self, dossier_id: str) -> asyncio.Queue[dict[str, Any]]:
        """A queue that receives every new entry of the dossier."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=self._queue_size)
        self._listeners[dossier_id].add(queue)
        return queue

    def stop(self, dossier_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop delivering to ``queue``."""
        listeners = self._listeners.get(dossier_id)
        if listeners is not None:
            listeners.discard(queue)
            if not listeners:
                del self._listeners[dossier_id]

    def publish(self, dossier_id: str, entry: dict[str, Any]) -> None:
        """Push an entry to every listener (a full queue drops it; that stream catches up from the store)."""
        for queue in list(self._listeners.get(dossier_id, ())):
            if not queue.full():
                queue.put_nowait(entry)

    def listeners(self, dossier_id: str) -> int:
        """How many streams follow the dossier on this instance."""
        return len(self._listeners.get(dossier_id, ()))
