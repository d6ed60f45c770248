"""Jurisdiction: every governed row belongs to a region with a materialised path.

``subtree_q`` is the one place that turns "under region X" into a query; it is a
seam so each database gets a form its indexes serve (PostgreSQL: LIKE 'p%' on a
varchar_pattern_ops index; SQLite: a byte-ordered range on the plain index).
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Q


def subtree_q(field: str, path: str) -> Q:
    """Rows whose ``field`` (a materialised path) lies at or under ``path``."""
    if connection.vendor == "sqlite":
        # Paths end with "/", and "0" is the next byte after "/".
        return Q(**{f"{field}__gte": path, f"{field}__lt": path[:-1] + "0"})
    return Q(**{f"{field}__startswith": path})


def subtree_sql(column: str, vendor: str) -> str:
    """``subtree_q`` for a written-out statement (parameters: ``subtree_params``)."""
    return f"{column} >= %s AND {column} < %s" if vendor == "sqlite" else f"{column} LIKE %s"


def subtree_params(path: str, vendor: str) -> list[str]:
    if vendor == "sqlite":
        return [path, path[:-1] + "0"]
    return [path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"]


def user_scope_path(user: Any) -> str | None:
    """The path the user may act within; "" for everything; None for nothing."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return ""
    region = getattr(user, "scope_region", None)
    if region is None:
        return None
    return region.path


def scope_queryset(qs: Any, user: Any, field: str = "region__path") -> Any:
    """Filter ``qs`` to the user's subtree (nothing for a user without scope)."""
    path = user_scope_path(user)
    if path is None:
        return qs.none()
    if path == "":
        return qs
    return qs.filter(subtree_q(field, path))


def in_scope(user: Any, path: str) -> bool:
    scope = user_scope_path(user)
    return scope is not None and path.startswith(scope)
