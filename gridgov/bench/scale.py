"""The work pages on a large appeals table: ten years of a district (1,000,000 appeals by
default; GRIDGOV_BENCH_SCALE_ROWS=10000000 for a city's ten years), on PostgreSQL.

A throw-away database (``gg_bench_scale``) gets the demo district, then the rows, written
in SQL from the demo's own appeals: newest ids newest, one every ten years ÷ rows; the
last 120 days copy any demo appeal (so a few in a hundred are open, most of them
overdue), older ones copy closed appeals. Each page is then fetched twice in one Django
process as the demo's staff (the first warms the caches) and the second is timed.

Figures: the slowest of the work-queue, supervision, my-tasks, detail, API list and
Open311 pages, and the rates of the current year (the page the year's report is read
from).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from gridgov.bench import Figure
from gridgov.bench._http import PG_ADMIN_URL, ROOT, _log, _manage, _psql

DB_NAME = "gg_bench_scale"
ROWS = int(os.environ.get("GRIDGOV_BENCH_SCALE_ROWS", "1000000"))
TEN_YEARS_S = 10 * 365.25 * 86400

# Every column but the id, the tracking code and the idempotency key is copied; the
# timestamps move by the same amount.
FILL = """
SET maintenance_work_mem = '1GB';
CREATE TEMP TABLE tpl AS SELECT row_number() OVER (ORDER BY id) - 1 AS i, * FROM appeals_appeal;
CREATE TEMP TABLE tplc AS SELECT row_number() OVER (ORDER BY id) - 1 AS i, *
  FROM appeals_appeal WHERE status = 'closed';
INSERT INTO appeals_appeal (region_path, priority, status, channel, description, address,
  latitude, longitude, dup_cell, reporter_name, reporter_phone, tracking_code, deadline,
  assigned_level, result, rating, resolved, rating_comment, reopened_count, returned_count,
  supervision_count, extension_count, responded_at, handled_at, overdue_at, created_at,
  updated_at, closed_at, assigned_department_id, assigned_region_id, assigned_user_id,
  created_by_id, district_id, duplicate_of_id, grid_id, region_id, reporter_id,
  reporter_user_id, category_id, amber_at, description_tokens)
SELECT t.region_path, t.priority, t.status, t.channel, t.description, t.address, t.latitude,
  t.longitude, t.dup_cell, t.reporter_name, t.reporter_phone, 'S' || lpad(g::text, 9, '0'),
  t.deadline + d, t.assigned_level, t.result, t.rating, t.resolved, t.rating_comment,
  t.reopened_count, t.returned_count, t.supervision_count, t.extension_count,
  t.responded_at + d, t.handled_at + d, t.overdue_at + d, t.created_at + d, t.updated_at + d,
  t.closed_at + d, t.assigned_department_id, t.assigned_region_id, t.assigned_user_id,
  t.created_by_id, t.district_id, t.duplicate_of_id, t.grid_id, t.region_id, t.reporter_id,
  t.reporter_user_id, t.category_id, t.amber_at + d, t.description_tokens
FROM (SELECT g, now() - (__ROWS__ + 1 - g) * interval '__STEP__ seconds' AS at
      FROM generate_series(1, __ROWS__) g) s
CROSS JOIN LATERAL (
  SELECT * FROM tpl WHERE tpl.i = (s.g::bigint * 7919) % (SELECT count(*) FROM tpl)
    AND s.at > now() - interval '120 days'
  UNION ALL
  SELECT * FROM tplc WHERE tplc.i = (s.g::bigint * 7919) % (SELECT count(*) FROM tplc)
    AND s.at <= now() - interval '120 days') t
CROSS JOIN LATERAL (SELECT s.at - t.created_at AS d) dd;
VACUUM ANALYZE appeals_appeal;
"""

PAGES = [
    ("operator", "/appeals/"),
    ("operator", "/appeals/?colour=red"),
    ("operator", "/appeals/?status=received"),
    ("operator", "/appeals/?status=closed&priority=urgent"),
    ("operator", "/appeals/supervision/"),
    ("operator", "/appeals/supervision/?show=red"),
    ("community_worker", "/appeals/"),
    ("community_worker", "/appeals/?colour=amber"),
    ("community_worker", "/appeals/mine/"),
    ("grid_worker", "/appeals/mine/"),
    ("department_handler", "/appeals/"),
    ("operator", "/api/v1/appeals/?colour=red"),
    ("operator", "/open311/v2/requests.json?page_size=100"),
    ("operator", "/open311/v2/requests.json?status=open"),
    ("operator", "/open311/v2/requests.json?page=100&page_size=100"),
]
STATS = [("operator", "/appeals/stats/?period=year&group_by=category")]

TIMER = """
import json, time
from django.test import Client
from gridgov.appeals.models import Appeal
newest = Appeal.objects.order_by("-id").first()
pages = json.loads(__PAGES__) + [["operator", f"/appeals/{newest.pk}/"]]
out = {}
for user, url in pages:
    client = Client()
    client.login(username=user, password="gridgov-demo")
    client.get(url)
    start = time.perf_counter()
    status = client.get(url).status_code
    out[url + " as " + user] = [round((time.perf_counter() - start) * 1000, 1), status]
print("TIMES=" + json.dumps(out))
"""


def _times(env: dict[str, str], pages: list[tuple[str, str]]) -> dict[str, list[float]]:
    script = TIMER.replace("__PAGES__", repr(json.dumps(pages)))
    out = _manage(env, "shell", "-c", script, timeout=1800)
    match = re.search(r"^TIMES=(.*)$", out, re.M)
    if not match:
        raise RuntimeError(f"timing printed nothing: {out[-500:]}")
    return json.loads(match.group(1))


def run() -> list[Figure]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gridgov.settings",
        "GRIDGOV_DATABASE_URL": f"{PG_ADMIN_URL}/{DB_NAME}",
        "GRIDGOV_LOG_LEVEL": "ERROR",
        "GRIDGOV_ALLOWED_HOSTS": "testserver",
    }
    env.pop("GRIDGOV_REDIS_URL", None)
    try:
        _psql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        _psql(f'CREATE DATABASE "{DB_NAME}"')
    except Exception as exc:  # no PostgreSQL: skip, say why
        _log(f"skipped: no PostgreSQL for the scale benchmark: {str(exc)[:300]}")
        return []
    try:
        _manage(env, "migrate", "--noinput")
        _manage(env, "demo", "--seed", "1", "--scale", "1")
        _log(f"writing {ROWS:,} appeals")
        sql = FILL.replace("__ROWS__", str(ROWS)).replace("__STEP__", f"{TEN_YEARS_S / ROWS:.3f}")
        subprocess.run(
            ["psql", f"{PG_ADMIN_URL}/{DB_NAME}", "-q", "-v", "ON_ERROR_STOP=1"],
            input=sql,
            text=True,
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        pages = _times(env, PAGES)
        stats = _times(env, STATS)
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    for name, (ms, status) in {**pages, **stats}.items():
        _log(f"{ms:8.1f} ms  {status}  {name}")
    bad = [name for name, (_ms, status) in {**pages, **stats}.items() if status != 200]
    if bad:
        print(f"# pages that did not answer 200: {bad}", file=sys.stderr)
    slowest = max(ms for ms, _status in pages.values())
    return [
        Figure("scale_rows", ROWS, "appeals"),
        Figure("scale_slowest_list_page", slowest, "ms", "<=", 500),
        Figure("scale_stats_year", max(ms for ms, _s in stats.values()), "ms"),
    ]
