"""Ledger imports at scale: 1,240 grids with polygons (scenario R1) and 20,000 residents.

Runs `manage.py ledger import` in subprocesses against a throw-away SQLite database (or
the PostgreSQL server named by GRIDGOV_BENCH_DATABASE_URL), so the project's own database
is never touched. The figures are the import times the command itself reports.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from openpyxl import Workbook

from gridgov.bench import Figure

RESIDENTS = 20_000
COMMUNITIES = 9
ROOT = Path(__file__).resolve().parent.parent.parent
SETUP = """
from gridgov.accounts.models import User
from gridgov.territory.models import Region, RegionKind
User.objects.create_superuser("bench", password="bench-pass-1234")
d = Region.objects.create(code="410205", name="禹王台区", kind=RegionKind.DISTRICT)
s = Region.objects.create(code="410205001", name="城东街道", kind=RegionKind.STREET, parent=d)
for ci in range(%(communities)d):
    c = Region.objects.create(code=f"4102050019{ci:02d}", name=f"社区{ci}",
                              kind=RegionKind.COMMUNITY, parent=s)
    for b in range(10):
        Region.objects.create(code=f"{c.code}{b:03d}", name=f"{b}号楼",
                              kind=RegionKind.BUILDING, parent=c)
"""


def _square(x: float, y: float, w: float) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + w, y], [x + w, y + w], [x, y + w], [x, y]]],
    }


def _grids(folder: Path) -> None:
    """9 communities × (1 + 14 + 60 + 63) = 1,242 grids in four nested levels."""
    rows: list[list[object]] = [
        ["网格编码", "网格名称", "网格层级", "所属社区编码", "上级网格编码"]
    ]
    features = []
    plan = {2: 14, 3: 60, 4: 63}
    for ci in range(COMMUNITIES):
        code = f"4102050019{ci:02d}"
        x0, y0, w0 = 114.0 + ci * 0.1, 34.7, 0.1
        top = f"{code}-01"
        rows.append([top, f"社区{ci}网格", 1, code, None])
        features.append((top, _square(x0, y0, w0)))
        parents = [(top, x0, y0, w0)]
        for level in (2, 3, 4):
            n = plan[level]
            per = -(-n // len(parents))
            side = 1
            while side * side < per:
                side += 1
            made = []
            for k in range(n):
                pcode, px, py, pw = parents[k % len(parents)]
                slot = k // len(parents)
                cw = pw / side
                cx, cy = px + (slot % side) * cw, py + (slot // side) * cw
                child = f"{pcode}-{slot + 1:02d}"
                rows.append([child, f"网格{child}", level, code, pcode])
                features.append((child, _square(cx, cy, cw)))
                made.append((child, cx, cy, cw))
            parents = made
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(folder / "grids.xlsx")
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"网格编码": c}, "geometry": g} for c, g in features
        ],
    }
    (folder / "grids.geojson").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _residents(folder: Path) -> None:
    from gridgov.people.validators import id_check_digit

    with (folder / "residents.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "姓名",
                "性别",
                "身份证号",
                "联系电话",
                "所属社区",
                "网格编码",
                "楼栋",
                "房号",
                "居住关系",
                "党员",
                "标签",
            ]
        )
        for i in range(RESIDENTS):
            first17 = f"410205{1940 + i % 80}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
            community = f"4102050019{i % COMMUNITIES:02d}"
            building = f"{community}{(i // COMMUNITIES) % 10:03d}"
            room = f"{1 + (i // 90) % 6}-{101 + (i // 540) % 20}"
            out.writerow(
                [
                    f"居民{i}",
                    "",
                    first17 + id_check_digit(first17),
                    f"13{i % 10}{i:08d}",
                    community,
                    "",
                    building,
                    room,
                    "租户" if i % 5 == 0 else "产权人",
                    "是" if i % 10 == 0 else "否",
                    "",
                ]
            )


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def _seconds(output: str) -> float:
    match = re.search(r"用时 ([\d.]+) 秒", output)
    return float(match.group(1)) if match else float("nan")


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="gg-ledger-bench-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ)
        env["GRIDGOV_DATABASE_URL"] = os.environ.get(
            "GRIDGOV_BENCH_DATABASE_URL", f"sqlite:///{folder / 'bench.sqlite3'}"
        )
        _manage(env, "migrate", "--noinput", "-v0")
        _manage(env, "shell", "-c", SETUP % {"communities": COMMUNITIES})
        _grids(folder)
        _residents(folder)
        grids = _seconds(
            _manage(
                env,
                "ledger",
                "import",
                "grids",
                str(folder / "grids.xlsx"),
                "--geojson",
                str(folder / "grids.geojson"),
                "--as",
                "bench",
                "--no-progress",
            )
        )
        residents = _seconds(
            _manage(
                env,
                "ledger",
                "import",
                "residents",
                str(folder / "residents.csv"),
                "--as",
                "bench",
                "--no-progress",
            )
        )
    return [
        Figure("ledger_import_1242_grids", grids, "s", "<=", 10),
        Figure("ledger_import_residents_rate", RESIDENTS / residents, "rows/s", ">=", 1000),
    ]
