"""The database seams of core/db.py and core/scope.py give the same answers on every backend."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from gridgov.core.db import local_isoformat, local_isoformat_params, local_isoformat_sql
from gridgov.core.models import AuditLog
from gridgov.core.scope import subtree_params, subtree_sql

pytestmark = pytest.mark.django_db

UTC = dt.UTC
INSTANTS = [
    dt.datetime(2026, 11, 23, 5, 8, 44, 123456, tzinfo=UTC),
    dt.datetime(2026, 7, 1, 12, 0, tzinfo=UTC),  # northern summer time
    dt.datetime(2026, 1, 1, 23, 59, 59, tzinfo=UTC),
]
ZONES = ["Asia/Shanghai", "America/New_York", "Asia/Kolkata", "America/St_Johns", "UTC"]


@pytest.mark.parametrize("zone", ZONES)
def test_timestamps_read_as_local_iso_text_match_python(zone):
    rows = [AuditLog.objects.create(action="t", target_type="t", target_id="1") for _ in INSTANTS]
    for row, at in zip(rows, INSTANTS, strict=True):
        AuditLog.objects.filter(pk=row.pk).update(at=at)
    vendor = connection.vendor
    sql = (
        f"SELECT {local_isoformat_sql('at', vendor)} FROM core_auditlog "
        "WHERE id IN (%s, %s, %s) ORDER BY id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*local_isoformat_params(vendor, zone), *[r.pk for r in rows]])
        got = [local_isoformat(value, ZoneInfo(zone)) for (value,) in cursor.fetchall()]
    expected = [at.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds") for at in INSTANTS]
    assert got == expected


def test_a_missing_timestamp_reads_as_none():
    assert local_isoformat(None, ZoneInfo("Asia/Shanghai")) is None


def test_written_out_subtree_filter_matches_the_orm_one():
    paths = ["/410205/", "/410205/001/", "/410205/001/002/", "/410205/0010/", "/410206/"]
    for path in paths:
        AuditLog.objects.create(action="t", target_type="t", target_id="1", region_path=path)
    vendor = connection.vendor
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT region_path FROM core_auditlog WHERE {subtree_sql('region_path', vendor)} "
            "ORDER BY region_path",
            subtree_params("/410205/001/", vendor),
        )
        got = [path for (path,) in cursor.fetchall()]
    assert got == ["/410205/001/", "/410205/001/002/"]


# The tables every intake writes: each index is maintained on every insert.
WRITTEN_PER_INTAKE = ["appeals_appeal", "appeals_appealevent", "core_auditlog"]


@pytest.mark.parametrize("table", WRITTEN_PER_INTAKE)
def test_no_index_on_an_intake_table_is_a_leading_part_of_another(table):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's catalogue")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, array_agg(a.attname || ':' || oc.opcname ORDER BY k.n) "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid "
            "CROSS JOIN LATERAL unnest(x.indkey, x.indclass) WITH ORDINALITY AS k(att, cls, n) "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.att "
            "JOIN pg_opclass oc ON oc.oid = k.cls "
            "WHERE t.relname = %s GROUP BY i.relname",
            [table],
        )
        indexes = dict(cursor.fetchall())

    # An index whose columns (with their operator classes) begin another index's serves
    # nothing the longer one does not, and costs a write on every insert; so does a second
    # one-column index on a column (Django adds one for LIKE to ``unique``/``db_index`` text).
    def column(entry: str) -> str:
        return entry.split(":")[0]

    covered = [
        (short, long)
        for short, cols in indexes.items()
        for long, other in indexes.items()
        if short != long
        and (
            other[: len(cols)] == cols
            or (len(cols) == len(other) == 1 and column(cols[0]) == column(other[0]))
        )
    ]
    assert not covered, covered
