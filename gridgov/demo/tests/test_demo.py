"""The demo district: shape, tiling, published counts, determinism, point → grid."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from shapely.geometry import shape
from shapely.ops import unary_union

from gridgov.accounts.models import Role, User
from gridgov.core.models import Holiday
from gridgov.demo.generator import BBOX, DEMO_PASSWORD, digest, generate
from gridgov.people.models import (
    House,
    MemberKind,
    PartnerUnit,
    PartyMember,
    PartyOrg,
    PartyOrgKind,
    RoleAssignment,
    RoleKind,
)
from gridgov.territory import geo
from gridgov.territory.models import Facility, FacilityKind, Grid, Region, RegionKind

pytestmark = pytest.mark.django_db

SCALE = 0.05  # one house per building: the shape and the fixed counts, quickly


@pytest.fixture
def demo():
    return generate(seed=1, scale=SCALE)


def test_district_shape_and_published_counts(demo):
    district = demo.district
    assert (district.code, district.name) == ("410205", "禹王台区")
    subs = Region.objects.filter(parent=district)
    assert sorted(subs.filter(kind=RegionKind.STREET).values_list("name", flat=True)) == sorted(
        ["菜市街道", "三里堡街道", "新门关街道", "繁塔街道", "官坊街道"]
    )
    assert sorted(subs.filter(kind=RegionKind.TOWNSHIP).values_list("name", flat=True)) == sorted(
        ["南郊乡", "汪屯乡"]
    )
    assert Region.objects.filter(kind=RegionKind.COMMUNITY).count() == 17
    assert Grid.objects.count() == 104
    assert set(Grid.objects.values_list("level", flat=True)) == {1, 2}
    assert RoleAssignment.objects.filter(kind=RoleKind.BUILDING_HEAD).count() == 229
    assert PartyOrg.objects.filter(kind=PartyOrgKind.HOUSEHOLD).count() == 170
    assert RoleAssignment.objects.filter(kind=RoleKind.PARTY_HOUSEHOLD).count() == 170
    assert PartnerUnit.objects.count() == 49
    assert PartyMember.objects.filter(kind=MemberKind.IN_SERVICE).count() == 1063
    for kind in FacilityKind:
        assert Facility.objects.filter(kind=kind).count() == 17
    # Party tree shadows the territory: every level present and attached to its node.
    branch = PartyOrg.objects.filter(kind=PartyOrgKind.BRANCH).select_related("parent").first()
    assert branch.parent.kind == PartyOrgKind.GRAND_COMMITTEE
    assert branch.parent.parent.kind == PartyOrgKind.WORKING_COMMITTEE
    assert branch.region.kind == RegionKind.COMPOUND
    compounds = list(Region.objects.filter(kind=RegionKind.COMPOUND))
    assert any(c.is_three_no for c in compounds) and not all(c.is_three_no for c in compounds)
    assert Holiday.objects.exists()
    # Every grid has its worker, as owner and as an open role.
    assert not Grid.objects.filter(owner=None).exists()
    assert RoleAssignment.objects.filter(kind=RoleKind.GRID_WORKER, ended_on=None).count() == 104
    # One login per role, with the documented password.
    for role in Role:
        user = User.objects.get(username=role.value)
        assert user.role == role and user.check_password(DEMO_PASSWORD)


def test_everything_sits_inside_the_published_box(demo):
    west, south, east, north = BBOX
    for g in Grid.objects.all():
        minx, miny, maxx, maxy = shape(g.polygon).bounds
        assert west <= minx and maxx <= east and south <= miny and maxy <= north


def test_grids_tile_each_community_without_gaps_or_overlaps(demo):
    communities = Region.objects.filter(kind=RegionKind.COMMUNITY)
    for comm in communities:
        area = shape(comm.boundary)
        grids = list(Grid.objects.filter(region=comm))
        for level in (1, 2):
            same = [shape(g.polygon) for g in grids if g.level == level]
            for a, b in itertools.combinations(same, 2):
                assert a.intersection(b).area == pytest.approx(0, abs=1e-14)
        top = unary_union([shape(g.polygon) for g in grids if g.level == 1])
        assert top.area == pytest.approx(area.area, rel=1e-9)
        assert top.symmetric_difference(area).area == pytest.approx(0, abs=1e-14)
        for parent in (g for g in grids if g.level == 1):
            children = [shape(c.polygon) for c in grids if c.parent_id == parent.pk]
            if children:
                assert unary_union(children).symmetric_difference(
                    shape(parent.polygon)
                ).area == pytest.approx(0, abs=1e-14)
    # Communities tile the district, and no two communities overlap.
    shapes = [shape(c.boundary) for c in communities]
    for a, b in itertools.combinations(shapes, 2):
        assert a.intersection(b).area == pytest.approx(0, abs=1e-14)
    assert unary_union(shapes).area == pytest.approx(shape(demo.district.boundary).area, rel=1e-9)


def test_point_to_grid_on_demo_polygons(demo):
    geo.invalidate()
    # Each building's location falls in the grid its houses are registered to.
    for house in House.objects.select_related("region__parent").order_by("pk")[:40]:
        building = house.region.parent
        assert (
            geo.grid_id_for_point(latitude=building.latitude, longitude=building.longitude)
            == house.grid_id
        )
    # A point on an edge shared by two leaf grids: the finer level wins, then the smaller code.
    leaves = {g.code: g for g in Grid.objects.filter(children__isnull=True)}
    done = 0
    for a, b in itertools.combinations(sorted(leaves.values(), key=lambda g: g.code), 2):
        edge = shape(a.polygon).intersection(shape(b.polygon))
        if edge.length == 0:
            continue
        mid = edge.interpolate(0.5, normalized=True)
        assert (
            geo.grid_id_for_point(latitude=mid.y, longitude=mid.x)
            == min(a, b, key=lambda g: (-g.level, g.code)).pk
        )
        done += 1
        if done >= 25:
            break
    assert done >= 25
    # A vertex where grids meet still gets one answer; outside the district, none.
    corner = Grid.objects.filter(level=2).first().polygon["coordinates"][0][2]
    assert geo.grid_id_for_point(latitude=corner[1], longitude=corner[0]) is not None
    assert geo.grid_id_for_point(latitude=34.80, longitude=114.30) is None
    assert geo.grid_id_for_point(latitude=34.7199, longitude=114.35) is None


def test_same_seed_gives_same_data_and_other_seed_does_not():
    digests = []
    for seed in (7, 7, 8):
        with pytest.raises(_Rollback), transaction.atomic():
            result = generate(seed=seed, scale=SCALE)
            digests.append(digest(result.district))
            raise _Rollback
        assert not Region.objects.exists()
    assert digests[0] == digests[1]
    assert digests[0] != digests[2]


class _Rollback(Exception):
    pass


def test_command_if_empty_does_nothing_when_a_district_exists(demo, capsys):
    before = Region.objects.count()
    call_command("demo", "--seed", "2", "--if-empty")
    assert Region.objects.count() == before
    with pytest.raises(CommandError):
        call_command("demo", "--seed", "2")


def test_command_rejects_bad_scale(db):
    with pytest.raises(CommandError):
        call_command("demo", "--scale", "0")
    assert not Region.objects.exists()
