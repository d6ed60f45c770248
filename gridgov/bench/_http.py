"""Shared HTTP benchmark harness: a real gunicorn on PostgreSQL, driven over loopback.

``server()`` (one per process, stopped at exit) creates a dedicated database
(``gg_bench`` unless GRIDGOV_BENCH_DB names another), migrates it, loads a small
demo-like data set (a district, a few hundred grids, the default categories, an API
key), and starts ``gunicorn gridgov.wsgi`` on 127.0.0.1 and a free port with
GRIDGOV_BENCH=true (which mounts the bare baseline view). ``measure()`` drives it with
``wrk`` (installed from Debian when missing and root) or, failing that, a thread-based
Python generator, for a bounded time after a warm-up.

``interleaved()`` measures several loads in turn, round after round, and pools each load's
rounds: a machine whose speed drifts (shared virtual cores) then weighs on every load alike,
and a ratio between two loads measured this way is steadier than one between two runs.

Tunables (environment): GRIDGOV_BENCH_SECONDS (10), GRIDGOV_BENCH_WARMUP (5),
GRIDGOV_BENCH_ROUNDS (3), GRIDGOV_BENCH_CONNECTIONS (4 × cores), GRIDGOV_WORKERS
(one per core), GRIDGOV_BENCH_GRIDS (300).

One gunicorn worker per core: PostgreSQL runs on the same cores, and the hot paths keep a
core busy without waiting; two per core measured slower (docs/open311.md, "Where intake's
time goes").
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
PG_ADMIN_URL = os.environ.get("GRIDGOV_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("GRIDGOV_BENCH_DB", "gg_bench")
SECONDS = float(os.environ.get("GRIDGOV_BENCH_SECONDS", "10"))
WARMUP = float(os.environ.get("GRIDGOV_BENCH_WARMUP", "5"))
ROUNDS = max(1, int(os.environ.get("GRIDGOV_BENCH_ROUNDS", "3")))
CONNECTIONS = int(os.environ.get("GRIDGOV_BENCH_CONNECTIONS", "0"))  # 0: 4 × cores
GRIDS = int(os.environ.get("GRIDGOV_BENCH_GRIDS", "300"))


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen
    data: dict[str, Any]
    env: dict[str, str]


_server: Server | None = None


def _log(text: str) -> None:
    print(f"#   {text}", file=sys.stderr, flush=True)


# --- database -------------------------------------------------------------------------


def _psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _create_db() -> None:
    _psql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    _psql(f'CREATE DATABASE "{DB_NAME}"')


def _drop_db() -> None:
    with contextlib.suppress(Exception):
        _psql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


SEED_SCRIPT = r"""
import json, math
from gridgov.open311.services import apikey_create
from gridgov.territory.models import Region, RegionKind, Grid
from gridgov.appeals.services import seed_default_categories
from gridgov.appeals.models import Category

n = int(__N__)
district = Region.objects.create(code="410205", name="禹王台区", kind=RegionKind.DISTRICT)
streets = [Region.objects.create(code=f"410205{s:03d}", name=f"第{s}街道", kind=RegionKind.STREET,
                                 parent=district) for s in range(1, 5)]
communities = [Region.objects.create(code=f"{st.code}{c:03d}", name=f"{st.name}{c}社区",
                                     kind=RegionKind.COMMUNITY, parent=st)
               for st in streets for c in range(1, 6)]
side = math.ceil(math.sqrt(n))
size = 0.002
lon0, lat0 = 114.30, 34.70
boxes = []
grids = []
for i in range(n):
    row, col = divmod(i, side)
    lon, lat = lon0 + col * size, lat0 + row * size
    comm = communities[i % len(communities)]
    poly = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + size, lat],
            [lon + size, lat + size], [lon, lat + size], [lon, lat]]]}
    grids.append(Grid(code=f"{comm.code}-{i:04d}", name=f"网格{i}", level=1, region=comm,
                      district=district, region_path=comm.path, polygon=poly))
    boxes.append([lon, lat, size])
Grid.objects.bulk_create(grids)
seed_default_categories(district=district)
leaf = [c for c in Category.objects.filter(district=district, is_active=True,
                                            children__isnull=True)
        if not any(f.get("required") for f in (c.extra_fields or []))]
key, clear = apikey_create(actor=None, name="bench")
print("SEED=" + json.dumps({"api_key": clear, "boxes": boxes,
                            "categories": [c.code for c in leaf],
                            "category_ids": [str(c.pk) for c in leaf]}))
"""


def _manage(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [PY, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args[:1])} failed:\n{done.stderr[-3000:]}")
    return done.stdout


# --- server ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not become ready")


def server() -> Server:
    """The shared benchmark server (started on first use, stopped and cleaned at exit)."""
    global _server
    if _server is not None:
        return _server
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "gridgov.settings",
            "GRIDGOV_DATABASE_URL": f"{PG_ADMIN_URL}/{DB_NAME}",
            "GRIDGOV_BENCH": "true",
            "GRIDGOV_DEBUG": "false",
            "GRIDGOV_LOG_LEVEL": "ERROR",
            "GRIDGOV_ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
    )
    env.pop("GRIDGOV_REDIS_URL", None)  # per-process locmem cache; nothing here needs sharing
    _log(f"creating database {DB_NAME}")
    _create_db()
    atexit.register(_drop_db)
    _manage(env, "migrate", "--noinput")
    out = _manage(env, "shell", "-c", SEED_SCRIPT.replace("__N__", str(GRIDS)))
    match = re.search(r"^SEED=(.*)$", out, re.M)
    if not match:
        raise RuntimeError(f"seeding printed no data: {out[-500:]}")
    data = json.loads(match.group(1))
    workers = int(os.environ.get("GRIDGOV_WORKERS") or os.cpu_count() or 1)
    port = _free_port()
    gunicorn = str(Path(PY).with_name("gunicorn"))
    process = subprocess.Popen(
        [
            gunicorn,
            "gridgov.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--config",
            "python:gridgov.bench._gunicorn_conf",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    atexit.register(_stop, process)
    base = f"http://127.0.0.1:{port}"
    _wait_ready(base, process)
    _log(f"gunicorn ready on {base} with {workers} workers, {len(data['boxes'])} grids")
    _server = Server(base_url=base, process=process, data=data, env=env)
    return _server


def server_or_none() -> Server | None:
    """The server, or None (with the reason on stderr) when PostgreSQL is not reachable."""
    try:
        return server()
    except Exception as exc:  # no PostgreSQL, migration or start-up failure: skip, say why
        _log(f"skipped: cannot start the HTTP benchmark server: {str(exc)[:300]}")
        return None


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        # The master alone: it stops its workers in order. Signalled directly, as part of
        # the group, they die before it asks and it logs each as an error.
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def shutdown() -> None:
    """Stop gunicorn and drop the database now (also done at exit)."""
    global _server
    if _server is not None:
        _stop(_server.process)
        _server = None
    _drop_db()


def random_point(boxes: list[list[float]], rng: random.Random) -> tuple[float, float]:
    """(latitude, longitude) strictly inside a random grid."""
    lon, lat, size = rng.choice(boxes)
    return lat + size * rng.uniform(0.05, 0.95), lon + size * rng.uniform(0.05, 0.95)


# --- load generation ------------------------------------------------------------------


def _have_wrk() -> bool:
    if shutil.which("wrk"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        _log("installing wrk from Debian")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": False}
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, **quiet).returncode:
            subprocess.run(["apt-get", "update", "-qq"], env=env, **quiet)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, **quiet)
    return shutil.which("wrk") is not None


@dataclass
class Load:
    """What to send: a method and path, or a POST with a generated body per request."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    # "json-intake" | "open311-post" | "bare" | None (a fixed request)
    body_kind: str | None = None
    boxes: list[list[float]] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)


LUA_TEMPLATE = r"""
local boxes = __BOXES__
local cats = __CATS__
local kind = "__KIND__"
local counter = 0
local thread_id = 0
local threads = {}
statuses = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  thread_id = tid or 0
end

local function point()
  local b = boxes[math.random(#boxes)]
  local lat = b[2] + b[3] * (0.05 + 0.9 * math.random())
  local lon = b[1] + b[3] * (0.05 + 0.9 * math.random())
  return lat, lon
end

local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

request = function()
  if kind == "none" then
    return wrk.format(nil, nil)
  end
  counter = counter + 1
  local key = string.format("b%d-%d-%d-%d", thread_id, counter, os.time(), math.random(1e9))
  local lat, lon = point()
  local cat = cats[math.random(#cats)]
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Idempotency-Key"] = key
  local body
  if kind == "open311-post" then
    headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    body = "service_code=" .. urlencode(cat) .. string.format("&lat=%.6f&long=%.6f", lat, lon)
      .. "&description=" .. urlencode("路灯不亮 " .. key)
  else
    headers["Content-Type"] = "application/json; charset=utf-8"
    body = string.format('{"category_id":%s,"description":"路灯不亮 %s","latitude":%.6f,"longitude":%.6f}',
      cat, key, lat, lon)
  end
  return wrk.format("POST", nil, headers, body)
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  local codes = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then for k, v in pairs(s) do codes[tostring(k)] = (codes[tostring(k)] or 0) + v end end
  end
  local parts = {}
  for k, v in pairs(codes) do table.insert(parts, string.format('"%s":%d', k, v)) end
  io.write(string.format('WRK={"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,'
    .. '"errors":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout, table.concat(parts, ",")))
end
"""


def _lua(load: Load) -> str:
    boxes = (
        "{" + ",".join("{" + ",".join(repr(x) for x in b) + "}" for b in load.boxes) + "}"
        if load.boxes
        else "{{0,0,0}}"
    )
    cats = (
        "{" + ",".join(json.dumps(c) for c in load.categories) + "}" if load.categories else '{"x"}'
    )
    return (
        LUA_TEMPLATE.replace("__BOXES__", boxes)
        .replace("__CATS__", cats)
        .replace("__KIND__", load.body_kind or "none")
    )


def _run_wrk(base: str, load: Load, seconds: float, connections: int) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(_lua(load))
        script = handle.name
    try:
        threads = max(1, min(4, os.cpu_count() or 1))
        cmd = [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(max(connections, threads)),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            script,
        ]
        for name, value in load.headers.items():
            cmd += ["-H", f"{name}: {value}"]
        cmd.append(base + load.path)
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    finally:
        os.unlink(script)
    match = re.search(r"^WRK=(.*)$", done.stdout, re.M)
    if not match:
        raise RuntimeError(f"wrk failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")
    raw = json.loads(match.group(1))
    statuses = raw.get("statuses", {})
    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    return Result(
        requests=ok,
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=raw["requests"] - ok,
        statuses=statuses,
    )


def _python_body(load: Load, rng: random.Random) -> tuple[bytes | None, dict[str, str]]:
    if load.body_kind is None:
        return None, dict(load.headers)
    key = uuid.uuid4().hex
    lat, lon = random_point(load.boxes, rng)
    cat = rng.choice(load.categories)
    headers = {**load.headers, "Idempotency-Key": key}
    if load.body_kind == "open311-post":
        from urllib.parse import urlencode

        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        body = urlencode(
            {
                "service_code": cat,
                "lat": f"{lat:.6f}",
                "long": f"{lon:.6f}",
                "description": f"路灯不亮 {key}",
            }
        ).encode()
    else:
        headers["Content-Type"] = "application/json; charset=utf-8"
        body = json.dumps(
            {
                "category_id": int(cat),
                "description": f"路灯不亮 {key}",
                "latitude": round(lat, 6),
                "longitude": round(lon, 6),
            },
            ensure_ascii=False,
        ).encode()
    return body, headers


def _run_python(base: str, load: Load, seconds: float, connections: int) -> Result:
    host, port = base.removeprefix("http://").split(":")
    stop_at = time.perf_counter() + seconds
    latencies: list[list[float]] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[float] = []
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        while time.perf_counter() < stop_at:
            body, headers = _python_body(load, rng)
            started = time.perf_counter()
            try:
                conn.request(load.method, load.path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                code = str(resp.status)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                code = "error"
            if code.startswith("2"):
                mine.append((time.perf_counter() - started) * 1000)
            with lock:
                statuses[code] = statuses.get(code, 0) + 1
        conn.close()
        with lock:
            latencies.append(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(min(connections, 16))]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    flat = sorted(x for part in latencies for x in part)
    if not flat:
        return Result(0, elapsed, 0, 0, sum(statuses.values()), statuses)
    p99 = flat[min(len(flat) - 1, int(len(flat) * 0.99))]
    return Result(
        len(flat),
        elapsed,
        statistics.median(flat),
        p99,
        sum(v for k, v in statuses.items() if not k.startswith("2")),
        statuses,
    )


def measure(
    load: Load,
    *,
    seconds: float | None = None,
    warmup: float | None = None,
    connections: int | None = None,
) -> Result:
    """Warm up, then drive ``load`` for a bounded time; only 2xx answers count."""
    srv = server()
    seconds = SECONDS if seconds is None else seconds
    warmup = WARMUP if warmup is None else warmup
    connections = connections or CONNECTIONS or 4 * (os.cpu_count() or 1)
    runner = _run_wrk if _have_wrk() else _run_python
    if warmup > 0:
        runner(srv.base_url, load, warmup, connections)
    result = runner(srv.base_url, load, seconds, connections)
    bad = {k: v for k, v in result.statuses.items() if not k.startswith("2")}
    _log(
        f"{load.method} {load.path}: {result.rate:.0f}/s p50 {result.p50_ms:.1f} ms "
        f"p99 {result.p99_ms:.1f} ms ok {result.requests}" + (f" non-2xx {bad}" if bad else "")
    )
    return result


def interleaved(*loads: Load, rounds: int | None = None) -> list[Result]:
    """The loads measured in turn for ``rounds`` rounds (warmed up in the first), each for
    GRIDGOV_BENCH_SECONDS a round; per load, one result pooling its rounds: requests and
    time summed (the rate is over all rounds), p50 and p99 the median of the rounds'."""
    rounds = ROUNDS if rounds is None else rounds
    per_load: list[list[Result]] = [[] for _ in loads]
    for i in range(rounds):
        for load, results in zip(loads, per_load, strict=True):
            results.append(measure(load, warmup=None if i == 0 else 0))
    pooled = []
    for results in per_load:
        statuses: dict[str, int] = {}
        for r in results:
            for code, n in r.statuses.items():
                statuses[code] = statuses.get(code, 0) + n
        pooled.append(
            Result(
                requests=sum(r.requests for r in results),
                seconds=sum(r.seconds for r in results),
                p50_ms=statistics.median(r.p50_ms for r in results),
                p99_ms=statistics.median(r.p99_ms for r in results),
                errors=sum(r.errors for r in results),
                statuses=statuses,
            )
        )
    return pooled


def get_json(path: str, headers: dict[str, str] | None = None) -> Any:
    srv = server()
    req = urllib.request.Request(srv.base_url + path, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())
