"""Keyset pagination: constant cost on any page of a 10-million-row table."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from gridgov.core.errors import ValidationFailed


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    has_next: bool


def encode_cursor(pk: int, **extra: Any) -> str:
    body = json.dumps({"id": pk, **extra}).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=")


def _cursor_value(cursor: str, key: str, convert: Any) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return convert(json.loads(base64.urlsafe_b64decode(padded.encode()))[key])
    except (ValueError, KeyError, TypeError, OverflowError) as exc:  # {"id": 1e999}: inf
        raise ValidationFailed(_("游标无效"), field="cursor") from exc


def decode_cursor(cursor: str | None) -> int | None:
    return _cursor_value(cursor, "id", int) if cursor else None


def check_page_size(size: int, field: str = "page_size") -> None:
    """``field``: the name the client gave the page size."""
    if size < 1 or size > 500:
        raise ValidationFailed(_("每页条数须在 1 到 500 之间"), field=field)


def keyset_page(
    qs: QuerySet,
    *,
    cursor: str | None,
    size: int,
    descending: bool = True,
    size_field: str = "page_size",
) -> Page:
    """One page of ``qs`` ordered by primary key, after ``cursor``."""
    check_page_size(size, size_field)
    after = decode_cursor(cursor)
    if descending:
        qs = qs.order_by("-pk")
        if after is not None:
            qs = qs.filter(pk__lt=after)
    else:
        qs = qs.order_by("pk")
        if after is not None:
            qs = qs.filter(pk__gt=after)
    rows = list(qs[: size + 1])
    has_next = len(rows) > size
    rows = rows[:size]
    return Page(
        items=rows, next_cursor=encode_cursor(rows[-1].pk) if has_next else None, has_next=has_next
    )


def keyset_page_by_time(qs: QuerySet, field: str, *, cursor: str | None, size: int) -> Page:
    """One page of ``qs`` ordered by the non-null timestamp ``field`` then primary key, both
    ascending (most urgent deadline first), after ``cursor`` (which carries both)."""
    check_page_size(size)
    qs = qs.order_by(field, "pk")
    if cursor:
        after = decode_cursor(cursor)
        at = _cursor_value(cursor, "at", dt.datetime.fromisoformat)
        qs = qs.filter(Q(**{f"{field}__gt": at}) | Q(**{field: at, "pk__gt": after}))
    rows = list(qs[: size + 1])
    has_next = len(rows) > size
    rows = rows[:size]
    last = rows[-1] if has_next else None
    return Page(
        items=rows,
        next_cursor=encode_cursor(last.pk, at=getattr(last, field).isoformat()) if last else None,
        has_next=has_next,
    )
