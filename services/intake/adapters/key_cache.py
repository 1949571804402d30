"""The per-instance cache of verified front-office keys (a short time to live, bounded in size)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from services.intake.domain.api_keys import VerifiedKey


class TtlKeyCache:
    """Verified keys by the hash of their secret, each kept ``ttl`` seconds (0 = nothing is cached).

    Only what the key look-up proved is kept (key id and office); whether the key was revoked since is
    checked on every request by the use case (services/intake/README.md, "API keys").
    """

    def __init__(self, ttl: float, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, VerifiedKey]] = OrderedDict()

    def get(self, secret_sha256: str) -> VerifiedKey | None:
        """The key verified less than ``ttl`` seconds ago, or None."""
        entry = self._entries.get(secret_sha256)
        if entry is None:
            return None
        if self._clock() - entry[0] >= self.ttl:
            del self._entries[secret_sha256]
            return None
        return entry[1]

    def put(self, secret_sha256: str, key: VerifiedKey) -> None:
        """Remember a verified key (the oldest entry goes when full)."""
        if self.ttl <= 0:
            return
        self._entries[secret_sha256] = (self._clock(), key)
        self._entries.move_to_end(secret_sha256)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, secret_sha256: str) -> None:
        """Forget a key."""
        self._entries.pop(secret_sha256, None)
