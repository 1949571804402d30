"""In-process fan-out of timeline entries to live listeners (the SSE streams of this instance)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from shared.http import ApiError


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


class StreamSlots:
    """Caps on open SSE streams of this instance: per dossier and per client (each stream costs a connection
    and a store read every NOTIFY_STREAM_POLL_INTERVAL)."""

    def __init__(self, *, per_dossier: int, per_client: int) -> None:
        self.per_dossier, self.per_client = per_dossier, per_client
        self._by_dossier: dict[str, int] = defaultdict(int)
        self._by_client: dict[str, int] = defaultdict(int)
        self._open: set[object] = set()

    def take(self, dossier_id: str, client: str) -> tuple[str, str, object]:
        """A slot for a new stream; ApiError 429 when the dossier or the client has too many open."""
        if self._by_dossier[dossier_id] >= self.per_dossier:
            raise ApiError(429, "too_many_streams", "too many live streams follow this dossier", headers=_RETRY)
        if self._by_client[client] >= self.per_client:
            raise ApiError(429, "too_many_streams", "too many live streams from this client", headers=_RETRY)
        token = object()
        self._by_dossier[dossier_id] += 1
        self._by_client[client] += 1
        self._open.add(token)
        return dossier_id, client, token

    def release(self, slot: tuple[str, str, object]) -> None:
        """Give the slot back (idempotent: the stream's end and the response's end both call it)."""
        dossier_id, client, token = slot
        if token not in self._open:
            return
        self._open.discard(token)
        for counts, key in ((self._by_dossier, dossier_id), (self._by_client, client)):
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]

    def open_streams(self) -> int:
        """Streams open on this instance."""
        return len(self._open)


_RETRY = {"Retry-After": "30"}
