"""Per-process cache of categories for the intake path (API and Open311).

A category is read with its parent and district and with its time limits (its own rows
first, then its parent's), so one intake needs no category or time-limit query once the
process has seen that category. Every process drops its entries when the version number
in the Django cache changes; saving or deleting a category, a time limit or a region bumps
it at once and again on commit (so a process that reloaded in between does not keep the
old rows). A queryset ``.update()`` sends no signal: code that does one on these tables
must call :func:`invalidate` (on commit).

Without a shared cache (no Redis: each process has its own local-memory cache, so a bump
in one process is not seen by the others) entries also expire after
``GRIDGOV_LOCAL_CACHE_SECONDS`` (default 5), as API keys do.

Callers get a shallow copy of the cached instance, so setting attributes on it cannot
leak into the next request.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from gridgov.appeals.models import Category, TimeLimit

VERSION_KEY = "gridgov:category-cache-version"
MAX_ENTRIES = 2000

_lock = threading.Lock()
_state: dict[str, Any] = {"version": None, "entries": {}, "expires": 0.0}


def _current_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = 1
        cache.add(VERSION_KEY, version, timeout=None)
    return int(version)


def invalidate() -> None:
    """Mark every process's category entries stale."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, timeout=None)
    with _lock:
        _state["version"], _state["entries"], _state["expires"] = None, {}, 0.0


def _changed(**_: object) -> None:
    invalidate()
    transaction.on_commit(invalidate)


for _model in (Category, TimeLimit, "territory.Region"):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"category-cache-save-{_model}")
    post_delete.connect(_changed, sender=_model, dispatch_uid=f"category-cache-del-{_model}")


def _entries() -> dict[Any, Category | None]:
    version = _current_version()
    now = time.monotonic()
    if _state["version"] != version or now > _state["expires"]:
        local = isinstance(caches["default"], LocMemCache | DummyCache)
        ttl = float(getattr(settings, "GRIDGOV_LOCAL_CACHE_SECONDS", 5)) if local else None
        with _lock:
            _state["version"], _state["entries"] = version, {}
            _state["expires"] = now + ttl if ttl is not None else float("inf")
    return _state["entries"]


def _with_limits(category: Category) -> Category:
    """Attach ``cached_limits`` (priority → (amount, unit)) as ``deadlines`` reads them."""
    ids = [category.pk] + ([category.parent_id] if category.parent_id else [])
    rows = TimeLimit.objects.filter(category_id__in=ids).values_list(
        "category_id", "priority", "amount", "unit"
    )
    own: dict[str, tuple[int, str]] = {}
    inherited: dict[str, tuple[int, str]] = {}
    for category_id, priority, amount, unit in rows:
        (own if category_id == category.pk else inherited)[priority] = (amount, unit)
    category.cached_limits = {**inherited, **own}
    return category


def _lookup(key: Any, load: Any) -> Category | None:
    entries = _entries()
    if key in entries:
        hit = entries[key]
    else:
        hit = load()
        if hit is not None:
            hit = _with_limits(hit)
        with _lock:
            if len(entries) >= MAX_ENTRIES:
                entries.clear()
            entries[key] = hit
    return copy.copy(hit) if hit is not None else None


def category_by_id(pk: int) -> Category | None:
    """The category with ``pk`` (active or not), parent and district loaded; or None."""
    return _lookup(
        ("id", pk),
        lambda: Category.objects.select_related("parent", "district").filter(pk=pk).first(),
    )


def active_category_by_code(*, district_code: str, code: str) -> Category | None:
    """The district's active category with ``code`` (Open311's service_code); or None."""
    return _lookup(
        ("code", district_code, code),
        lambda: (
            Category.objects.filter(district__code=district_code, is_active=True, code=code)
            .select_related("parent", "district")
            .first()
        ),
    )
