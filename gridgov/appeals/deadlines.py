"""Time limits (办理时限) and deadline colours.

A limit is looked up for (category, priority), then (parent category, priority),
then the built-in defaults below: urgent 2 h round the clock, normal 7 working
days, complex 15 working days. Utilities (水电气暖) get 24 h rows when seeded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from gridgov.appeals.models import (
    AMBER_SHARE,
    CLOCK_STATUSES,
    FINAL_STATUSES,
    Category,
    Priority,
    Status,
    TimeLimit,
    TimeUnit,
)
from gridgov.core import workdays

DEFAULT_LIMITS: dict[str, tuple[int, str]] = {
    Priority.URGENT: (2, TimeUnit.CALENDAR_HOURS),
    Priority.NORMAL: (7, TimeUnit.WORKING_DAYS),
    Priority.COMPLEX: (15, TimeUnit.WORKING_DAYS),
}

REMIND_SHARE = 0.8  # remind the handler when 20 % (or one day) is left
# Finished without a result: no colour (a merged case's colour is its main case's).
NO_COLOUR_STATUSES = FINAL_STATUSES - {Status.CLOSED}


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
    """Share of the allowed time used (wall clock between the clock's start and deadline)."""
    if appeal.deadline is None:
        return None
    start = appeal.clock_start
    total = (appeal.deadline - start).total_seconds()
    if total <= 0:
        return 1.0 if now >= appeal.deadline else 0.0
    return (now - start).total_seconds() / total


def clock_stopped_at(appeal: Any) -> dt.datetime | None:
    """When the deadline clock stopped: the handling (处置) of a handled, verified or closed
    case (its closure, if it has no handling on record); None while it runs."""
    if appeal.status in CLOCK_STATUSES:
        return None
    return appeal.handled_at or appeal.closed_at


def deadline_colour(appeal: Any, now: dt.datetime | None = None) -> str:
    """'green', 'amber' (80 % of the limit used) or 'red' (overdue); '' without a deadline.

    The clock stops when the handler records the result: a handled case keeps the colour
    it was handled with (handled late stays red, through verification and closure). A
    rejected, withdrawn or merged case has none.
    """
    if appeal.deadline is None or appeal.status in NO_COLOUR_STATUSES:
        return ""
    now = clock_stopped_at(appeal) or now or timezone.now()
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
    start = appeal.clock_start
    at_share = start + (appeal.deadline - start) * REMIND_SHARE
    one_day = appeal.deadline - dt.timedelta(days=1)
    return max(at_share, one_day)


def colour_q(colour: str, now: dt.datetime) -> Q:
    """Open cases of a deadline colour, as ``deadline_colour`` gives it: a running clock
    compared with ``now``, a stopped one (handled, awaiting verification or closure) with
    its handling time. Each half is a range on indexed columns."""
    running = Q(status__in=sorted(CLOCK_STATUSES), deadline__isnull=False)
    stopped = Q(
        status__in=[Status.HANDLED, Status.VERIFIED],
        deadline__isnull=False,
        handled_at__isnull=False,
    )
    if colour == "red":
        return (running & Q(deadline__lt=now)) | (stopped & Q(handled_at__gt=F("deadline")))
    if colour == "amber":
        return (running & Q(amber_at__lte=now, deadline__gte=now)) | (
            stopped & Q(handled_at__gte=F("amber_at"), handled_at__lte=F("deadline"))
        )
    return (running & Q(amber_at__gt=now)) | (stopped & Q(handled_at__lt=F("amber_at")))
