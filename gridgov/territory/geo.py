"""Point → grid look-up with a shapely STRtree, cached per process.

The finest (highest-level) grid that covers the point wins; a point on an edge
shared by two grids of the same level goes to the one with the smaller code, so
the answer is always the same. A point outside every grid returns None.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import shapely
from django.core.cache import cache
from shapely.geometry import shape

VERSION_KEY = "gridgov:grid-index-version"


@dataclass(frozen=True)
class GridIndex:
    version: int
    ids: np.ndarray
    rank: np.ndarray  # lower is better: (-level, code order)
    tree: shapely.STRtree

    def lookup_many(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Grid ids for arrays of points; -1 where no grid covers the point."""
        points = shapely.points(lon, lat)
        result = np.full(len(points), -1, dtype=np.int64)
        if len(self.ids) == 0 or len(points) == 0:
            return result
        point_idx, grid_idx = self.tree.query(points, predicate="intersects")
        if len(point_idx) == 0:
            return result
        order = np.lexsort((self.rank[grid_idx], point_idx))
        point_idx, grid_idx = point_idx[order], grid_idx[order]
        first = np.ones(len(point_idx), dtype=bool)
        first[1:] = point_idx[1:] != point_idx[:-1]
        result[point_idx[first]] = self.ids[grid_idx[first]]
        return result


_lock = threading.Lock()
_local: dict[str, GridIndex] = {}


def _current_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = 1
        cache.add(VERSION_KEY, version, timeout=None)
    return int(version)


def invalidate() -> None:
    """Mark every process's index stale (grids changed)."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, timeout=None)
    _local.pop("index", None)


def build_index(rows: list[tuple[int, int, str, dict]], version: int = 0) -> GridIndex:
    """Build an index from (id, level, code, geojson) rows."""
    rows = [r for r in rows if r[3]]
    rows.sort(key=lambda r: (-r[1], r[2]))
    geoms = [shape(r[3]) for r in rows]
    return GridIndex(
        version=version,
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        rank=np.arange(len(rows), dtype=np.int64),
        tree=shapely.STRtree(geoms),
    )


def get_index() -> GridIndex:
    from gridgov.territory.models import Grid

    version = _current_version()
    index = _local.get("index")
    if index is not None and index.version == version:
        return index
    with _lock:
        index = _local.get("index")
        if index is None or index.version != version:
            rows = list(
                Grid.objects.exclude(polygon=None).values_list("id", "level", "code", "polygon")
            )
            index = build_index(rows, version)
            _local["index"] = index
    return index


def grid_id_for_point(*, latitude: float, longitude: float) -> int | None:
    ids = get_index().lookup_many(np.array([longitude]), np.array([latitude]))
    return None if ids[0] < 0 else int(ids[0])
