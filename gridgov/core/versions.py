"""Version numbers shared by every process through the Django cache.

Per-process caches of tables that rarely change (the grid index, categories, holidays)
remember the version they were built at and rebuild when it moves. Saving a row bumps it:
the bumping process sees the new number at once; every other process reads the shared
number at most once every ``GRIDGOV_VERSION_CHECK_SECONDS`` (default 1), so the hot paths
(every intake asks two of these) do not pay a cache round trip (Redis) or an unpickling
(local memory) per request.

Without a shared cache (no Redis: the local-memory cache is each process's own) another
process's bump never arrives. The number then also moves by itself
``GRIDGOV_LOCAL_CACHE_SECONDS`` (default 5) after it last moved: each process rebuilds its
copies that often, and sees a change made in another within that time.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache


def _shared() -> bool:
    """Does the default cache reach the other processes?"""
    return not isinstance(caches["default"], LocMemCache | DummyCache)


class SharedVersion:
    def __init__(self, key: str) -> None:
        self.key = key
        self._value: int | None = None
        self._until = 0.0  # when to read the shared number again
        self._expires = 0.0  # unshared: when the number moves by itself

    def current(self) -> int:
        now = time.monotonic()
        if self._value is not None and now < self._until:
            return self._value
        shared = _shared()
        if not shared and self._value is not None and now >= self._expires:
            self.bump()
        value = cache.get(self.key)
        if value is None:
            value = 1
            cache.add(self.key, value, timeout=None)
        if int(value) != self._value:
            self._expires = now + float(getattr(settings, "GRIDGOV_LOCAL_CACHE_SECONDS", 5))
        self._value = int(value)
        self._until = now + float(getattr(settings, "GRIDGOV_VERSION_CHECK_SECONDS", 1))
        if not shared:
            self._until = min(self._until, self._expires)
        return self._value

    def bump(self) -> None:
        """Mark every process's copy stale (this one's at once)."""
        try:
            cache.incr(self.key)
        except ValueError:  # not in the cache (first bump, or evicted)
            cache.set(self.key, 2, timeout=None)
        self._value, self._until = None, 0.0
