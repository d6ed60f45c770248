"""Celery tasks: outbox delivery (after commit) and the periodic appeals tick."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task

logger = logging.getLogger("gridgov.appeals.tasks")


@shared_task(name="appeals.deliver_outbox", ignore_result=True)
def deliver_outbox(ids: list[int]) -> int:
    """Send the given outbox messages now; failures stay queued for the tick to retry."""
    from gridgov.appeals.notify import deliver

    return sum(1 for pk in ids if deliver(pk))


@shared_task(name="appeals.tick", ignore_result=True)
def appeals_tick() -> dict[str, int]:
    """Overdue marks, deadline reminders, late whistles, outbox retries (every 5 minutes)."""
    return tick()


def tick(*, now: dt.datetime | None = None) -> dict[str, int]:
    """One round of the periodic job (the Celery task and ``manage.py appeals_tick``): the
    appeals' own (``services.appeals_tick``), then the holiday-table warning, after the
    outbox retry so that its e-mails go out on commit, not inside this round's count."""
    from gridgov.appeals.services import appeals_tick as appeals_round

    result = appeals_round(now=now)
    holidays_warn_missing(now=now)
    return result


def holidays_warn_missing(*, now: dt.datetime | None = None) -> int | None:
    """When the holiday table lacks a year that deadlines run into now or soon (see
    ``workdays.missing_holiday_year``): tell every active district administrator, once a
    year each (dedupe key ``holidays-missing:<year>``), and log a warning when someone was
    told or there is nobody to tell. Returns the missing year, or None."""
    from gridgov.accounts.models import Role, User
    from gridgov.appeals.models import NotificationKind
    from gridgov.appeals.notify import notify_users
    from gridgov.core.notice import Notice
    from gridgov.core.workdays import MISSING_HOLIDAY_MESSAGE, missing_holiday_year

    year = missing_holiday_year(now)
    if year is None:
        return None
    admins = list(User.objects.filter(role=Role.DISTRICT_ADMIN, is_active=True))
    made = notify_users(
        users=admins,
        appeal=None,
        kind=NotificationKind.OTHER,
        text=Notice(MISSING_HOLIDAY_MESSAGE, {"year": year}),
        dedupe=f"holidays-missing:{year}",
    )
    if made or not admins:
        logger.warning(
            "holiday table has no rows for %s; told %d district administrator(s)", year, len(made)
        )
    return year
