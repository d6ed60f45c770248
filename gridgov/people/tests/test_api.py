"""API: masked, scoped like the pages, cursor pagination, 404 outside jurisdiction."""

from __future__ import annotations

import pytest

from gridgov.accounts.tokens import token_create
from gridgov.people import services

pytestmark = pytest.mark.django_db


def _get(client, user, path, **params):
    _, token = token_create(user=user, name="t")
    return client.get(f"/api/v1/people{path}", params, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_residents_api_is_masked(client, registry, personas):
    body = _get(client, personas.worker_a, "/residents").json()
    names = {r["name"] for r in body["items"]}
    assert names == {"王**", "李**"}
    assert all("*" in r["phone"] for r in body["items"])
    assert "13812345678" not in str(body) and registry.tenant.id_number not in str(body)


def test_residents_api_cursor_pages(client, registry, personas, territory):
    for i in range(5):
        services.resident_create(actor=personas.worker_a, region=territory.comm_a, name=f"张{i}")
    first = _get(client, personas.worker_a, "/residents", size=4).json()
    second = _get(
        client, personas.worker_a, "/residents", size=4, cursor=first["next_cursor"]
    ).json()
    assert len(first["items"]) == 4 and len(second["items"]) == 3
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "name,status",
    [
        ("worker_a", 200),
        ("street_official", 200),
        ("admin", 200),
        ("worker_b", 404),
        ("resident", 403),
    ],
)
def test_api_jurisdiction_matrix(client, registry, personas, name, status):
    user = getattr(personas, name)
    assert _get(client, user, f"/residents/{registry.tenant.pk}").status_code == status
    assert _get(client, user, f"/houses/{registry.flat.pk}").status_code == status


def test_api_lists_scoped(client, registry, personas):
    shops_b = _get(client, personas.worker_b, "/businesses").json()["items"]
    assert shops_b == []
    shops_a = _get(client, personas.worker_a, "/businesses", status="open").json()["items"]
    assert [s["name"] for s in shops_a] == ["老王面馆"]
    assert shops_a[0]["contact_phone"] == "137****1111"
    orgs_b = _get(client, personas.worker_b, "/party-orgs").json()["items"]
    assert orgs_b == []
    orgs_s = _get(client, personas.street_official, "/party-orgs").json()["items"]
    assert [o["name"] for o in orgs_s] == ["三里堡街道党工委"]
    assert _get(client, personas.resident, "/residents").status_code == 403
    assert client.get("/api/v1/people/residents").status_code == 401


def test_house_api_shows_occupancy_history(client, registry, personas):
    services.occupancy_change(
        actor=personas.worker_a, house=registry.flat, arriving=[services.PersonInput(name="陈新")]
    )
    body = _get(client, personas.worker_a, f"/houses/{registry.flat.pk}").json()
    assert [(o["name"], o["current"]) for o in body["occupancies"]] == [
        ("陈*", True),
        ("王**", False),
    ]
    for path in ("/party-members", "/partner-units", "/new-orgs", "/houses"):
        assert _get(client, personas.worker_a, path).status_code == 200


def test_the_api_search_by_name_is_logged_like_the_pages(client, registry, personas, settings):
    from gridgov.accounts.models import PiiAccessLog
    from gridgov.core.pagination import encode_cursor

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "na"}
    }
    found = _get(client, personas.worker_a, "/residents", q=registry.tenant.name)
    assert found.status_code == 200
    assert [r["id"] for r in found.json()["items"]] == [registry.tenant.pk]
    assert PiiAccessLog.objects.get().subject_type == "people.name_search"
    # A made-up cursor does not skip the count: a name never searched is logged.
    forged = encode_cursor(10**12)
    probe = _get(client, personas.worker_a, "/residents", q="谭娜", cursor=forged)
    assert probe.status_code == 200
    assert PiiAccessLog.objects.filter(subject_type="people.name_search").count() == 2


def test_paging_errors_name_the_parameters_the_client_sent(client, registry, personas):
    import base64

    empty = _get(client, personas.worker_a, "/residents", size=0)
    assert empty.status_code == 400 and empty.json()["error"]["field"] == "size"
    inf = base64.urlsafe_b64encode(b'{"id": 1e999}').decode().rstrip("=")
    odd = _get(client, personas.worker_a, "/residents", cursor=inf)
    assert odd.status_code == 400 and odd.json()["error"]["field"] == "cursor"
