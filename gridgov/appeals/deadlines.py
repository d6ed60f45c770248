"""Time limits (办理时限) and deadline colours.

A limit is looked up for (category, priority), then (parent category, priority),
then the built-in defaults below: urgent 2 h round the clock, normal 7 working
days, complex 15 working days. Utilities (水电气暖) get 24 h rows when seeded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from gridgov.appeals.models import AMBER_SHARE, Category, Priority, TimeLimit, TimeUnit
from gridgov.core import workdays

DEFAULT_LIMITS: dict[str, tuple[int, str]] = {
    Priority.URGENT: (2, TimeUnit.CALENDAR_HOURS),
    Priority.NORMAL: (7, TimeUnit.WORKING_DAYS),
    Priority.COMPLEX: (15, TimeUnit.WORKING_DAYS),
}

REMIND_SHARE = 0.8  # remind the handler when 20 % (or one day) is left


def time_limit_for(category: Category, priority: str) -> tuple[int, str]:
    """(amount, unit) for a category and priority; one small indexed query, none for a
    category from ``appeals.caches`` (which carries its limits as ``cached_limits``)."""
    cached = getattr(category, "cached_limits", None)
    if cached is not None:
        return cached.get(priority) or DEFAULT_LIMITS[priority]
    ids = [category.pk] + ([category.parent_id] if category.parent_id else [])
    rows = {
        row.category_id: row
        for row in TimeLimit.objects.filter(category_id__in=ids, priority=priority)
    }
    for cid in ids:
        if cid in rows:
            return rows[cid].amount, rows[cid].unit
    return DEFAULT_LIMITS[priority]


def add_limit(start: dt.datetime, amount: int, unit: str) -> dt.datetime:
    if unit == TimeUnit.WORKING_DAYS:
        return workdays.add_working_days(start, amount)
    if unit == TimeUnit.WORKING_HOURS:
        return workdays.add_working_hours(start, amount)
    return workdays.add_calendar_hours(start, amount)


def compute_deadline(*, category: Category, priority: str, start: dt.datetime) -> dt.datetime:
    """The moment the appeal must be finished, counting holidays and adjusted working days."""
    amount, unit = time_limit_for(category, priority)
    return add_limit(start, amount, unit)


def elapsed_share(appeal: Any, now: dt.datetime) -> float | None:
    """Share of the allowed time used (wall clock between intake and deadline)."""
    if appeal.deadline is None:
        return None
    total = (appeal.deadline - appeal.created_at).total_seconds()
    if total <= 0:
        return 1.0 if now >= appeal.deadline else 0.0
    return (now - appeal.created_at).total_seconds() / total


def deadline_colour(appeal: Any, now: dt.datetime | None = None) -> str:
    """'green', 'amber' (80 % of the limit used) or 'red' (overdue); '' without a deadline.

    A finished case keeps the colour it finished with (closed late stays red).
    """
    if appeal.deadline is None:
        return ""
    now = now or timezone.now()
    from gridgov.appeals.models import FINAL_STATUSES, Status

    if appeal.status in FINAL_STATUSES:
        if appeal.status == Status.CLOSED and appeal.closed_at:
            now = appeal.closed_at
        else:
            return ""
    if now > appeal.deadline:
        return "red"
    share = elapsed_share(appeal, now)
    if share is not None and share >= AMBER_SHARE - 1e-9:
        return "amber"
    return "green"


def reminder_due_at(appeal: Any) -> dt.datetime | None:
    """When to remind the handler: one day before the deadline or at 80 %, whichever is later
    (so a 2-hour urgent case is reminded after 96 minutes, not before it starts)."""
    if appeal.deadline is None:
        return None
    total = appeal.deadline - appeal.created_at
    at_share = appeal.created_at + total * REMIND_SHARE
    one_day = appeal.deadline - dt.timedelta(days=1)
    return max(at_share, one_day)
