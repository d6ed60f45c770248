"""What the public Open311 reads give away: never the reporter's tracking code, nothing
of a case whose category is not public, and every bad key or path answered in the spec's
error list."""

from __future__ import annotations

import pytest

from gridgov.appeals.models import Appeal, Category
from gridgov.open311.tests.test_open311 import (
    BASE,
    assert_errors_json,
    assert_errors_xml,
    body,
    new_request,
    xml,
)


@pytest.mark.django_db
def test_the_public_list_does_not_give_away_the_tracking_code(client, o311):
    request_id = new_request(client, o311)
    appeal = Appeal.objects.get()
    assert request_id == str(appeal.pk)
    listed = client.get(f"{BASE}/requests.json").content.decode()
    one = client.get(f"{BASE}/requests/{request_id}.xml").content.decode()
    assert appeal.tracking_code not in listed and appeal.tracking_code not in one
    # With the public list alone, a stranger cannot act on the reporter's behalf.
    assert client.get(f"/api/v1/appeals/public/{request_id}").status_code == 404
    client.post(f"/appeals/track/{request_id}/withdraw/", {"note": "x"})
    appeal.refresh_from_db()
    assert appeal.status == "received"


@pytest.mark.django_db
def test_a_tracking_code_or_an_odd_id_is_not_a_service_request_id(client, o311):
    new_request(client, o311)
    code = Appeal.objects.get().tracking_code
    assert_errors_json(client.get(f"{BASE}/requests/{code}.json"), 404)
    assert_errors_xml(client.get(f"{BASE}/requests/99999999999999999999.xml"), 404)
    assert body(client.get(f"{BASE}/requests.json", {"service_request_id": code})) == []


@pytest.mark.django_db
def test_a_case_of_a_category_that_is_not_public_shows_its_status_only(client, o311):
    private_id = new_request(
        client, o311, description="楼上夫妻吵架，电话13812345678", address="3号楼"
    )
    public_id = new_request(
        client,
        o311,
        service_code="road.pothole",
        description="路面坑洼",
        **{"attribute[size]": "30"},
    )
    Appeal.objects.filter(pk=private_id).update(status="closed", result="已调解，双方和好")
    Category.objects.filter(pk=o311.light.pk).update(is_public=False)

    rows = {r["service_request_id"]: r for r in body(client.get(f"{BASE}/requests.json"))}
    private, public = rows[private_id], rows[public_id]
    assert (private["description"], private["address"], private["media_url"]) == ("", "", "")
    assert private["lat"] is None and private["long"] is None
    assert private["status"] == "closed" and "调解" not in private["status_notes"]
    assert private["service_code"] == "road.light"
    assert public["description"].startswith("路面坑洼") and public["lat"] is not None
    element = xml(client.get(f"{BASE}/requests/{private_id}.xml")).find("request")
    assert element.findtext("description") == "" and element.findtext("address") == ""

    # The group's flag is enough: its sub-categories follow it.
    Category.objects.filter(pk=o311.light.pk).update(is_public=True)
    Category.objects.filter(pk=o311.top.pk).update(is_public=False)
    for row in body(client.get(f"{BASE}/requests.json")):
        assert row["description"] == "" and row["lat"] is None


@pytest.mark.django_db
def test_the_default_taxonomy_keeps_family_and_neighbour_quarrels_private(territory):
    from gridgov.appeals.services import seed_default_categories

    seed_default_categories(district=territory.district)
    private = set(Category.objects.filter(is_public=False).values_list("code", flat=True))
    assert private == {"neighbour"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "discovery.json",
        "services.json",
        "services/road.light.xml",
        "requests.json",
        "tokens/anything.json",
    ],
)
def test_an_unknown_key_is_refused_on_every_method(client, o311, path):
    description = assert_errors_json(
        client.get(f"{BASE}/{path}".replace(".xml", ".json"), {"api_key": "bogus"}), 403
    )
    assert "api_key" in description
    assert client.get(f"{BASE}/{path}", {"api_key": o311.clear}).status_code in (200, 404)


@pytest.mark.django_db
def test_an_unknown_path_answers_the_error_list_in_its_format(client):
    assert_errors_json(client.get(f"{BASE}/requests/.json"), 404)
    assert_errors_xml(client.get(f"{BASE}/services/.xml"), 404)
    assert_errors_json(client.get(f"{BASE}/nothing"), 404)
