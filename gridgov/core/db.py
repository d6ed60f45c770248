"""Database seams: PostgreSQL-only speed-ups behind one function each, with the plain ORM
path on every other backend (SQLite, the embedded default). CI runs the suite on both.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC
from functools import cache
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Model


def insert_linked(parent: Model, children: list[tuple[Model, str]]) -> None:
    """Insert ``parent`` and ``children`` that refer to its new id, all or nothing.

    ``children`` pairs each unsaved row with the attribute (``"appeal_id"``, or a text
    column such as ``AuditLog.target_id``) that takes the parent's id. On PostgreSQL this
    is one statement (data-modifying CTEs), so one round trip and, outside a transaction,
    no BEGIN/COMMIT: an appeal with its history and audit rows costs one trip instead of
    five. Elsewhere: ``save()`` each row in a transaction. Afterwards every row has its pk
    and is marked saved, as after ``save()``. No signals are sent on the PostgreSQL path
    (none of the models it serves has receivers). Errors (IntegrityError on a unique key)
    leave nothing written and an enclosing transaction usable.
    """
    alias = router.db_for_write(type(parent))
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=alias):
            parent.save(using=alias)
            for child, attr in children:
                setattr(child, attr, _link_value(child, attr, parent.pk))
                child.save(using=alias)
        return
    parts, params = [], []
    for i, row in enumerate([parent] + [child for child, _attr in children]):
        link = None if i == 0 else children[i - 1][1]
        table, columns, marks, values = _insert_parts(row, link, alias)
        params += values
        parts.append(
            f"r{i} AS (INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING "
            f"{connection.ops.quote_name(row._meta.pk.column)})"
        )
    ids = ", ".join(f"(SELECT * FROM r{i})" for i in range(len(parts)))
    sql = "WITH " + ", ".join(parts) + f" SELECT {ids}"
    # A failing statement inside an outer transaction needs a savepoint to leave it usable;
    # in autocommit mode the single statement is its own transaction.
    guard = transaction.atomic(using=alias) if connection.in_atomic_block else nullcontext()
    with guard, connection.cursor() as cursor:
        cursor.execute(sql, params)
        pks = cursor.fetchone()
    for row, pk in zip([parent] + [child for child, _attr in children], pks, strict=True):
        row.pk = pk
        row._state.adding = False
        row._state.db = alias
    for child, attr in children:
        setattr(child, attr, _link_value(child, attr, parent.pk))


def _link_value(row: Model, attr: str, pk: Any) -> Any:
    """The parent's pk as ``attr`` of ``row`` holds it: as is, or as text."""
    return str(pk) if _is_text(type(row), attr) else pk


def _is_text(model: type[Model], attname: str) -> bool:
    field = next(f for f in model._meta.concrete_fields if f.attname == attname)
    return field.get_internal_type() in ("CharField", "TextField")


@cache
def _statement(model: type[Model], link: str | None, alias: str) -> tuple[str, str, str, list]:
    """The table, the column list, the placeholders and the fields of one model's insert;
    the ``link`` column's placeholder reads the parent's new id from the first CTE."""
    quote = connections[alias].ops.quote_name
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    marks = []
    for f in fields:
        if f.attname != link:
            marks.append("%s")
        elif _is_text(model, link):
            marks.append("(SELECT pk::text FROM r0 AS parent(pk))")
        else:
            marks.append("(SELECT pk FROM r0 AS parent(pk))")
    columns = ", ".join(quote(f.column) for f in fields)
    return quote(model._meta.db_table), columns, ", ".join(marks), fields


def _insert_parts(row: Model, link: str | None, alias: str) -> tuple[str, str, str, list]:
    table, columns, marks, fields = _statement(type(row), link, alias)
    connection = connections[alias]
    values = [
        f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields if f.attname != link
    ]
    return table, columns, marks, values


def local_isoformat_sql(column: str, vendor: str) -> str:
    """SQL for the timestamp ``column`` as ISO 8601 text in a time zone (one parameter per
    ``%s``: see ``local_isoformat_params``), e.g. ``2026-11-23T13:08:44+08:00``. PostgreSQL
    formats it: formatting a page's 300 timestamps in Python cost about 0.8 ms. Other
    backends read the column and ``local_isoformat`` formats it in Python."""
    if vendor != "postgresql":
        return column
    local, utc = f"({column} AT TIME ZONE %s)", f"({column} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN {local} >= {utc} "
        f"THEN '+' || to_char({local} - {utc}, 'HH24:MI') "
        f"ELSE '-' || to_char({utc} - {local}, 'HH24:MI') END)"
    )


def local_isoformat_params(vendor: str, zone: str) -> list[str]:
    return [zone] * 4 if vendor == "postgresql" else []


def local_isoformat(value: Any, tz: Any) -> str | None:
    """The value of a ``local_isoformat_sql`` column: PostgreSQL's text as it is; SQLite's naive
    UTC datetime (as its driver converts the column) converted and formatted here."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).isoformat(timespec="seconds")
