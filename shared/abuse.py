"""Abuse limits for unauthenticated paths, shared by every instance of a service (counters in its own store).

Fixed windows per (scope, key), counted in the service's own store: every instance of the service counts
into the same collection, so limits hold across instances. Two kinds of limit:

- per client: every request a client makes to a public path (``ABUSE_CLIENT_LIMIT``);
- per failure: wrong tokens, secrets or API keys, by client and by target such as a dossier code
  (``ABUSE_FAILURE_LIMIT``, ``ABUSE_TARGET_FAILURE_LIMIT``). Once over, even a right token gets 429 until
  the window ends, so guessing stops paying.

Answers over a limit are 429 with ``Retry-After``. Clients are keyed by a hash of their address (no
address is stored). Old windows are deleted as new ones begin (no TTL index on FerretDB).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from limits import RateLimitItem, parse

from shared.http import ApiError
from shared.logging import get_logger

log = get_logger(__name__)


class WindowCounters:
    """Fixed-window counters in one collection of the service's database: one document per counted event.

    Not a counter document with ``$inc``: FerretDB applies an update as read-modify-write without a
    transaction, and 50 concurrent ``$inc`` of one document left it at 7 (measured here). Inserts are
    atomic on every store, so each event is one small insert and the count is a count of the window's
    documents (indexed). Nothing is stored past the limit, so a window holds at most limit + 1 of them.
    """

    def __init__(self, db: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.collection = db["abuse_counters"]
        self.clock = clock
        self._next_cleanup = 0.0

    async def ensure_indexes(self) -> None:
        """Counting by window key; clean-up by end of window."""
        await self.collection.create_index("k", name="k")
        await self.collection.create_index("ends_at", name="ends_at")

    async def count(self, scope: str, key: str, limit: RateLimitItem, *, add: int = 1) -> tuple[int, float]:
        """Count ``add`` events in the current window of (scope, key); (events now, seconds to the window's end)."""
        window = limit.get_expiry()
        now = self.clock()
        start = math.floor(now / window) * window
        window_key = f"{scope}|{limit.amount}/{window}|{key}|{int(start)}"
        retry_after = max(start + window - now, 1.0)
        n = await self.collection.count_documents({"k": window_key})
        if add and n <= limit.amount:
            ends_at = datetime.fromtimestamp(start + window, UTC)
            await self.collection.insert_many([{"k": window_key, "ends_at": ends_at} for _ in range(add)])
            n = await self.collection.count_documents({"k": window_key})
        if now >= self._next_cleanup:
            self._next_cleanup = now + 60
            await self.collection.delete_many({"ends_at": {"$lt": datetime.fromtimestamp(now - 60, UTC)}})
        return int(n), retry_after


class MemoryCounters:
    """The same counters in this process only (a service wired to in-memory fakes)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._counts: dict[str, int] = {}

    async def count(self, scope: str, key: str, limit: RateLimitItem, *, add: int = 1) -> tuple[int, float]:
        """As WindowCounters.count."""
        window = limit.get_expiry()
        now = self.clock()
        start = math.floor(now / window) * window
        doc_id = f"{scope}|{limit.amount}/{window}|{key}|{int(start)}"
        self._counts[doc_id] = self._counts.get(doc_id, 0) + add
        return self._counts[doc_id], max(start + window - now, 1.0)


def client_key(request: Request) -> str:
    """A hash of the client's address (addresses themselves are not stored)."""
    host = request.client.host if request.client else "unknown"
    return hashlib.sha256(host.encode()).hexdigest()[:32]


def _target_key(target: str) -> str:
    return hashlib.sha256(target.encode()).hexdigest()[:32]


class AbuseGuard:
    """The limits of one service's public paths."""

    def __init__(
        self,
        counters: WindowCounters | MemoryCounters,
        *,
        client_limit: str,
        failure_limit: str,
        target_failure_limit: str,
        service: str,
    ) -> None:
        self.counters = counters
        self.client_limit = parse(client_limit)
        self.failure_limit = parse(failure_limit)
        self.target_failure_limit = parse(target_failure_limit)
        self.service = service

    async def ensure_indexes(self) -> None:
        """Indexes of the store-backed counters."""
        if isinstance(self.counters, WindowCounters):
            await self.counters.ensure_indexes()

    @classmethod
    def from_settings(cls, db: Any, settings: Any) -> AbuseGuard:
        """The guard configured by ``ABUSE_*`` settings (``db`` None: counters in this process only)."""
        return cls(
            WindowCounters(db) if db is not None else MemoryCounters(),
            client_limit=settings.abuse_client_limit,
            failure_limit=settings.abuse_failure_limit,
            target_failure_limit=settings.abuse_target_failure_limit,
            service=settings.service_name,
        )

    def _refuse(self, scope: str, retry_after: float, why: str) -> ApiError:
        log.warning("abuse_limited", service=self.service, scope=scope, reason=why)
        return ApiError(
            429,
            "rate_limited",
            f"too many {why}; retry after {math.ceil(retry_after)} s",
            headers={"Retry-After": str(math.ceil(retry_after))},
        )

    async def admit(self, request: Request, scope: str, *, target: str | None = None, count: bool = True) -> None:
        """Count the request against the client's limit; 429 when that or a failure limit is exceeded."""
        client = client_key(request)
        if count:
            n, retry = await self.counters.count(scope, client, self.client_limit)
            if n > self.client_limit.amount:
                raise self._refuse(scope, retry, "requests from this client")
        n, retry = await self.counters.count(f"{scope}-fail", client, self.failure_limit, add=0)
        if n >= self.failure_limit.amount:
            raise self._refuse(scope, retry, "failed attempts from this client")
        if target is not None:
            n, retry = await self.counters.count(
                f"{scope}-fail-target", _target_key(target), self.target_failure_limit, add=0
            )
            if n >= self.target_failure_limit.amount:
                raise self._refuse(scope, retry, "failed attempts on this item")

    async def failed(self, request: Request, scope: str, *, target: str | None = None) -> None:
        """Count a failed attempt (wrong token, secret or key) by client and target."""
        await self.counters.count(f"{scope}-fail", client_key(request), self.failure_limit)
        if target is not None:
            await self.counters.count(f"{scope}-fail-target", _target_key(target), self.target_failure_limit)
