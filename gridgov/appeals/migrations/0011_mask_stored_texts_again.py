"""``mask_text`` now finds more of the ways residents write numbers (3-8 and 7-4 groups,
dots, brackets, digits read out one by one, an ID number after a label such as "ID").
Notifications and outbox messages are masked where they are stored: mask those already
stored again, and the parameters notifications keep for the reader's language too."""

from importlib import import_module

from django.db import migrations

earlier = import_module("gridgov.appeals.migrations.0010_mask_stored_notifications")


def mask_stored_again(apps, schema_editor):
    from gridgov.core.pii import mask_text

    def masked(value):
        """Every string in the stored parameters (a nested notice is a dict), masked."""
        if isinstance(value, str):
            return mask_text(value)
        if isinstance(value, dict):
            return {k: masked(v) for k, v in value.items()}
        return value

    earlier.mask_stored(apps, schema_editor)
    earlier._rewrite(apps.get_model("appeals", "Notification"), "params", masked)


class Migration(migrations.Migration):
    dependencies = [("appeals", "0010_mask_stored_notifications")]

    operations = [migrations.RunPython(mask_stored_again, migrations.RunPython.noop)]
