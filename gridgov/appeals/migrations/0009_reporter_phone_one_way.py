"""Reporters' phone numbers stored one way (``notify.sms_number``: ASCII digits without
spaces or hyphens, a mainland mobile without +86), as intake now stores them, so that a
caller's earlier cases are found by one exact look-up of ``appeal_reporter_phone_idx``."""

from django.db import migrations


def one_way(apps, schema_editor):
    # The live helper, not a copy: what it writes is what intake writes from now on.
    from gridgov.appeals.notify import sms_number

    Appeal = apps.get_model("appeals", "Appeal")
    rows = Appeal.objects.exclude(reporter_phone="").exclude(reporter_phone__regex=r"^[0-9]+$")
    for pk, phone in rows.values_list("pk", "reporter_phone").iterator():
        if (number := sms_number(phone)) != phone:
            Appeal.objects.filter(pk=pk).update(reporter_phone=number)


class Migration(migrations.Migration):
    dependencies = [("appeals", "0008_notice_message_phone_index")]

    operations = [migrations.RunPython(one_way, migrations.RunPython.noop)]
