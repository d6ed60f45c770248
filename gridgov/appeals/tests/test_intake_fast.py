"""The fast intake path: per-process caches (categories with time limits, grid places)
stay correct when the rows change, and the idempotency key holds without a look-up first."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from psycopg.sql import Literal

from gridgov.accounts.tokens import token_create
from gridgov.appeals import duplicates
from gridgov.appeals.api import IntakeOut
from gridgov.appeals.duplicates import (
    OPEN_UNMERGED,
    WINDOW,
    _box,
    _candidate_sql,
    appeal_duplicate_candidates,
)
from gridgov.appeals.models import (
    Appeal,
    AppealEvent,
    Channel,
    Priority,
    TimeLimit,
    TimeUnit,
    dup_cell,
    neighbour_cells,
)
from gridgov.appeals.services import appeal_intake, appeal_register
from gridgov.appeals.tests.conftest import POINT_A
from gridgov.core.errors import ValidationFailed
from gridgov.core.models import AuditLog

BASE = "/api/v1/appeals/"


def _post(client, headers, body):
    return client.post(BASE, json.dumps(body), content_type="application/json", **headers)


def _body(cats, **extra):
    return {
        "channel": "hotline",
        "category_id": cats.sewer.pk,
        "description": "下水管道破裂",
        "latitude": POINT_A[0],
        "longitude": POINT_A[1],
        **extra,
    }


def _headers(user, key=None):
    _, token = token_create(user=user, name="test")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if key:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return headers


def test_api_intake_reads_no_category_time_limit_or_grid_once_warm(client, personas, cats):
    headers = _headers(personas.operator)
    assert _post(client, headers, _body(cats)).status_code == 201
    with CaptureQueriesContext(connection) as queries:
        resp = _post(client, {**headers, "HTTP_IDEMPOTENCY_KEY": "k-warm"}, _body(cats))
    assert resp.status_code == 201, resp.content
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    for table in ("appeals_category", "appeals_timelimit", "territory_grid"):
        assert f'FROM "{table}"' not in sql
    # No look-up of the idempotency key before the insert.
    assert "idempotency_key" not in sql.split("INSERT")[0]
    body = resp.json()
    assert body["category"]["name"] == "设施维护 / 下水管道"
    assert body["grid"]["id"] is not None and body["region"]["name"]


def test_api_intake_answer_matches_its_schema_in_both_statuses(client, personas, cats):
    # The intake answer skips ninja's validation on the way out: hold it to IntakeOut here.
    headers = _headers(personas.operator, key="k-schema")
    _hotline(personas, cats, "下水管道破裂")  # one candidate, so the list is not empty
    first = _post(client, headers, _body(cats))
    replay = _post(client, headers, _body(cats))
    assert (first.status_code, replay.status_code) == (201, 200)
    for resp in (first, replay):
        assert resp["Content-Type"] == "application/json; charset=utf-8"
        IntakeOut.model_validate(resp.json())
    body = first.json()
    assert body["duplicate_candidates"] and body["created_at"].endswith("Z")
    assert body["deadline"].endswith("Z")  # as on replay, where it is read back in UTC
    assert replay.json() == {**body, "duplicate_candidates": []}
    # Written by orjson, its timestamps read as in the answers ninja writes.
    detail = client.get(f"{BASE}{body['id']}", **headers).json()
    assert (detail["created_at"], detail["deadline"]) == (body["created_at"], body["deadline"])
    assert first.content.decode().count("下水管道破裂") == 1  # UTF-8, not escaped


def test_changed_time_limit_and_name_apply_to_the_next_api_intake(client, personas, cats):
    headers = _headers(personas.operator)
    first = _post(client, headers, _body(cats))
    assert first.status_code == 201
    limit = TimeLimit.objects.get(category=cats.sewer.parent, priority=Priority.NORMAL)
    TimeLimit.objects.create(
        category=cats.sewer, priority=Priority.NORMAL, amount=5, unit=TimeUnit.CALENDAR_HOURS
    )
    cats.sewer.name = "下水道"
    cats.sewer.save()
    second = _post(client, headers, _body(cats))
    assert second.status_code == 201
    assert second.json()["category"]["name"] == "设施维护 / 下水道"
    appeal = Appeal.objects.get(pk=second.json()["id"])
    assert appeal.deadline == appeal.created_at + dt.timedelta(hours=5)
    assert limit.unit == TimeUnit.WORKING_DAYS  # the parent's row was not the one used


def test_renamed_community_shows_in_the_next_intake(client, personas, cats, territory):
    headers = _headers(personas.operator)
    assert _post(client, headers, _body(cats)).json()["region"]["name"] == territory.comm_a.name
    territory.comm_a.name = "幸福社区"
    territory.comm_a.save()
    again = _post(client, headers, _body(cats))
    assert again.json()["region"]["name"] == "幸福社区"


def test_a_resent_report_returns_the_first_appeal_even_if_it_no_longer_passes(personas, cats):
    # A client retrying after a lost answer resends what it sent; meanwhile the category may
    # have been deactivated (or the grid redrawn, the role changed): the same report still
    # answers with the case it made, as when the key was looked up before any check.
    kwargs = dict(
        actor=personas.operator,
        channel=Channel.HOTLINE,
        category=cats.sewer,
        description="下水管道破裂",
        latitude=POINT_A[0],
        longitude=POINT_A[1],
        idempotency_key="call-7",
    )
    first = appeal_intake(**kwargs)
    cats.sewer.is_active = False
    cats.sewer.save(update_fields=["is_active"])
    again = appeal_intake(**{**kwargs, "description": " 下水管道破裂 "})  # stored stripped
    assert again.pk == first.pk and again.replayed
    assert Appeal.objects.count() == 1 and AppealEvent.objects.count() == 1
    # Different input that fails gets its error, not the first case: the key alone is no
    # credential (anyone may send any key under the public namespaces).
    with pytest.raises(ValidationFailed) as err:
        appeal_intake(**{**kwargs, "description": "另一件事"})
    assert err.value.field == "category"
    cats.sewer.is_active = True
    cats.sewer.save(update_fields=["is_active"])
    with pytest.raises(ValidationFailed) as err:
        appeal_intake(**{**kwargs, "description": ""})
    assert err.value.field == "description"
    # A new key with the same bad input is refused, naming the field.
    with pytest.raises(ValidationFailed) as err:
        appeal_intake(**{**kwargs, "description": "", "idempotency_key": "call-8"})
    assert err.value.field == "description"
    assert Appeal.objects.count() == 1


def test_unknown_category_id_names_the_field(client, personas, cats):
    resp = _post(client, _headers(personas.operator), _body(cats, category_id=2**62))
    assert resp.status_code == 400
    assert resp.json()["error"]["field"] == "category_id"


def test_worker_b_gets_404_on_an_appeal_taken_in_community_a(client, personas, cats):
    created = _post(client, _headers(personas.operator), _body(cats)).json()
    resp = client.get(f"{BASE}{created['id']}", **_headers(personas.worker_b))
    assert resp.status_code == 404


def test_intake_is_one_statement_on_postgresql_look_up_and_insert(client, personas, cats):
    if connection.vendor != "postgresql":
        pytest.skip("the single-statement insert is PostgreSQL's seam; SQLite saves each row")
    headers = _headers(personas.operator)
    first = _post(client, headers, _body(cats))  # also warms the caches
    assert first.status_code == 201
    with CaptureQueriesContext(connection) as queries:
        resp = _post(client, headers, _body(cats, description="下水道又堵了"))
    assert resp.status_code == 201, resp.content
    appeal = Appeal.objects.get(pk=resp.json()["id"])
    # Besides the caller's token: one statement looks up duplicates and inserts.
    statements = [
        q["sql"]
        for q in queries.captured_queries
        if "SAVEPOINT" not in q["sql"] and "accounts_apitoken" not in q["sql"]
    ]
    assert len(statements) == 1, [s[:60] for s in statements]
    assert statements[0].startswith("WITH look AS (SELECT")
    # It found the first case, and wrote all three rows, linked to the new appeal, the
    # history and audit rows naming what it found.
    assert resp.json()["duplicate_candidates"] == [first.json()["id"]]
    event = AppealEvent.objects.get(appeal=appeal, action="intake")
    assert event.to_status == "received" and event.actor_id == personas.operator.pk
    assert event.data == {"channel": "hotline", "duplicate_candidates": [first.json()["id"]]}
    audit = AuditLog.objects.get(
        action="appeal.intake", target_type="appeals.appeal", target_id=str(appeal.pk)
    )
    assert audit.data["duplicate_candidates"] == [first.json()["id"]]
    assert appeal.region_path and appeal.dup_cell and appeal.description_tokens
    assert appeal.amber_at is not None and appeal.created_at < appeal.amber_at < appeal.deadline


def _hotline(personas, cats, description, category=None, **extra):
    return appeal_intake(
        actor=personas.operator,
        channel=Channel.HOTLINE,
        category=category or cats.sewer,
        description=description,
        latitude=POINT_A[0],
        longitude=POINT_A[1],
        **extra,
    )


def test_a_replayed_key_inside_a_transaction_leaves_the_transaction_usable(personas, cats):
    with transaction.atomic():
        first = _hotline(personas, cats, "下水管道破裂", idempotency_key="tx-replay")
        # The unique index refuses the second row; the first appeal answers.
        again = _hotline(personas, cats, "下水管道破裂", idempotency_key="tx-replay")
        assert again.pk == first.pk and again.replayed
        assert Appeal.objects.filter(idempotency_key="tx-replay").count() == 1
    assert AppealEvent.objects.filter(appeal=first).count() == 1


def test_intake_stores_the_description_tokens_used_by_the_duplicate_check(personas, cats):
    appeal = _hotline(personas, cats, "3号楼下水管道破裂，污水外溢")
    tokens = Appeal.objects.get(pk=appeal.pk).description_tokens.split()
    assert "管道" in tokens and "破裂" in tokens
    assert "，" not in tokens and all(t.strip() for t in tokens)


def test_rows_written_before_stored_tokens_are_still_compared_by_text(personas, cats):
    # The unrelated case is older: on equal (zero) similarity it would rank first.
    unrelated = _hotline(personas, cats, "小区门口路灯不亮")
    old = _hotline(personas, cats, "3号楼下水管道破裂")
    Appeal.objects.filter(pk=old.pk).update(description_tokens="")
    new = _hotline(personas, cats, "3号楼下水管道又破裂了")
    assert new.duplicate_candidates[0] == old.pk and unrelated.pk in new.duplicate_candidates
    shown = appeal_duplicate_candidates(
        category=new.category,
        latitude=new.latitude,
        longitude=new.longitude,
        description=new.description,
        at=new.created_at,
        exclude_id=new.pk,
    )
    assert [c.pk for c in shown] == new.duplicate_candidates
    assert shown[0].similarity > shown[1].similarity


def test_token_similarities_equal_scikit_learns_tfidf_cosine():
    # The plain-Python ranking claims scikit-learn's TF-IDF (smoothed IDF, l2 norm): hold it
    # to the real thing on tokenised Chinese reports, repeats and an empty one included.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    from gridgov.appeals.duplicates import token_similarities, tokens

    texts = [
        "小区门口路灯不亮，晚上很黑",
        "门口路灯坏了不亮",
        "楼道灯不亮 楼道灯不亮",
        "下水管道破裂，污水外溢",
        "",
        "路灯",
    ]
    docs = [list(tokens(t)) for t in texts]
    ours = token_similarities(docs[0], docs[1:])
    matrix = TfidfVectorizer(analyzer=lambda doc: doc).fit_transform(docs)
    theirs = cosine_similarity(matrix[0], matrix[1:])[0]
    assert ours == pytest.approx(list(theirs), abs=1e-9)
    assert min(ours[0], ours[1]) > 0 and ours[2] == ours[3] == 0.0  # 不亮 shared; nothing shared


def _copies(appeal, n):
    """``n`` copies of ``appeal`` in its category, spread over many cells and the last two
    days, not analysed (as a table that grew since its statistics were taken)."""
    meta = Appeal._meta
    varied = {"id", "tracking_code", "idempotency_key", "dup_cell", "created_at", "category_id"}
    kept = [f.column for f in meta.concrete_fields if f.column not in varied]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {meta.db_table} ({', '.join(kept)}, tracking_code, dup_cell, "
            f"created_at, category_id) SELECT {', '.join(kept)}, 'T' || g, "
            f"category_id || ':' || mod(g, 53) || ':' || mod(g, 47), "
            f"now() - (g || ' seconds')::interval, category_id FROM {meta.db_table}, "
            "generate_series(1, %s) AS g WHERE id = %s",
            [n, appeal.pk],
        )


@pytest.mark.parametrize("mode", ["force_generic_plan", "force_custom_plan"])
def test_duplicate_look_up_reads_only_the_nine_cells_in_either_plan(personas, cats, mode):
    # Prepared statements go generic after five runs; the generic plan knows no values, and
    # with the category in a column of its own it scanned the category's whole 48 hours.
    if connection.vendor != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    _copies(_hotline(personas, cats, "下水管道破裂"), 5000)
    sql = _candidate_sql()
    n = sql.count("%s")
    numbered = sql.replace("%s", "{}").format(*(f"${i}" for i in range(1, n + 1)))
    params = [
        *neighbour_cells(cats.sewer.pk, *POINT_A),
        *_box(*POINT_A),
        timezone.now() - WINDOW,
        timezone.now() + WINDOW,
        *OPEN_UNMERGED,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL plan_cache_mode = {mode}")
        types = {str: "text", float: "float8", dt.datetime: "timestamptz"}
        kinds = [next(t for k, t in types.items() if isinstance(p, k)) for p in params]
        cursor.execute(f"PREPARE dup_look_up({', '.join(kinds)}) AS {numbered}")
        try:
            # EXPLAIN takes no bound parameters: the values go in as literals.
            args = ", ".join(Literal(p).as_string(connection.connection) for p in params)
            cursor.execute(f"EXPLAIN EXECUTE dup_look_up({args})")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE dup_look_up")
    assert "appeal_dup_cell_idx" in plan, plan
    cond = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert "(dup_cell)::text = ANY" in cond and "created_at >=" in cond, plan


def test_postgresql_measures_the_look_up_as_python_does(personas, cats):
    # Intake's look-up runs in the insert statement, its distances measured by PostgreSQL;
    # the pages' look-up measures in Python. Both must find the same cases at the same
    # distances, also those a hair inside or outside the 100 m.
    if connection.vendor != "postgresql":
        pytest.skip("the look-up inside the insert is PostgreSQL's")
    lat, lon = POINT_A
    metre = 1 / 111_194.9  # degrees of latitude
    points = [(99.99, 0), (100.01, 0), (-99.999, 0), (0, 0), (0, 80), (60, -60), (3, -4)]
    ids = {}
    for north, east in points:
        ids[north, east] = appeal_intake(
            actor=personas.operator,
            channel=Channel.HOTLINE,
            category=cats.sewer,
            description="下水管道破裂",
            latitude=lat + north * metre,
            longitude=lon + east * metre,
        ).pk
    lookup = duplicates.near_lookup(
        category=cats.sewer, latitude=lat, longitude=lon, at=timezone.now()
    )
    with connection.cursor() as cursor:
        cursor.execute(lookup.sql, lookup.params)
        measured = sorted(tuple(row) for row in cursor.fetchall())
    in_python = sorted(tuple(row) for row in lookup.fallback())
    assert measured == in_python
    assert {row[0] for row in measured} == {pk for at, pk in ids.items() if at != (100.01, 0)}


def test_a_recategorised_appeal_is_proposed_in_its_new_category(personas, cats):
    first = _hotline(personas, cats, "小区停水，水管破裂")
    appeal_register(actor=personas.operator, appeal=first, category=cats.utilities)
    stored = Appeal.objects.get(pk=first.pk)
    assert stored.dup_cell == dup_cell(cats.utilities.pk, *POINT_A)
    again = _hotline(personas, cats, "小区停水", category=cats.utilities)
    assert again.duplicate_candidates == [first.pk]
    assert _hotline(personas, cats, "小区停水").duplicate_candidates == []


def _prepared_statements():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_the_duplicate_look_up_is_prepared_and_planned_afresh_when_the_table_doubles(
    personas, cats, monkeypatch
):
    # One generic plan per statement text and connection: made on a nearly empty table it
    # would go on scanning the table as it grew, so the text carries the table's size class.
    if connection.vendor != "postgresql" or not connection.connection.prepare_threshold:
        pytest.skip("prepared statements are PostgreSQL's, and on by default")
    monkeypatch.setattr(duplicates, "_size_class", [0])
    first = _hotline(personas, cats, "下水管道破裂 0")
    size = duplicates._size_class[0]
    assert size == first.pk.bit_length() > 0
    for i in range(1, 8):
        _hotline(personas, cats, f"下水管道破裂 {i}")
    prepared = _prepared_statements()
    assert any("INSERT INTO" in s and "appeals_appeal" in s for s in prepared), prepared
    assert any(f"/* rows < 2^{size} */" in s for s in prepared), prepared

    duplicates.note_appeal_id(2 ** (size + 1))  # the table has doubled twice
    duplicates.note_appeal_id(7)  # an older id changes nothing
    assert duplicates._size_class[0] == size + 2
    for i in range(6):
        _hotline(personas, cats, f"下水管道破裂 again {i}")
    assert any(f"/* rows < 2^{size + 2} */" in s for s in _prepared_statements())


def test_a_kept_token_has_a_letter_or_digit_as_str_isalnum_counts_them():
    import sys

    from gridgov.appeals.duplicates import _WORDLIKE, tokens

    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        assert bool(_WORDLIKE(ch)) == ch.isalnum(), hex(code)
    # Punctuation, spaces and underscores alone are dropped.
    assert tokens("路灯不亮！！ ，abc_ __ 42") == ("路", "灯不亮", "abc", "42")
