"""Point → grid throughput with 100,000 grids (no database: territory.geo.build_index).

Compares the vectorised STRtree look-up with a plain loop testing every polygon with
shapely ``contains`` (timed on a small sample of points and extrapolated per point),
in the same run on the same machine.
"""

from __future__ import annotations

import time

import numpy as np
import shapely

from gridgov.bench import Figure

GRIDS = 100_000
POINTS = 200_000
LOOP_SAMPLE = 20
SINGLE_SAMPLE = 2_000
CELL = 0.001  # degrees: a ~100 m grid, 100k of them cover about 10 km × 10 km
WEST, SOUTH = 114.30, 34.70


def _rows(n: int) -> list[tuple[int, int, str, dict]]:
    side = int(np.ceil(np.sqrt(n)))
    rows = []
    for i in range(n):
        x0, y0 = WEST + (i % side) * CELL, SOUTH + (i // side) * CELL
        rows.append(
            (
                i + 1,
                1,
                f"G{i:06d}",
                {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [x0, y0],
                            [x0 + CELL, y0],
                            [x0 + CELL, y0 + CELL],
                            [x0, y0 + CELL],
                            [x0, y0],
                        ]
                    ],
                },
            )
        )
    return rows


def run(grids: int = GRIDS, points: int = POINTS) -> list[Figure]:
    from gridgov.territory.geo import build_index

    rows = _rows(grids)
    started = time.perf_counter()
    index = build_index(rows)
    build_s = time.perf_counter() - started
    side = int(np.ceil(np.sqrt(grids)))
    rng = np.random.default_rng(1)
    lon = rng.uniform(WEST - 0.005, WEST + side * CELL + 0.005, points)
    lat = rng.uniform(SOUTH - 0.005, SOUTH + side * CELL + 0.005, points)

    index.lookup_many(lon[:1000], lat[:1000])  # warm up
    started = time.perf_counter()
    found = index.lookup_many(lon, lat)
    vector_s = time.perf_counter() - started
    vector_rate = points / vector_s

    # The plain loop: every polygon for every point.
    polygons = list(index.tree.geometries)
    ids = index.ids
    started = time.perf_counter()
    loop_found = []
    for k in range(LOOP_SAMPLE):
        point = shapely.Point(lon[k], lat[k])
        hit = -1
        for j, poly in enumerate(polygons):
            if poly.intersects(point):
                hit = int(ids[j])
                break
        loop_found.append(hit)
    loop_rate = LOOP_SAMPLE / (time.perf_counter() - started)
    if loop_found != [int(v) for v in found[:LOOP_SAMPLE]]:
        raise AssertionError("vectorised and plain look-ups disagree")

    started = time.perf_counter()
    for k in range(SINGLE_SAMPLE):
        index.lookup_many(lon[k : k + 1], lat[k : k + 1])
    single_rate = SINGLE_SAMPLE / (time.perf_counter() - started)

    return [
        Figure("grid_lookup", vector_rate, "points/s", ">=", 100_000),
        Figure("grid_lookup_ratio", vector_rate / loop_rate, "x", ">=", 1),
        Figure("grid_lookup_single", single_rate, "points/s"),
        Figure("grid_lookup_loop", loop_rate, "points/s"),
        Figure("grid_index_build", build_s, "s"),
    ]
