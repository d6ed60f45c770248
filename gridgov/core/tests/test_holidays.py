"""The holiday table: there from the first migration, re-seeded by command, edited in the
admin, and every edit used by the deadline arithmetic at once."""

from __future__ import annotations

import datetime as dt
import io

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
