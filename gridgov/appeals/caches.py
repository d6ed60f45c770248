"""Per-process cache of categories for the intake path (API and Open311).

A category is read with its parent and district and with its time limits (its own rows
first, then its parent's), so one intake needs no category or time-limit query once the
process has seen that category. A miss loads the whole district's categories in two
queries (there are tens of them), so a process refilling its cache costs two queries, not
two per category. Every process drops its entries when the shared version
(:mod:`gridgov.core.versions`) moves; saving or deleting a category, a time limit or a
region bumps it at once and again on commit (so a process that reloaded in between does
not keep the old rows). A queryset ``.update()`` sends no signal: code that does one on
these tables must call :func:`invalidate` (on commit).

Without a shared cache (no Redis) the version also moves by itself every
``GRIDGOV_LOCAL_CACHE_SECONDS`` (default 5; see :mod:`gridgov.core.versions`), so a change
made in another process is seen within that time.

Callers get a shallow copy of the cached instance, so setting attributes on it cannot
leak into the next request.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from django.db import transaction
from django.db.models import Subquery
from django.db.models.signals import post_delete, post_save

from gridgov.appeals.models import Category, TimeLimit
from gridgov.core.versions import SharedVersion

VERSION = SharedVersion("gridgov:category-cache-version")
MAX_ENTRIES = 2000

_lock = threading.Lock()
_state: dict[str, Any] = {"version": None, "entries": {}}


def invalidate() -> None:
    """Mark every process's category entries stale."""
    VERSION.bump()
    with _lock:
        _state["version"], _state["entries"] = None, {}


def _changed(**_: object) -> None:
    invalidate()
    transaction.on_commit(invalidate)


for _model in (Category, TimeLimit, "territory.Region"):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"category-cache-save-{_model}")
    post_delete.connect(_changed, sender=_model, dispatch_uid=f"category-cache-del-{_model}")


def _entries() -> dict[Any, Category | None]:
    version = VERSION.current()
    if _state["version"] != version:
        with _lock:
            _state["version"], _state["entries"] = version, {}
    return _state["entries"]


def _load_district(entries: dict[Any, Category | None], **district: Any) -> None:
    """Put every category of one district (``district_id=`` or ``district__code=``) in
    ``entries`` under both keys, each with ``cached_limits`` (priority → (amount, unit),
    as ``deadlines`` reads them): two queries."""
    rows = list(Category.objects.select_related("parent", "district").filter(**district))
    limits: dict[int, dict[str, tuple[int, str]]] = {}
    for category_id, priority, amount, unit in TimeLimit.objects.filter(
        category__in=[c.pk for c in rows]
    ).values_list("category_id", "priority", "amount", "unit"):
        limits.setdefault(category_id, {})[priority] = (amount, unit)
    # A category with active sub-categories groups them; requests are filed under the leaves.
    groups = {c.parent_id for c in rows if c.is_active and c.parent_id}
    with _lock:
        if len(entries) + 2 * len(rows) > MAX_ENTRIES:
            entries.clear()
        for category in rows:
            category.cached_limits = {
                **limits.get(category.parent_id, {}),
                **limits.get(category.pk, {}),
            }
            # As Category.accepting_q says it.
            category._accepts_cases = (
                category.is_active
                and category.pk not in groups
                and (category.parent is None or category.parent.is_active)
            )
            entries["id", category.pk] = category
            if category._accepts_cases:
                entries["code", category.district.code, category.code] = category
            entries["district", category.district.code] = None


def _copy(hit: Category | None) -> Category | None:
    return copy.copy(hit) if hit is not None else None


def category_by_id(pk: int) -> Category | None:
    """The category with ``pk`` (active or not), parent and district loaded; or None."""
    entries = _entries()
    key = ("id", pk)
    if key not in entries:
        owner = Category.objects.filter(pk=pk).values("district_id")
        _load_district(entries, district_id=Subquery(owner[:1]))
        entries.setdefault(key, None)
    return _copy(entries[key])


def service_category_by_code(*, district_code: str, code: str) -> Category | None:
    """The district's category with ``code`` that a request can be filed under (Open311's
    service_code): active, with no active sub-category. Otherwise None."""
    entries = _entries()
    key = ("code", district_code, code)
    if key not in entries and ("district", district_code) not in entries:
        _load_district(entries, district__code=district_code)
        entries["district", district_code] = None
    return _copy(entries.get(key))
