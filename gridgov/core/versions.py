"""Version numbers shared by every process through the Django cache.

Per-process caches of tables that rarely change (the grid index, categories, holidays)
remember the version they were built at and rebuild when it moves. Saving a row bumps it:
the bumping process sees the new number at once; every other process reads the shared
number at most once every ``GRIDGOV_VERSION_CHECK_SECONDS`` (default 1), so the hot paths
(every intake asks two of these) do not pay a cache round trip (Redis) or an unpickling
(local memory) per request. With the local-memory cache nothing is shared: another
process never sees a bump, and its callers add their own expiry where that matters.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


class SharedVersion:
    def __init__(self, key: str) -> None:
        self.key = key
        self._value: int | None = None
        self._until = 0.0

    def current(self) -> int:
        now = time.monotonic()
        if self._value is not None and now < self._until:
            return self._value
        value = cache.get(self.key)
        if value is None:
            value = 1
            cache.add(self.key, value, timeout=None)
        self._value = int(value)
        self._until = now + float(getattr(settings, "GRIDGOV_VERSION_CHECK_SECONDS", 1))
        return self._value

    def bump(self) -> None:
        """Mark every process's copy stale (this one's at once)."""
        try:
            cache.incr(self.key)
        except ValueError:  # not in the cache (first bump, or evicted)
            cache.set(self.key, 2, timeout=None)
        self._value, self._until = None, 0.0
