"""The holiday table: there from the first migration, re-seeded by command, edited in the
admin, and every edit used by the deadline arithmetic at once; a missing coming year is
said by the periodic job, the system check and the admin."""

from __future__ import annotations

import datetime as dt
import io
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from gridgov.core import workdays
from gridgov.core.models import Holiday

pytestmark = pytest.mark.django_db


def test_a_new_database_knows_national_day_without_any_seeding():
    # Built by the migrations alone: nobody ran the demo or a command.
    assert not Holiday.objects.get(date=dt.date(2025, 10, 1)).is_working_day
    assert Holiday.objects.get(date=dt.date(2025, 9, 28)).is_working_day  # adjusted Sunday
    seeded = {day.year for day in Holiday.objects.values_list("date", flat=True)}
    assert set(workdays.known_holiday_years()) <= seeded
    eve = timezone.make_aware(dt.datetime(2025, 9, 30, 10, 0))  # the Tuesday before
    assert workdays.add_working_days(eve, 1).date() == dt.date(2025, 10, 9)


def test_the_seed_command_restores_missing_days_and_keeps_edited_ones():
    Holiday.objects.filter(date__year=2025).exclude(date=dt.date(2025, 10, 1)).delete()
    Holiday.objects.filter(date=dt.date(2025, 10, 1)).update(name="本地改名")
    out = io.StringIO()
    call_command("holidays_seed", "2025", stdout=out)
    written = int(out.getvalue().strip().split("=")[1])
    assert written == len(workdays.holiday_rows([2025])) - 1
    assert Holiday.objects.get(date=dt.date(2025, 10, 1)).name == "本地改名"
    assert Holiday.objects.get(date=dt.date(2025, 9, 28)).is_working_day


def test_the_seed_command_names_a_year_the_package_does_not_know():
    year = workdays.known_holiday_years()[-1] + 1
    with pytest.raises(CommandError, match=str(year)):
        call_command("holidays_seed", str(year), stdout=io.StringIO())


def test_a_holiday_added_in_the_admin_moves_deadlines_at_once(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="x")
    client.force_login(admin)
    day = dt.date(2031, 3, 3)  # a Monday, beyond what the package knows
    friday = timezone.make_aware(dt.datetime(2031, 2, 28, 10, 30))
    assert workdays.add_working_days(friday, 1).date() == day
    listing = client.get("/admin/core/holiday/")
    assert listing.status_code == 200
    response = client.post(
        "/admin/core/holiday/add/",
        {"date": "2031-03-03", "is_working_day": "", "name": "地方假日"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert workdays.add_working_days(friday, 1).date() == dt.date(2031, 3, 4)


def at(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, hour))


def frozen(moment: dt.datetime):
    return mock.patch("django.utils.timezone.now", return_value=moment)


@pytest.fixture
def last_known() -> int:
    """The last year the table has (from chinese-calendar); nothing after it."""
    last = workdays.known_holiday_years()[-1]
    Holiday.objects.filter(date__year__gt=last).delete()
    return last


def enter_year(year: int) -> None:
    """The rest of a year's 13 statutory days off, entered by hand after its New Year's Day
    (dates as an arrangement might fall)."""
    days = [(1, 1), (2, 6), (2, 7), (2, 8), (2, 9), (4, 5), (5, 1), (5, 2), (6, 9)]
    days += [(9, 15), (10, 1), (10, 2), (10, 3)]
    Holiday.objects.bulk_create(Holiday(date=dt.date(year, m, d), name="假日") for m, d in days[1:])


def test_the_missing_year_is_the_next_one_from_october_and_the_current_one_always(last_known):
    last = last_known
    assert workdays.missing_holiday_year(at(last, 9, 30, 23)) is None
    # 1 October 00:30 in the district is still 30 September in UTC.
    october = dt.datetime(last, 9, 30, 16, 30, tzinfo=dt.UTC)
    assert workdays.missing_holiday_year(october) == last + 1
    assert workdays.missing_holiday_year(at(last + 1, 3, 1)) == last + 1
    with frozen(at(last, 11, 23)):
        assert workdays.missing_holiday_year() == last + 1
    # New Year's Day alone does not make the year: its Spring Festival is still missing.
    Holiday.objects.create(date=dt.date(last + 1, 1, 1), name="元旦")
    assert workdays.missing_holiday_year(at(last, 11, 23)) == last + 1
    enter_year(last + 1)
    assert workdays.missing_holiday_year(at(last, 11, 23)) is None
    assert workdays.missing_holiday_year(at(last + 1, 3, 1)) is None


def test_the_system_check_warns_of_the_missing_year(last_known):
    out, err = io.StringIO(), io.StringIO()
    with frozen(at(last_known, 11, 23)):
        call_command("check", stdout=out, stderr=err)
    assert "gridgov.W001" in err.getvalue()
    assert f"还没有 {last_known + 1} 年的放假安排" in err.getvalue()
    Holiday.objects.create(date=dt.date(last_known + 1, 1, 1), name="元旦")
    enter_year(last_known + 1)
    out, err = io.StringIO(), io.StringIO()
    with frozen(at(last_known, 11, 23)):
        call_command("check", stdout=out, stderr=err)
    assert "gridgov.W001" not in out.getvalue() + err.getvalue()


def test_the_holiday_admin_list_warns_of_the_missing_year(client, django_user_model, last_known):
    admin = django_user_model.objects.create_superuser("root", password="x")
    text = f"还没有 {last_known + 1} 年的放假安排"
    with frozen(at(last_known, 11, 23)):
        client.force_login(admin)
        assert client.get("/admin/core/holiday/").content.decode().count(text) == 1
        with frozen(at(last_known, 9, 1)):
            assert text not in client.get("/admin/core/holiday/").content.decode()
        Holiday.objects.create(date=dt.date(last_known + 1, 1, 1), name="元旦")
        enter_year(last_known + 1)
        assert text not in client.get("/admin/core/holiday/").content.decode()


def test_the_tick_tells_each_district_admin_once_a_year_and_logs_it(
    django_user_model, last_known, caplog
):
    from gridgov.accounts.models import Role
    from gridgov.appeals.models import Notification, OutboxMessage
    from gridgov.appeals.tasks import appeals_tick

    last = last_known
    admin = django_user_model.objects.create_user(
        "admin", email="admin@example.org", role=Role.DISTRICT_ADMIN
    )
    django_user_model.objects.create_user("gone", role=Role.DISTRICT_ADMIN, is_active=False)
    django_user_model.objects.create_user("official", role=Role.STREET_OFFICIAL)
    with frozen(at(last, 9, 30)):
        call_command("appeals_tick", stdout=io.StringIO())
    assert not Notification.objects.exists()
    with frozen(at(last, 11, 23)):
        with caplog.at_level("WARNING", logger="gridgov.appeals.tasks"):
            appeals_tick.apply().get()  # the Celery task …
            call_command("appeals_tick", stdout=io.StringIO())  # … and the command
    notes = list(Notification.objects.all())
    assert [(n.user, str(last + 1) in n.text) for n in notes] == [(admin, True)]
    assert OutboxMessage.objects.filter(recipient="admin@example.org").count() == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"holiday table has no rows for {last + 1}; told 1 district administrator(s)"
    ]
    # Once the year is entered, next autumn asks for the one after it.
    Holiday.objects.create(date=dt.date(last + 1, 1, 1), name="元旦")
    enter_year(last + 1)
    with frozen(at(last, 12, 1)):
        call_command("appeals_tick", stdout=io.StringIO())
    assert Notification.objects.count() == 1
    with frozen(at(last + 1, 10, 8)):
        call_command("appeals_tick", stdout=io.StringIO())
    assert Notification.objects.filter(user=admin, text__contains=str(last + 2)).count() == 1
