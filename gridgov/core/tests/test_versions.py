from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from gridgov.core import versions, workdays
from gridgov.core.models import Holiday


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(versions.time, "monotonic", lambda: now[0])
    return now


def test_another_process_bump_is_seen_after_the_check_interval(settings, clock):
    cache.clear()
    settings.GRIDGOV_VERSION_CHECK_SECONDS = 1
    version = versions.SharedVersion("test:v")
    assert version.current() == 1
    cache.incr("test:v")  # as another process's bump() does
    clock[0] += 0.5
    assert version.current() == 1  # within the interval: no cache read
    clock[0] += 0.6
    assert version.current() == 2


def test_own_bump_is_seen_at_once(settings, clock):
    cache.clear()
    settings.GRIDGOV_VERSION_CHECK_SECONDS = 60
    version = versions.SharedVersion("test:v")
    assert version.current() == 1
    version.bump()
    assert version.current() == 2
    cache.clear()  # evicted: a bump starts again above the first version
    version.bump()
    assert version.current() == 2


def test_unshared_number_moves_by_itself_after_the_local_expiry(settings, clock, monkeypatch):
    """Without Redis no other process's bump arrives: the number moves on its own."""
    cache.clear()
    settings.GRIDGOV_VERSION_CHECK_SECONDS = 1
    settings.GRIDGOV_LOCAL_CACHE_SECONDS = 5
    version = versions.SharedVersion("test:v")
    assert version.current() == 1
    clock[0] += 4.9
    assert version.current() == 1
    clock[0] += 0.2
    assert version.current() == 2
    clock[0] += 4.9  # counted from when it last moved
    assert version.current() == 2
    # With a shared cache (Redis) it moves only when a process bumps it.
    monkeypatch.setattr(versions, "_shared", lambda: True)
    clock[0] += 60
    assert version.current() == 2


@pytest.mark.django_db
def test_without_redis_a_holiday_saved_by_another_process_is_seen_within_seconds(settings, clock):
    settings.GRIDGOV_VERSION_CHECK_SECONDS = 1
    settings.GRIDGOV_LOCAL_CACHE_SECONDS = 5
    cache.clear()
    workdays.invalidate()
    day = dt.date(2031, 3, 3)  # a Monday
    assert workdays.is_working_day(day)
    # Another process adds the row; its bump is in its own local-memory cache, not ours.
    Holiday.objects.bulk_create([Holiday(date=day, is_working_day=False, name="调休")])
    clock[0] += 1.5
    assert workdays.is_working_day(day)
    clock[0] += 4
    assert not workdays.is_working_day(day)


@pytest.mark.django_db
def test_a_holiday_saved_by_another_process_is_used_once_the_version_moves(settings):
    settings.GRIDGOV_LOCAL_CACHE_SECONDS = 3600  # only the shared number moves it here
    cache.clear()
    workdays.invalidate()
    day = dt.date(2031, 3, 3)  # a Monday
    friday = timezone.make_aware(dt.datetime(2031, 2, 28, 10, 30))
    assert workdays.add_working_days(friday, 1).date() == day
    assert workdays.is_working_day(day)
    # Another process adds the row (no signal here) and bumps the shared version.
    Holiday.objects.bulk_create([Holiday(date=day, is_working_day=False, name="调休")])
    assert workdays.is_working_day(day)  # this process's copy is still the old one
    assert workdays.add_working_days(friday, 1).date() == day
    cache.incr(workdays.VERSION.key)
    assert not workdays.is_working_day(day)
    assert workdays.add_working_days(friday, 1) == timezone.make_aware(
        dt.datetime(2031, 3, 4, 10, 30)
    )
    # The version comes round to 1 again after a flush: what was remembered at the first
    # version 1 (Monday a working day) is not reused.
    cache.clear()
    assert workdays.add_working_days(friday, 1).date() == dt.date(2031, 3, 4)
