from __future__ import annotations

import pytest

from gridgov.accounts.models import Role
from gridgov.conftest import make_user, square
from gridgov.core.errors import NotFound, PermissionDenied, ValidationFailed
from gridgov.core.models import AuditLog
from gridgov.people.models import RoleAssignment, RoleKind
from gridgov.territory import geo, services
from gridgov.territory.models import Facility, FacilityKind, Grid, RegionKind

pytestmark = pytest.mark.django_db

BOWTIE = {
    "type": "Polygon",
    "coordinates": [
        [[114.35, 34.75], [114.36, 34.76], [114.36, 34.75], [114.35, 34.76], [114.35, 34.75]]
    ],
}


def inner(lon: float, lat: float, size: float = 0.004) -> dict:
    return square(lon, lat, size)


# --- regions ---


def test_region_create_builds_path_and_writes_audit(personas, territory):
    compound = services.region_create(
        actor=personas.worker_a,
        kind=RegionKind.COMPOUND,
        code="410205001001002",
        name="新建小区",
        parent=territory.comm_a,
    )
    assert compound.path == territory.comm_a.path + "410205001001002/"
    assert compound.depth == territory.comm_a.depth + 1
    assert compound.district_id == territory.district.pk
    assert compound.is_three_no
    assert AuditLog.objects.filter(action="region.create", target_id=str(compound.pk)).exists()


def test_region_create_enforces_allowed_children(personas, territory):
    with pytest.raises(ValidationFailed) as err:
        services.region_create(
            actor=personas.admin,
            kind=RegionKind.COMMUNITY,
            code="4102059",
            name="直属社区",
            parent=territory.district,
        )
    assert err.value.field == "kind"
    with pytest.raises(ValidationFailed) as err:
        services.region_create(
            actor=personas.admin,
            kind=RegionKind.UNIT,
            code="4102058",
            name="单元",
            parent=territory.comm_a,
        )
    assert err.value.field == "kind"


def test_region_create_rejects_duplicate_and_bad_codes(personas, territory):
    with pytest.raises(ValidationFailed) as err:
        services.region_create(
            actor=personas.admin,
            kind=RegionKind.COMMUNITY,
            code=territory.comm_b.code,
            name="重复",
            parent=territory.street,
        )
    assert err.value.field == "code"
    with pytest.raises(ValidationFailed) as err:
        services.region_create(
            actor=personas.admin,
            kind=RegionKind.COMMUNITY,
            code="41 02/05",
            name="坏编码",
            parent=territory.street,
        )
    assert err.value.field == "code"


def test_region_create_outside_jurisdiction_is_not_found(personas, territory):
    with pytest.raises(NotFound):
        services.region_create(
            actor=personas.worker_b,
            kind=RegionKind.COMPOUND,
            code="410205001001009",
            name="越权",
            parent=territory.comm_a,
        )
    with pytest.raises(PermissionDenied):
        services.region_create(
            actor=personas.resident,
            kind=RegionKind.COMPOUND,
            code="410205001001009",
            name="居民",
            parent=territory.comm_a,
        )


# --- grids ---


def test_grid_never_hangs_directly_under_a_street(personas, territory):
    with pytest.raises(ValidationFailed) as err:
        services.grid_create(
            actor=personas.street_official,
            community=territory.street,
            name="街道网格",
            polygon=square(114.30, 34.70),
        )
    assert err.value.field == "community"
    assert not Grid.objects.filter(name="街道网格").exists()


def test_child_grid_gets_next_level_and_extends_parent_code(personas, territory):
    child = services.grid_create(
        actor=personas.worker_a,
        community=territory.comm_a,
        name="A1-1",
        parent=territory.grid_a,
        polygon=inner(114.351, 34.751),
    )
    assert child.level == 2
    assert child.code == "410205001001-01-01"
    assert child.district_id == territory.district.pk
    grandchild = services.grid_create(
        actor=personas.worker_a,
        community=territory.comm_a,
        name="A1-1-1",
        parent=child,
        polygon=inner(114.352, 34.752, 0.002),
    )
    assert grandchild.level == 3 and grandchild.code == "410205001001-01-01-01"
    assert AuditLog.objects.filter(action="grid.create", target_id=str(child.pk)).exists()


def test_level_one_grid_codes_are_district_street_community_and_number(personas, territory):
    grid = services.grid_create(
        actor=personas.worker_a,
        community=territory.comm_a,
        name="A第二网格",
        polygon=square(114.35, 34.76),
    )
    assert grid.code == "410205001001-02" and grid.level == 1 and grid.parent is None


def test_child_grid_parent_must_be_in_same_community(personas, territory):
    with pytest.raises(ValidationFailed) as err:
        services.grid_create(
            actor=personas.street_official,
            community=territory.comm_a,
            name="跨社区",
            parent=territory.grid_b,
            polygon=None,
        )
    assert err.value.field == "parent"


def test_grid_levels_stop_at_five(personas, territory):
    parent = territory.grid_a
    for _ in range(4):
        parent = services.grid_create(
            actor=personas.worker_a,
            community=territory.comm_a,
            name="子网格",
            parent=parent,
            polygon=None,
        )
    assert parent.level == 5
    with pytest.raises(ValidationFailed) as err:
        services.grid_create(
            actor=personas.worker_a,
            community=territory.comm_a,
            name="六级",
            parent=parent,
            polygon=None,
        )
    assert err.value.field == "parent"


@pytest.mark.parametrize(
    "polygon",
    [
        BOWTIE,
        {"type": "Point", "coordinates": [114.35, 34.75]},
        {"type": "Polygon", "coordinates": "nonsense"},
        "not a dict",
        square(300, 34.75),
    ],
)
def test_invalid_polygon_is_a_field_error_and_changes_nothing(personas, territory, polygon):
    before = Grid.objects.count()
    with pytest.raises(ValidationFailed) as err:
        services.grid_create(
            actor=personas.worker_a, community=territory.comm_a, name="坏网格", polygon=polygon
        )
    assert err.value.field == "polygon"
    assert Grid.objects.count() == before


def test_child_polygon_must_lie_within_parent(personas, territory):
    with pytest.raises(ValidationFailed) as err:
        services.grid_create(
            actor=personas.worker_a,
            community=territory.comm_a,
            name="越界",
            parent=territory.grid_a,
            polygon=square(114.355, 34.755),
        )
    assert err.value.field == "polygon"


def test_grid_create_outside_jurisdiction_is_not_found(personas, territory):
    with pytest.raises(NotFound):
        services.grid_create(
            actor=personas.worker_b,
            community=territory.comm_a,
            name="越权",
            polygon=square(114.35, 34.77),
        )


def test_grid_update_changes_polygon_and_rebuilds_lookup(personas, territory):
    assert geo.grid_id_for_point(latitude=34.705, longitude=114.305) is None
    services.grid_update(
        actor=personas.worker_a,
        grid=territory.grid_a,
        name="A社区改名网格",
        polygon=square(114.30, 34.70),
    )
    territory.grid_a.refresh_from_db()
    assert territory.grid_a.name == "A社区改名网格"
    assert geo.grid_id_for_point(latitude=34.705, longitude=114.305) == territory.grid_a.pk
    assert geo.grid_id_for_point(latitude=34.755, longitude=114.355) is None
    log = AuditLog.objects.get(action="grid.update", target_id=str(territory.grid_a.pk))
    assert sorted(log.data["fields"]) == ["name", "polygon"]


def test_grid_update_rejects_bad_polygon(personas, territory):
    with pytest.raises(ValidationFailed) as err:
        services.grid_update(actor=personas.worker_a, grid=territory.grid_a, polygon=BOWTIE)
    assert err.value.field == "polygon"
    territory.grid_a.refresh_from_db()
    assert territory.grid_a.polygon == square(114.35, 34.75)


def test_assign_owner_records_grid_worker_role_and_ends_previous(personas, territory):
    first = make_user("gw_a1", Role.GRID_WORKER, territory.comm_a)
    second = make_user("gw_a2", Role.GRID_WORKER, territory.comm_a)
    services.grid_assign_owner(actor=personas.worker_a, grid=territory.grid_a, owner=first)
    services.grid_assign_owner(actor=personas.worker_a, grid=territory.grid_a, owner=second)
    territory.grid_a.refresh_from_db()
    assert territory.grid_a.owner == second
    roles = RoleAssignment.objects.filter(grid=territory.grid_a, kind=RoleKind.GRID_WORKER)
    assert roles.get(user=first).ended_on is not None
    current = roles.get(user=second)
    assert current.ended_on is None and current.region_path == territory.comm_a.path
    assert AuditLog.objects.filter(action="grid.assign_owner").count() == 2


def test_assign_owner_must_cover_the_grid(personas, territory):
    other = make_user("gw_b", Role.GRID_WORKER, territory.comm_b)
    with pytest.raises(ValidationFailed) as err:
        services.grid_assign_owner(
            actor=personas.street_official, grid=territory.grid_a, owner=other
        )
    assert err.value.field == "owner"
    with pytest.raises(ValidationFailed):
        services.grid_assign_owner(
            actor=personas.street_official, grid=territory.grid_a, owner=personas.resident
        )


def test_assign_head_replaces_holder_of_same_head_role(personas, territory):
    first = services.grid_assign_head(
        actor=personas.worker_a,
        grid=territory.grid_a,
        kind=RoleKind.GRID_HEAD,
        person_name="张网格长",
    )
    second = services.grid_assign_head(
        actor=personas.worker_a,
        grid=territory.grid_a,
        kind=RoleKind.GRID_HEAD,
        person_name="李网格长",
    )
    services.grid_assign_head(
        actor=personas.worker_a,
        grid=territory.grid_a,
        kind=RoleKind.BUILDING_HEAD,
        person_name="王楼长",
        replace=False,
    )
    first.refresh_from_db()
    assert first.ended_on is not None and second.ended_on is None
    active = RoleAssignment.objects.filter(grid=territory.grid_a, ended_on__isnull=True)
    assert sorted(active.values_list("person_name", flat=True)) == ["李网格长", "王楼长"]


def test_assign_head_only_five_heads(personas, territory):
    with pytest.raises(ValidationFailed) as err:
        services.grid_assign_head(
            actor=personas.worker_a,
            grid=territory.grid_a,
            kind=RoleKind.FIVE_ELDERS,
            person_name="老党员",
        )
    assert err.value.field == "kind"
    with pytest.raises(NotFound):
        services.grid_assign_head(
            actor=personas.worker_b,
            grid=territory.grid_a,
            kind=RoleKind.GRID_HEAD,
            person_name="越权",
        )


def test_facility_create_and_validation(personas, territory):
    station = services.facility_create(
        actor=personas.worker_a,
        kind=FacilityKind.REST_STOP,
        name="A社区暖心驿站",
        region=territory.comm_a,
        latitude=34.755,
        longitude=114.355,
        opening_hours="全天开放",
    )
    assert station.district_id == territory.district.pk
    assert AuditLog.objects.filter(action="facility.create", target_id=str(station.pk)).exists()
    with pytest.raises(ValidationFailed) as err:
        services.facility_create(
            actor=personas.worker_a, kind="casino", name="x", region=territory.comm_a
        )
    assert err.value.field == "kind"
    with pytest.raises(ValidationFailed) as err:
        services.facility_create(
            actor=personas.worker_a,
            kind=FacilityKind.MUSEUM,
            name="x",
            region=territory.comm_a,
            latitude=95,
        )
    assert err.value.field == "latitude"
    assert Facility.objects.count() == 1
