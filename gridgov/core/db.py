"""Database seams: PostgreSQL-only speed-ups behind one function each, with the plain ORM
path on every other backend (SQLite, the embedded default). CI runs the suite on both.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC
from functools import cache
from typing import Any

import orjson
from django.db import connections, router, transaction
from django.db.backends.signals import connection_created
from django.db.models import Aggregate, DateField, Field, FloatField, Func, Model
from django.dispatch import receiver

MAX_PK = 2**63 - 1


def valid_pk(value: Any) -> int | None:
    """An id that can exist in a bigint column, else None: ids from requests go through
    this, so a huge or odd one ("99999999999999999999", "²") finds nothing instead of
    failing in the database driver with a 500."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    return pk if 0 < pk <= MAX_PK else None


@dataclass(frozen=True)
class Lookup:
    """A query that ``insert_linked`` runs with its inserts, never seeing them: on
    PostgreSQL inside the same statement (one round trip for both), elsewhere just before
    them (``fallback``, which gives the same rows). The ids in the rows' first column (named
    ``id``), in ascending order, are also set under ``key`` in the JSON field ``into`` of
    each child that has one, in the database and on the instance."""

    sql: str  # PostgreSQL
    params: tuple[Any, ...]
    fallback: Callable[[], list[Sequence[Any]]]
    into: str
    key: str


def insert_linked(
    parent: Model, children: list[tuple[Model, str]], *, lookup: Lookup | None = None
) -> list[Sequence[Any]]:
    """Insert ``parent`` and ``children`` that refer to its new id, all or nothing; return
    the rows of ``lookup`` (none without one).

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
    into = [] if lookup is None else [c for c, _a in children if _has(type(c), lookup.into)]
    if connection.vendor != "postgresql":
        found = lookup.fallback() if lookup is not None else []
        _record_ids(lookup, into, found)
        with transaction.atomic(using=alias):
            parent.save(using=alias)
            for child, attr in children:
                setattr(child, attr, _link_value(child, attr, parent.pk))
                child.save(using=alias)
        return found
    rows = [parent] + [child for child, _attr in children]
    links = [None] + [attr for _child, attr in children]
    shape = tuple((type(row), link) for row, link in zip(rows, links, strict=True))
    spec = (lookup.sql, lookup.into, lookup.key) if lookup is not None else None
    sql = _statement(shape, spec, alias)
    # Each row travels as one JSON parameter (json_populate_record on the server): the
    # statement keeps three parameters (and the look-up's), so psycopg and PostgreSQL
    # prepare it once.
    params = [_as_json(row, link) for row, link in zip(rows, links, strict=True)]
    if lookup is not None:
        params = [*lookup.params, *params]
    # A failing statement inside an outer transaction needs a savepoint to leave it usable;
    # in autocommit mode the single statement is its own transaction.
    guard = transaction.atomic(using=alias) if connection.in_atomic_block else nullcontext()
    with guard, connection.cursor() as cursor:
        cursor.execute(sql, params)
        values = cursor.fetchone()
    pks, found = (values[:-1], values[-1]) if lookup is not None else (values, None)
    for row, pk in zip(rows, pks, strict=True):
        row.pk = pk
        row._state.adding = False
        row._state.db = alias
    for child, attr in children:
        setattr(child, attr, _link_value(child, attr, parent.pk))
    found = [list(row.values()) for row in orjson.loads(found or "[]")]
    _record_ids(lookup, into, found)
    return found


def _record_ids(lookup: Lookup | None, children: list[Model], found: list[Sequence[Any]]) -> None:
    if lookup is None:
        return
    ids = sorted(row[0] for row in found)
    for child in children:
        getattr(child, lookup.into)[lookup.key] = ids


def _link_value(row: Model, attr: str, pk: Any) -> Any:
    """The parent's pk as ``attr`` of ``row`` holds it: as is, or as text."""
    return str(pk) if _is_text(type(row), attr) else pk


@cache
def _is_text(model: type[Model], attname: str) -> bool:
    field = next(f for f in model._meta.concrete_fields if f.attname == attname)
    return field.get_internal_type() in ("CharField", "TextField")


@cache
def _statement(
    shape: tuple[tuple[type[Model], str | None], ...],
    lookup: tuple[str, str, str] | None,
    alias: str,
) -> str:
    """The statement for rows of these (model, link column) pairs, the first the parent,
    with the look-up (``Lookup``'s sql, into, key) first when there is one."""
    quote = connections[alias].ops.quote_name
    parts, ids = [], []
    if lookup is not None:
        sql, into, key = lookup
        if not key.isidentifier():
            raise ValueError(f"not a JSON key for SQL: {key!r}")
        parts.append(f"look AS ({sql})")
    for i, (model, link) in enumerate(shape):
        columns, values = [], []
        for f in _fields(model):
            columns.append(quote(f.column))
            if lookup is not None and i > 0 and f.attname == into and f.attname != link:
                values.append(
                    f"{quote(f.column)} || jsonb_build_object('{key}', "
                    "(SELECT coalesce(jsonb_agg(id ORDER BY id), '[]'::jsonb) FROM look))"
                )
            elif f.attname != link:
                values.append(quote(f.column))
            elif _is_text(model, link):
                values.append("(SELECT pk::text FROM r0 AS parent(pk))")
            else:
                values.append("(SELECT pk FROM r0 AS parent(pk))")
        table = quote(model._meta.db_table)
        parts.append(
            f"r{i} AS (INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} "
            f"FROM json_populate_record(NULL::{table}, %s) "
            f"RETURNING {quote(model._meta.pk.column)})"
        )
        ids.append(f"(SELECT * FROM r{i})")
    if lookup is not None:
        ids.append("(SELECT json_agg(look)::text FROM look)")
    return "WITH " + ", ".join(parts) + " SELECT " + ", ".join(ids)


@cache
def _has(model: type[Model], attname: str) -> bool:
    return any(f.attname == attname for f in _fields(model))


@cache
def _fields(model: type[Model]) -> list[Any]:
    return [f for f in model._meta.local_concrete_fields if not f.primary_key]


def _as_json(row: Model, link: str | None) -> str:
    """The row's column values (as ``save()`` would write them) as one JSON object."""
    plain, computed = _json_columns(type(row), link)
    values = row.__dict__
    body = {column: values[attname] for column, attname in plain}
    for f in computed:  # auto_now and the like: what save() would write now
        body[f.column] = f.pre_save(row, True)
    return orjson.dumps(body, default=str).decode()


@cache
def _json_columns(model: type[Model], link: str | None) -> tuple[list[tuple[str, str]], list[Any]]:
    """(column, attname) of the fields written as they are, and the fields whose
    ``pre_save`` computes the value (auto_now dates, files …), except ``link``."""
    plain, computed = [], []
    for f in _fields(model):
        if f.attname == link:
            continue
        stamped = isinstance(f, DateField) and (f.auto_now or f.auto_now_add)
        if type(f).pre_save is Field.pre_save or (isinstance(f, DateField) and not stamped):
            plain.append((f.column, f.attname))
        else:
            computed.append(f)
    return plain, computed


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


class HoursBetween(Func):
    """Hours from ``start`` to ``end`` (two datetime expressions), as a float."""

    output_field = FloatField()

    def __init__(self, start: Any, end: Any) -> None:
        super().__init__(end, start)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s)) / 3600.0",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="(julianday(%(expressions)s)) * 24.0",
            arg_joiner=") - julianday(",
            **extra,
        )


class Median(Aggregate):
    """The median of an expression, as ``statistics.median`` takes it (the mean of the two
    middle values for an even count): percentile_cont on PostgreSQL; on SQLite an aggregate
    function of our own (``_SQLiteMedian``), registered on every new connection."""

    output_field = FloatField()
    template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # On the copy's template, not as an argument: Aggregate.as_sql passes its own
        # template along when there is a filter.
        median = self.copy()
        median.template = "gridgov_median(%(expressions)s)"
        return median.as_sql(compiler, connection, **extra)


class _SQLiteMedian:
    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: float | None) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return statistics.median(self.values) if self.values else None


@receiver(connection_created)
def _add_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("gridgov_median", 1, _SQLiteMedian)
