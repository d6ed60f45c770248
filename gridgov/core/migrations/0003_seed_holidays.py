"""Every deployment starts with the holidays chinese-calendar knows (no deadline may count
National Day as working days because nobody ran the demo)."""

from django.db import migrations


def seed(apps, schema_editor):
    from gridgov.core.workdays import holiday_rows, known_holiday_years

    holiday = apps.get_model("core", "Holiday")
    existing = set(holiday.objects.values_list("date", flat=True))
    holiday.objects.bulk_create(
        [
            holiday(date=day, is_working_day=working, name=name)
            for day, working, name in holiday_rows(known_holiday_years())
            if day not in existing
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0002_fewer_indexes")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
