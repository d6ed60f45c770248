"""Working-day and working-hour arithmetic from the holiday table.

Working hours are 09:00–12:00 and 13:00–18:00 on the district's clock (the default time
zone, settings.TIME_ZONE, whatever zone a request may have activated), 8 hours a day; a
limit "in working days" ends at the same clock time N working days later. Holidays come
from :class:`gridgov.core.models.Holiday`.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from gridgov.core.versions import SharedVersion

WORK_PERIODS = ((dt.time(9), dt.time(12)), (dt.time(13), dt.time(18)))
HOURS_PER_DAY = 8


@lru_cache(maxsize=1)
def _exceptions(version: int) -> dict[dt.date, bool]:
    from gridgov.core.models import Holiday

    return dict(Holiday.objects.values_list("date", "is_working_day"))


VERSION = SharedVersion("gridgov:holiday-version")


_seen: list[int | None] = [None]


def _version() -> int:
    """The holiday table's shared version; what was remembered at another one is dropped
    (a version number can come round again after the shared cache is flushed)."""
    version = VERSION.current()
    if version != _seen[0]:
        _exceptions.cache_clear()
        _working_days_after.cache_clear()
        _seen[0] = version
    return version


def invalidate() -> None:
    """Called when the holiday table changes: every process re-reads it (see versions)."""
    VERSION.bump()
    _seen[0] = None


def is_working_day(day: dt.date) -> bool:
    exceptions = _exceptions(_version())
    if day in exceptions:
        return exceptions[day]
    return day.weekday() < 5


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """The moment ``days`` working days after ``start`` (same local clock time).

    A start outside a working day counts from the next working day's start.
    """
    zone = timezone.get_default_timezone()
    local = start.astimezone(zone)
    day, moved = _working_days_after(local.date(), days, _version())
    clock = WORK_PERIODS[0][0] if moved else local.time()
    return dt.datetime.combine(day, clock, tzinfo=zone)


@lru_cache(maxsize=4096)
def _working_days_after(day: dt.date, days: int, version: int) -> tuple[dt.date, bool]:
    """The day ``days`` working days after ``day``, and whether ``day`` was not a working
    day (the count then starts from the next one's opening). Remembered per holiday-table
    version: every intake of a day asks the same."""
    moved = not is_working_day(day)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    remaining = days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day, moved


def add_working_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """The moment ``hours`` working hours after ``start``."""
    remaining = dt.timedelta(hours=hours)
    zone = timezone.get_default_timezone()
    local = start.astimezone(zone)
    day = local.date()
    cursor = local.replace(tzinfo=None)
    while True:
        if is_working_day(day):
            for begin, end in WORK_PERIODS:
                period_start = dt.datetime.combine(day, begin)
                period_end = dt.datetime.combine(day, end)
                if cursor >= period_end:
                    continue
                cursor = max(cursor, period_start)
                available = period_end - cursor
                if remaining <= available:
                    return (cursor + remaining).replace(tzinfo=zone)
                remaining -= available
                cursor = period_end
        day += dt.timedelta(days=1)
        cursor = dt.datetime.combine(day, dt.time(0))


def add_calendar_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """Round-the-clock hours (urgent cases do not wait for office hours)."""
    return start + dt.timedelta(hours=hours)


def known_holiday_years(start: int = 2004) -> list[int]:
    """The years from ``start`` whose holidays chinese-calendar knows (it starts at 2004 and
    learns each coming year when the State Council publishes it, usually in November)."""
    import chinese_calendar

    years = []
    year = start
    while True:
        try:
            chinese_calendar.get_holiday_detail(dt.date(year, 6, 30))
        except NotImplementedError:
            break
        years.append(year)
        year += 1
    return years


def holiday_rows(years: list[int]) -> list[tuple[dt.date, bool, str]]:
    """(date, is_working_day, name) of each day of ``years`` that chinese-calendar sets
    apart from the Monday–Friday rule: holidays on weekdays, adjusted working weekends."""
    import chinese_calendar

    rows = []
    for year in years:
        day = dt.date(year, 1, 1)
        while day.year == year:
            try:
                on_holiday, name = chinese_calendar.get_holiday_detail(day)
            except NotImplementedError:
                break
            working = not on_holiday
            if working != (day.weekday() < 5):
                label = chinese_calendar.Holiday(name).chinese if name else ""
                rows.append((day, working, label or ""))
            day += dt.timedelta(days=1)
    return rows


def seed_holidays(years: list[int]) -> int:
    """Fill the holiday table from chinese-calendar for ``years``; returns rows written.

    Rows already present (perhaps edited by an admin) are left as they are.
    """
    from gridgov.core.models import Holiday

    existing = set(Holiday.objects.filter(date__year__in=years).values_list("date", flat=True))
    rows = [
        Holiday(date=day, is_working_day=working, name=name)
        for day, working, name in holiday_rows(years)
        if day not in existing
    ]
    Holiday.objects.bulk_create(rows)
    invalidate()
    return len(rows)


# The statutory holidays of a year since 2025 (元旦 1, 春节 4, 清明 1, 劳动节 2, 端午 1,
# 中秋 1, 国庆 3): a year's arrangement has at least these days off.
STATUTORY_DAYS_OFF = 13


def missing_holiday_year(now: dt.datetime | None = None) -> int | None:
    """The year that deadlines run into now or soon and that has no row in the holiday
    table (so its New Year's Day and Spring Festival would count as working days), or None.

    The current year at any time; the next one from 1 October on the district's clock (the
    last quarter: the State Council publishes the next year's arrangement in October or
    November, and from December a 15-working-day limit already ends in January).
    chinese-calendar learns a year only in a later release; until then an administrator
    enters it by hand.
    """
    from gridgov.core.models import Holiday

    today = timezone.localtime(now or timezone.now(), timezone.get_default_timezone()).date()
    years = [today.year, today.year + 1] if today.month >= 10 else [today.year]
    for year in years:
        # A year begun by hand (its New Year's Day entered, the Spring Festival not yet)
        # still counts as missing.
        days_off = Holiday.objects.filter(date__year=year, is_working_day=False).count()
        if days_off < STATUTORY_DAYS_OFF:
            return year
    return None


MISSING_HOLIDAY_MESSAGE = gettext_noop(
    "节假日表中还没有 %(year)s 年的放假安排：跨入该年的办理时限会把元旦、春节等法定节假日"
    "算作工作日。请在国务院办公厅公布安排后，到后台「节假日」逐日录入，"
    "或升级 chinese-calendar 后运行 manage.py holidays_seed %(year)s。"
)


def missing_holiday_message(year: int) -> str:
    """What the tick, the system check and the holiday admin say about ``year`` (the
    tick's notification: ``MISSING_HOLIDAY_MESSAGE`` with the year)."""
    return _(MISSING_HOLIDAY_MESSAGE) % {"year": year}
