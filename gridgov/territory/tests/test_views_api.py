"""Jurisdiction matrix for territory pages and API, and their behaviour."""

from __future__ import annotations

import pytest
from django.test import Client

from gridgov.conftest import square
from gridgov.people.models import Business, BusinessKind, BusinessStatus, House, Resident
from gridgov.territory import services

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def page_urls(t) -> dict[str, str]:
    return {
        "grid_detail": f"/territory/grids/{t.grid_a.code}/",
        "region_detail": f"/territory/regions/{t.comm_a.code}/",
    }


def api_urls(t) -> dict[str, str]:
    return {
        "region": f"/api/v1/territory/regions/{t.comm_a.code}",
        "grid": f"/api/v1/territory/grids/{t.grid_a.code}",
        "lookup": "/api/v1/territory/grids/lookup?lat=34.755&lng=114.355",
    }


@pytest.mark.parametrize(
    "persona, expected",
    [
        ("worker_a", 200),
        ("street_official", 200),
        ("admin", 200),
        ("grid_worker", 200),
        ("worker_b", 404),
        ("resident", 403),
        ("handler", 403),
    ],
)
def test_detail_pages_and_api_of_community_a(personas, territory, persona, expected):
    c = client_for(getattr(personas, persona))
    for name, url in {**page_urls(territory), **api_urls(territory)}.items():
        response = c.get(url)
        assert response.status_code == expected, (persona, name, response.status_code)


def test_worker_b_gets_404_on_grid_a_everywhere(personas, territory):
    c = client_for(personas.worker_b)
    assert c.get(f"/territory/grids/{territory.grid_a.code}/").status_code == 404
    body = c.get(f"/api/v1/territory/grids/{territory.grid_a.code}").json()
    assert body["error"]["code"] == "not_found"
    assert c.get(f"/territory/grids/{territory.grid_b.code}/").status_code == 200


def list_codes(c: Client, url: str) -> set[str]:
    return {g["code"] for g in c.get(url).json()["items"]}


@pytest.mark.parametrize(
    "persona, grids",
    [
        ("worker_a", {"a"}),
        ("worker_b", {"b"}),
        ("street_official", {"a", "b"}),
        ("admin", {"a", "b", "c"}),
    ],
)
def test_lists_are_scoped(personas, territory, persona, grids):
    c = client_for(getattr(personas, persona))
    expected = {getattr(territory, f"grid_{g}").code for g in grids}
    assert list_codes(c, "/api/v1/territory/grids") == expected
    page = c.get("/territory/grids/").content.decode()
    for g in ("a", "b", "c"):
        assert (getattr(territory, f"grid_{g}").code in page) == (g in grids)
    features = c.get("/territory/grids/geojson/").json()["features"]
    assert {f["properties"]["code"] for f in features} == expected
    regions = {r["code"] for r in c.get("/api/v1/territory/regions?page_size=500").json()["items"]}
    assert (territory.comm_a.code in regions) == ("a" in grids)
    assert (territory.comm_c.code in regions) == ("c" in grids)
    tree = c.get("/territory/").content.decode()
    assert (territory.comm_a.name in tree) == ("a" in grids)


def test_resident_and_anonymous_see_nothing(personas, territory):
    c = client_for(personas.resident)
    for url in (
        "/territory/",
        "/territory/map/",
        "/territory/grids/",
        "/territory/grids/geojson/",
        "/api/v1/territory/grids",
        "/api/v1/territory/regions",
    ):
        assert c.get(url).status_code == 403, url
    anon = Client()
    assert anon.get("/territory/").status_code == 302
    assert anon.get("/api/v1/territory/grids").status_code == 401


def test_lookup_answers_grid_or_clear_no_grid(personas, territory):
    c = client_for(personas.street_official)
    assert (
        c.get("/api/v1/territory/grids/lookup?lat=34.755&lng=114.36").json()["code"]
        == territory.grid_a.code
    )
    response = c.get("/api/v1/territory/grids/lookup?lat=34.70&lng=114.30")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "no_grid" and "no grid covers this point" in error["message"]
    response = c.get("/api/v1/territory/grids/lookup?lat=95&lng=114.30")
    assert response.status_code == 400 and response.json()["error"]["field"] == "lat"
    # A grid in community C is outside the street official's jurisdiction.
    assert c.get("/api/v1/territory/grids/lookup?lat=34.755&lng=114.375").status_code == 404


def test_grid_api_cursor_pagination_walks_every_grid_once(personas, territory):
    for i in range(5):
        services.grid_create(
            actor=personas.admin,
            community=territory.comm_c,
            name=f"C{i}",
            polygon=square(114.37 + 0.01 * (i + 1), 34.75),
        )
    c = client_for(personas.admin)
    seen, cursor = [], ""
    while True:
        body = c.get(f"/api/v1/territory/grids?page_size=3&cursor={cursor}").json()
        seen += [g["code"] for g in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 8
    bad = c.get("/api/v1/territory/grids?cursor=%%%")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "cursor"


def test_grid_list_filters(personas, territory):
    services.grid_create(
        actor=personas.admin,
        community=territory.comm_a,
        name="A子网格",
        parent=territory.grid_a,
        polygon=square(114.35, 34.75, 0.005),
    )
    c = client_for(personas.admin)
    assert list_codes(c, f"/api/v1/territory/grids?community={territory.comm_a.code}") == {
        territory.grid_a.code,
        territory.grid_a.code + "-01",
    }
    assert list_codes(c, "/api/v1/territory/grids?level=2") == {territory.grid_a.code + "-01"}
    assert list_codes(c, "/api/v1/territory/grids?search=C社区") == {territory.grid_c.code}
    page = c.get("/territory/grids/?level=2").content.decode()
    assert "A子网格" in page and "B社区第一网格" not in page
    assert c.get("/territory/grids/?level=7").status_code == 400
    # The map draws leaves only, so nested grids do not overlap.
    feats = c.get("/territory/map/").context["geojson"]["features"]
    assert territory.grid_a.code not in {f["properties"]["code"] for f in feats}


def test_grid_page_shows_worker_heads_and_counts(personas, territory):
    from gridgov.people.models import RoleKind

    services.grid_assign_head(
        actor=personas.worker_a,
        grid=territory.grid_a,
        kind=RoleKind.BUILDING_HEAD,
        person_name="王楼长",
    )
    house = House(grid=territory.grid_a, room="101", address="1号楼101")
    house.region = territory.building_a
    house.save()
    for name in ("甲", "乙"):
        Resident(grid=territory.grid_a, name=name, region=territory.building_a).save()
    Business(
        grid=territory.grid_a, name="小卖部", kind=BusinessKind.SHOP, region=territory.comm_a
    ).save()
    Business(
        grid=territory.grid_a,
        name="关了的店",
        kind=BusinessKind.SHOP,
        status=BusinessStatus.CLOSED,
        region=territory.comm_a,
    ).save()
    response = client_for(personas.worker_a).get(f"/territory/grids/{territory.grid_a.code}/")
    assert response.context["stats"] == {"residents": 2, "houses": 1, "shops": 1}
    html = response.content.decode()
    assert "王楼长" in html and str(personas.grid_worker) in html
    api = client_for(personas.worker_a).get(f"/api/v1/territory/grids/{territory.grid_a.code}")
    assert api.json()["residents"] == 2 and api.json()["polygon"]["type"] == "Polygon"
    # Names of residents never leak into the grid page.
    assert "甲" not in html


def test_grid_list_page_and_api_use_a_fixed_number_of_queries(
    personas, territory, django_assert_max_num_queries
):
    for i in range(6):
        services.grid_create(
            actor=personas.admin,
            community=territory.comm_c,
            name=f"C{i}",
            polygon=square(114.37 + 0.01 * (i + 1), 34.75),
        )
    c = client_for(personas.admin)
    # session + user + scope region + page + communities (+ nav); never one per row
    with django_assert_max_num_queries(8):
        assert c.get("/territory/grids/").status_code == 200
    with django_assert_max_num_queries(6):
        assert c.get("/api/v1/territory/grids").status_code == 200


def test_grid_stats_include_nested_grids(personas, territory):
    from gridgov.territory.selectors import grid_stats

    child = services.grid_create(
        actor=personas.admin,
        community=territory.comm_a,
        name="子",
        parent=territory.grid_a,
        polygon=square(114.35, 34.75, 0.005),
    )
    house = House(grid=child, room="201", address="1号楼201")
    house.region = territory.building_a
    house.save()
    Resident(grid=child, name="丙", region=territory.building_a).save()
    assert grid_stats(grid=territory.grid_a) == {"residents": 1, "houses": 1, "shops": 0}
    assert grid_stats(grid=child) == {"residents": 1, "houses": 1, "shops": 0}
    assert grid_stats(grid=territory.grid_b) == {"residents": 0, "houses": 0, "shops": 0}


@pytest.mark.parametrize("model", ["region", "grid", "facility", "department", "propertymanager"])
def test_admin_lists_load(personas, territory, model):
    personas.admin.is_staff = personas.admin.is_superuser = True
    personas.admin.save()
    response = client_for(personas.admin).get(f"/admin/territory/{model}/")
    assert response.status_code == 200


def test_openapi_lists_territory_endpoints(personas):
    paths = client_for(personas.admin).get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/v1/territory/regions",
        "/api/v1/territory/grids",
        "/api/v1/territory/grids/lookup",
        "/api/v1/territory/grids/{code}",
    ):
        assert path in paths


def test_admin_querysets_are_scoped_to_jurisdiction(personas, territory, rf):
    from django.contrib import admin as django_admin

    from gridgov.territory.models import Grid, Region

    request = rf.get("/admin/")
    request.user = personas.worker_b
    grids = django_admin.site._registry[Grid].get_queryset(request)
    assert set(grids.values_list("code", flat=True)) == {territory.grid_b.code}
    regions = django_admin.site._registry[Region].get_queryset(request)
    assert territory.comm_a not in regions and territory.comm_b in regions


def test_admin_add_grid_goes_through_the_service_rules(personas, territory):
    import json

    from gridgov.territory.models import Grid

    personas.admin.is_staff = personas.admin.is_superuser = True
    personas.admin.save()
    c = client_for(personas.admin)
    data = {
        "name": "后台网格",
        "region": territory.comm_a.pk,
        "parent": "",
        "polygon": json.dumps(square(114.35, 34.76)),
        "owner": "",
    }
    response = c.post("/admin/territory/grid/add/", data)
    assert response.status_code == 302
    grid = Grid.objects.get(name="后台网格")
    assert grid.code == "410205001001-02" and grid.level == 1
    bad = {
        **data,
        "name": "坏网格",
        "polygon": json.dumps({"type": "Point", "coordinates": [1, 2]}),
    }
    response = c.post("/admin/territory/grid/add/", bad)
    assert response.status_code == 200 and "GeoJSON" in response.content.decode()
    street = {**data, "name": "街道网格", "region": territory.street.pk}
    assert c.post("/admin/territory/grid/add/", street).status_code == 200
    assert not Grid.objects.filter(name__in=["坏网格", "街道网格"]).exists()


def test_admin_forms_render_and_fix_structure(personas, territory):
    personas.admin.is_staff = personas.admin.is_superuser = True
    personas.admin.save()
    c = client_for(personas.admin)
    for url in (
        "/admin/territory/region/add/",
        "/admin/territory/grid/add/",
        f"/admin/territory/region/{territory.comm_a.pk}/change/",
        f"/admin/territory/grid/{territory.grid_a.pk}/change/",
        "/admin/territory/facility/add/",
        "/admin/territory/department/add/",
    ):
        assert c.get(url).status_code == 200, url
    response = c.post(
        "/admin/territory/region/add/",
        {
            "code": "4102059",
            "name": "直属社区",
            "kind": "community",
            "parent": territory.district.pk,
            "population": 0,
        },
    )
    assert response.status_code == 200 and "不能直接隶属于" in response.content.decode()
