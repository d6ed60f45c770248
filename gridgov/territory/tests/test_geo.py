"""Point → grid: edges, vertices, outside, nesting, and the cache after a change."""

from __future__ import annotations

import numpy as np
import pytest

from gridgov.conftest import square
from gridgov.territory import geo, services
from gridgov.territory.geo import build_index

pytestmark = pytest.mark.django_db


def lookup(lat: float, lng: float) -> int | None:
    return geo.grid_id_for_point(latitude=lat, longitude=lng)


def test_point_inside_a_grid(territory):
    assert lookup(34.755, 114.355) == territory.grid_a.pk
    assert lookup(34.755, 114.365) == territory.grid_b.pk
    assert lookup(34.755, 114.375) == territory.grid_c.pk


def test_point_on_shared_edge_goes_to_smaller_code(territory):
    # grid_a (…001-01) and grid_b (…002-01) share the edge at longitude 114.36.
    assert territory.grid_a.code < territory.grid_b.code
    for lat in (34.75, 34.7525, 34.755, 34.76):
        assert lookup(lat, 114.36) == territory.grid_a.pk
    # grid_b and grid_c share longitude 114.37: grid_b's code is smaller.
    assert lookup(34.755, 114.37) == territory.grid_b.pk


def test_vertices_belong_to_a_grid(territory):
    assert lookup(34.75, 114.35) == territory.grid_a.pk  # outer corner of A only
    assert lookup(34.76, 114.38) == territory.grid_c.pk  # outer corner of C only


def test_point_outside_every_grid_is_none_not_a_guess(territory):
    assert lookup(34.70, 114.30) is None
    assert lookup(34.7499999, 114.355) is None  # just south of A
    assert lookup(0.0, 0.0) is None


def test_finer_level_wins_over_parent(personas, territory):
    child = services.grid_create(
        actor=personas.worker_a,
        community=territory.comm_a,
        name="A1-1",
        parent=territory.grid_a,
        polygon=square(114.35, 34.75, 0.005),
    )
    assert lookup(34.752, 114.352) == child.pk
    assert lookup(34.758, 114.358) == territory.grid_a.pk
    # On the child's edge inside the parent, the finer grid still wins.
    assert lookup(34.755, 114.352) == child.pk


def test_cache_is_rebuilt_after_grid_changes(personas, territory):
    index = geo.get_index()
    assert geo.get_index() is index  # cached while nothing changes
    services.grid_create(
        actor=personas.worker_a,
        community=territory.comm_a,
        name="新网格",
        polygon=square(114.35, 34.76),
    )
    assert geo.get_index() is not index
    assert lookup(34.765, 114.355) is not None
    territory.grid_c.delete()
    assert lookup(34.755, 114.375) is None


def test_vectorised_lookup_matches_single_lookups():
    rows = [
        (i + 1, 1, f"G{i:03d}", square(114.0 + 0.01 * (i % 10), 34.0 + 0.01 * (i // 10)))
        for i in range(100)
    ]
    index = build_index(rows)
    rng = np.random.default_rng(7)
    lon = rng.uniform(113.99, 114.11, 500)
    lat = rng.uniform(33.99, 34.11, 500)
    many = index.lookup_many(lon, lat)
    for x, y, got in zip(lon, lat, many, strict=True):
        inside_col, inside_row = int((x - 114.0) // 0.01), int((y - 34.0) // 0.01)
        if 0 <= inside_col < 10 and 0 <= inside_row < 10:
            assert got == inside_row * 10 + inside_col + 1
        else:
            assert got == -1
        assert index.lookup_one(x, y) == (None if got == -1 else got)
    # On the edge two grids share, both paths give the smaller code; asked twice, the same.
    edge = (114.01, 34.005)
    assert index.lookup_many(np.array([edge[0]]), np.array([edge[1]]))[0] == 1
    assert index.lookup_one(*edge) == index.lookup_one(*edge) == 1


def test_grid_for_point_is_the_stored_grid_loaded_as_the_orm_loads_it(territory):
    from gridgov.territory.models import Grid

    grid = geo.grid_for_point(latitude=34.755, longitude=114.355)
    stored = Grid.objects.select_related("region").get(pk=territory.grid_a.pk)
    assert grid == stored and not grid._state.adding and grid._state.db == "default"
    assert (grid.code, grid.name, grid.region_path) == (
        stored.code,
        stored.name,
        stored.region_path,
    )
    assert grid.region == stored.region and grid.region.path == stored.region.path
    # Columns the index does not keep are read on first access, as deferred fields are.
    assert "polygon" in grid.get_deferred_fields()
    assert grid.polygon == stored.polygon
    grid.name = "新名"
    grid.save(update_fields=["name"])
    assert Grid.objects.get(pk=grid.pk).name == "新名"
