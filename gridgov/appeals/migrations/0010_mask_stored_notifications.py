"""Notifications and outbox messages written before texts were masked at writing keep the
numbers residents typed (phones, ID numbers) in clear in the database; they were masked
only when shown. Mask them where they are stored, as ``notify`` now writes every new one."""

from django.db import migrations

BATCH = 2000


def _rewrite(model, field, masked):
    """Save ``masked(value)`` of ``field`` for every row where it differs, in batches."""
    changed = []
    for row in model.objects.only("pk", field).iterator(chunk_size=BATCH):
        value = masked(getattr(row, field))
        if value != getattr(row, field):
            setattr(row, field, value)
            changed.append(row)
        if len(changed) >= BATCH:
            model.objects.bulk_update(changed, [field])
            changed = []
    model.objects.bulk_update(changed, [field])


def mask_stored(apps, schema_editor):
    # The live helper, not a copy: the stored texts end as new ones are written.
    from gridgov.core.pii import mask_text

    def masked_payload(payload):
        return {
            k: mask_text(v) if k in ("text", "subject") and isinstance(v, str) else v
            for k, v in (payload or {}).items()
        }

    _rewrite(apps.get_model("appeals", "Notification"), "text", mask_text)
    _rewrite(apps.get_model("appeals", "OutboxMessage"), "payload", masked_payload)


class Migration(migrations.Migration):
    dependencies = [("appeals", "0009_reporter_phone_one_way")]

    operations = [migrations.RunPython(mask_stored, migrations.RunPython.noop)]
