"""The duplicate look-up's key holds the category with the cell (``dup_cell``), so the
look-up has one index that fits it. With the category in a column of its own, PostgreSQL
(on stale statistics, or in the generic plan of the prepared statement) often scanned the
category's whole 48 hours and filtered the cells, and intake slowed as the table grew."""

from django.db import migrations, models

BATCH = 2000


def _refill(apps, key):
    Appeal = apps.get_model("appeals", "Appeal")
    rows = Appeal.objects.filter(latitude__isnull=False, longitude__isnull=False).only(
        "id", "category_id", "latitude", "longitude"
    )
    batch = []
    for row in rows.iterator(chunk_size=BATCH):
        row.dup_cell = key(row)
        batch.append(row)
        if len(batch) == BATCH:
            Appeal.objects.bulk_update(batch, ["dup_cell"])
            batch = []
    if batch:
        Appeal.objects.bulk_update(batch, ["dup_cell"])


def forwards(apps, schema_editor):
    from gridgov.appeals.models import dup_cell

    _refill(apps, lambda row: dup_cell(row.category_id, row.latitude, row.longitude))


def backwards(apps, schema_editor):
    # The column goes back to its old name and content: the cell alone.
    from gridgov.appeals.models import dup_cell

    _refill(apps, lambda row: dup_cell(0, row.latitude, row.longitude).split(":", 1)[1])


class Migration(migrations.Migration):
    dependencies = [
        ("appeals", "0003_description_tokens_page_index"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="appeal", name="appeal_dup_idx"),
        migrations.RenameField(model_name="appeal", old_name="geo_cell", new_name="dup_cell"),
        migrations.AlterField(
            model_name="appeal",
            name="dup_cell",
            field=models.CharField(
                blank=True, editable=False, max_length=40, verbose_name="查重格"
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AddIndex(
            model_name="appeal",
            index=models.Index(fields=["dup_cell", "created_at"], name="appeal_dup_cell_idx"),
        ),
    ]
