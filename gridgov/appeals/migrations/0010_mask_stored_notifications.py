"""Notifications and outbox messages written before texts were masked at writing keep the
numbers residents typed (phones, ID numbers) in clear in the database; they were masked
only when shown. Mask them where they are stored, as ``notify`` now writes every new one."""

from django.db import migrations

BATCH = 2000


def mask_stored(apps, schema_editor):
    # The live helper, not a copy: the stored texts end as new ones are written.
    from gridgov.core.pii import mask_text

    Notification = apps.get_model("appeals", "Notification")
    changed = []
    for row in Notification.objects.only("pk", "text").iterator(chunk_size=BATCH):
        if (masked := mask_text(row.text)) != row.text:
            row.text = masked
            changed.append(row)
        if len(changed) >= BATCH:
            Notification.objects.bulk_update(changed, ["text"])
            changed = []
    Notification.objects.bulk_update(changed, ["text"])

    OutboxMessage = apps.get_model("appeals", "OutboxMessage")
    changed = []
    for msg in OutboxMessage.objects.only("pk", "payload").iterator(chunk_size=BATCH):
        payload = dict(msg.payload or {})
        for key in ("text", "subject"):
            if isinstance(payload.get(key), str):
                payload[key] = mask_text(payload[key])
        if payload != msg.payload:
            msg.payload = payload
            changed.append(msg)
        if len(changed) >= BATCH:
            OutboxMessage.objects.bulk_update(changed, ["payload"])
            changed = []
    OutboxMessage.objects.bulk_update(changed, ["payload"])


class Migration(migrations.Migration):
    dependencies = [("appeals", "0009_reporter_phone_one_way")]

    operations = [migrations.RunPython(mask_stored, migrations.RunPython.noop)]
