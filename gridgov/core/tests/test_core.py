from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.utils import timezone

from gridgov.core import workdays
from gridgov.core.models import Holiday
from gridgov.core.pii import mask_id_number, mask_name, mask_phone
from gridgov.core.scope import scope_queryset
from gridgov.territory.models import Region

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_with_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_static_files_are_served_without_collectstatic_and_with_debug_off(client, settings):
    # As under `make run`: DEBUG off, nothing collected; pages need their styles and scripts.
    assert not settings.DEBUG
    for path, kind in [
        ("/static/css/gridgov.css", "text/css"),
        ("/static/vendor/htmx/htmx.min.js", "javascript"),
    ]:
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert kind in resp["Content-Type"], (path, resp["Content-Type"])


def test_subtree_query_returns_exactly_the_subtree(territory, personas):
    names = set(
        scope_queryset(Region.objects.all(), personas.street_official, field="path").values_list(
            "name", flat=True
        )
    )
    assert "A社区" in names and "B社区" in names and "三里堡街道" in names
    assert "C社区" not in names and "繁塔街道" not in names and "禹王台区" not in names


def test_user_without_scope_sees_nothing(territory, personas):
    assert not scope_queryset(Region.objects.all(), personas.resident, field="path").exists()


def test_masks_hide_the_middle():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("410205199001011234") == "4102**********1234"
    assert mask_name("王建国") == "王**"


def test_working_days_skip_national_day_and_count_adjusted_sunday():
    workdays.seed_holidays([2025])
    # 2025-09-28 (Sunday) is an adjusted working day; Oct 1–8 are holidays.
    assert Holiday.objects.get(date=dt.date(2025, 9, 28)).is_working_day
    start = timezone.make_aware(dt.datetime(2025, 9, 26, 10, 0))  # Friday
    # Friday +1 working day → Sunday 28th (adjusted), +3 → Tue 30th, +4 → Oct 9 after the break.
    assert workdays.add_working_days(start, 1).date() == dt.date(2025, 9, 28)
    assert workdays.add_working_days(start, 3).date() == dt.date(2025, 9, 30)
    assert workdays.add_working_days(start, 4).date() == dt.date(2025, 10, 9)
    assert not workdays.is_working_day(dt.date(2025, 10, 6))  # a Monday inside the holiday


def test_working_hours_roll_over_lunch_and_night():
    start = timezone.make_aware(dt.datetime(2025, 11, 3, 11, 0))  # Monday
    assert timezone.localtime(workdays.add_working_hours(start, 2)) == timezone.make_aware(
        dt.datetime(2025, 11, 3, 14, 0)
    )
    late = timezone.make_aware(dt.datetime(2025, 11, 3, 17, 0))
    assert timezone.localtime(workdays.add_working_hours(late, 2)) == timezone.make_aware(
        dt.datetime(2025, 11, 4, 10, 0)
    )


def test_a_task_sent_without_redis_runs_inline_and_logs_no_broker_warning(caplog, settings):
    # make run has no Redis: tasks run inline, and kombu used to log "No hostname was
    # supplied" for the unnamed in-memory broker each time one was sent.
    from gridgov.core.tasks import ping

    if settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("GRIDGOV_REDIS_URL is set: tasks go to a real broker")

    with caplog.at_level(logging.WARNING):
        result = ping.delay("你好")
    assert result.get(timeout=5)["value"] == "你好"
    assert [r.getMessage() for r in caplog.records] == []


def test_every_page_has_an_icon_so_browsers_get_no_404(client):
    # Pages link it; the admin does not, and browsers then ask for /favicon.ico.
    assert 'rel="icon"' in client.get("/accounts/login/").content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("img/favicon.svg")
