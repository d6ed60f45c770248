"""Point → grid look-up with a shapely STRtree, cached per process.

The finest (highest-level) grid that covers the point wins; a point on an edge
shared by two grids of the same level goes to the one with the smaller code, so
the answer is always the same. A point outside every grid returns None.

The index also keeps each grid's own columns and its community's (``grid_for_point``),
so intake places an appeal without a query after the look-up. Every process's index is
marked stale when a grid or a region is saved or deleted (signals below and in
``territory.signals``); a queryset ``.update()`` on either table sends no signal, so code
that does one must call :func:`invalidate` (on commit).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.signals import post_delete, post_init, post_save, pre_init
from shapely.geometry import shape

from gridgov.core.versions import SharedVersion

VERSION = SharedVersion("gridgov:grid-index-version")


@dataclass(frozen=True)
class GridIndex:
    version: int
    ids: np.ndarray
    rank: np.ndarray  # lower is better: (-level, code order)
    tree: shapely.STRtree
    # grid id → (grid columns, region columns) as read by ``get_index`` (GRID_FIELDS,
    # REGION_FIELDS); empty for an index built from bare rows.
    info: dict[int, tuple[tuple[Any, ...], tuple[Any, ...]]] = field(default_factory=dict)
    # The last single point asked and its answer: Open311 intake checks the point's grid
    # against the key's scope, then the appeals intake places the appeal by the same point.
    last: list[Any] = field(default_factory=lambda: [None, None])

    def lookup_one(self, lon: float, lat: float) -> int | None:
        """The grid id for one point (as ``lookup_many`` chooses it), or None."""
        point, found = self.last
        if point == (lon, lat):
            return found
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        found = int(self.ids[min(hits, key=self.rank.__getitem__)]) if len(hits) else None
        self.last[:] = [(lon, lat), found]
        return found

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


def invalidate() -> None:
    """Mark every process's index stale (grids changed)."""
    VERSION.bump()
    _local.pop("index", None)


def _region_changed(**_: object) -> None:
    # A region's name or path is kept in the index (``info``): rebuild everywhere.
    invalidate()


post_save.connect(_region_changed, sender="territory.Region", dispatch_uid="geo-region-save")
post_delete.connect(_region_changed, sender="territory.Region", dispatch_uid="geo-region-del")

# Columns kept per grid: enough to place an appeal and answer with names, no query.
GRID_FIELDS = ("id", "code", "name", "level", "region_id", "district_id", "region_path")
REGION_FIELDS = ("id", "code", "name", "kind", "district_id", "path", "depth")


def build_index(
    rows: list[tuple[Any, ...]],
    version: int = 0,
    info: dict[int, tuple[tuple[Any, ...], tuple[Any, ...]]] | None = None,
) -> GridIndex:
    """Build an index from (id, level, code, geojson) rows (extra columns are ignored)."""
    rows = [r for r in rows if r[3]]
    rows.sort(key=lambda r: (-r[1], r[2]))
    geoms = [shape(r[3]) for r in rows]
    return GridIndex(
        version=version,
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        rank=np.arange(len(rows), dtype=np.int64),
        tree=shapely.STRtree(geoms),
        info=info or {},
    )


def get_index() -> GridIndex:
    from gridgov.territory.models import Grid

    version = VERSION.current()
    index = _local.get("index")
    if index is not None and index.version == version:
        return index
    with _lock:
        index = _local.get("index")
        if index is None or index.version != version:
            columns = [
                *GRID_FIELDS,
                *(f"region__{name}" for name in REGION_FIELDS),
                "polygon",
            ]
            rows = list(Grid.objects.exclude(polygon=None).values_list(*columns))
            n = len(GRID_FIELDS)
            info = {r[0]: (r[:n], r[n : n + len(REGION_FIELDS)]) for r in rows}
            shapes = [(r[0], r[3], r[1], r[-1]) for r in rows]  # id, level, code, polygon
            index = build_index(shapes, version, info)
            _local["index"] = index
    return index


def grid_id_for_point(*, latitude: float, longitude: float) -> int | None:
    return get_index().lookup_one(longitude, latitude)


def grid_for_point(*, latitude: float, longitude: float) -> Any | None:
    """The grid covering the point (as ``grid_id_for_point`` chooses it) with its community
    (``grid.region``) attached, built from the index without a query; None outside every
    grid. Only the columns in GRID_FIELDS / REGION_FIELDS are loaded; any other field is
    read from the database on first access (Django's deferred fields)."""
    from gridgov.territory.models import Grid, Region

    index = get_index()
    grid_id = index.lookup_one(longitude, latitude)
    if grid_id is None:
        return None
    entry = index.info.get(grid_id)
    if entry is None:  # an index built without ``info``
        return Grid.objects.select_related("region").get(pk=grid_id)
    grid_row, region_row = entry
    grid = _loaded(Grid, GRID_FIELDS, grid_row)
    grid.region = _loaded(Region, REGION_FIELDS, region_row)
    return grid


def _loaded(model: type[Model], attnames: tuple[str, ...], values: tuple[Any, ...]) -> Any:
    """An instance as the ORM loads one with only ``attnames`` (the rest deferred: read on
    first access), built without ``Model.__init__``: 2 µs instead of 14 per instance."""
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model.from_db("default", attnames, values)  # signals only __init__ sends
    obj = model.__new__(model)
    obj.__dict__.update(zip(attnames, values, strict=True))
    obj._state = ModelState()
    obj._state.adding, obj._state.db = False, "default"
    return obj
