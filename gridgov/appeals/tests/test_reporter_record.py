"""The reporter as a resident record (反映人 = 居民档案): staff intake links it by ID number,
the API by id, each within the user's jurisdiction of the register; the case then shows a
link to the record, and the record lists the resident's appeals."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from gridgov.accounts.tokens import token_create
from gridgov.appeals.models import Appeal
from gridgov.appeals.tests.conftest import POINT_A
from gridgov.open311.services import apikey_create
from gridgov.people.services import resident_create
from gridgov.people.validators import id_check_digit


def id_number(body17: str) -> str:
    return body17 + id_check_digit(body17)


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def wang(personas, territory):
    """Mr Wang, registered in community A with his ID number and phone."""
    return resident_create(
        actor=personas.admin,
        name="王建国",
        region=territory.comm_a,
        id_number=id_number("41020519600101123"),
        phone="13912345678",
    )


@pytest.fixture
def li(personas, territory):
    """Ms Li, registered in community B (outside community A's staff's jurisdiction)."""
    return resident_create(
        actor=personas.admin,
        name="李秀英",
        region=territory.comm_b,
        id_number=id_number("41020519700202224"),
    )


def hotline_form(cats, territory, **extra) -> dict:
    return {
        "category": cats.sewer.pk,
        "region": territory.comm_a.pk,
        "address": "47.49号院",
        "description": "下水管道破裂",
        "register": "on",
        **extra,
    }


def test_the_hotline_links_the_caller_by_id_number_and_takes_name_and_phone_from_the_record(
    personas, cats, territory, wang
):
    client = as_user(personas.operator)
    answer = client.post(
        reverse("appeals:hotline"),
        hotline_form(cats, territory, reporter_id_number=wang.id_number.lower()),
    )

    assert answer.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.reporter_id == wang.pk
    assert (appeal.reporter_name, appeal.reporter_phone) == ("王建国", "13912345678")
    # The case links to the record; the record lists the case (both masked as ever).
    detail = client.get(reverse("appeals:detail", args=[appeal.pk])).content.decode()
    assert reverse("people:resident", args=[wang.pk]) in detail
    assert "13912345678" not in detail
    record = client.get(reverse("people:resident", args=[wang.pk])).content.decode()
    assert 'id="resident-appeals"' in record and appeal.tracking_code in record


def test_names_given_on_the_form_win_over_the_record(personas, cats, territory, wang):
    as_user(personas.operator).post(
        reverse("appeals:hotline"),
        hotline_form(
            cats,
            territory,
            reporter_id_number=wang.id_number,
            reporter_name="王先生",
            reporter_phone="13700001111",
        ),
    )
    appeal = Appeal.objects.get()
    assert appeal.reporter_id == wang.pk
    assert (appeal.reporter_name, appeal.reporter_phone) == ("王先生", "13700001111")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("41020519600101", "身份证号应为18位"),  # malformed
        (id_number("41020519800303335"), "居民档案中没有该居民"),  # valid, not registered
    ],
)
def test_an_unknown_or_malformed_id_number_names_the_field_and_creates_nothing(
    personas, cats, territory, value, message
):
    answer = as_user(personas.operator).post(
        reverse("appeals:hotline"), hotline_form(cats, territory, reporter_id_number=value)
    )

    assert answer.status_code == 400
    assert message in answer.context["form"].errors["reporter_id_number"][0]
    assert not Appeal.objects.exists()


def test_a_grid_worker_cannot_link_a_resident_outside_the_jurisdiction(personas, cats, li):
    answer = as_user(personas.grid_worker).post(
        reverse("appeals:grid_report"),
        {
            "category": cats.illegal.pk,
            "description": "楼道堆放杂物",
            "latitude": POINT_A[0],
            "longitude": POINT_A[1],
            "reporter_id_number": li.id_number,
        },
    )

    assert answer.status_code == 400
    assert "reporter_id_number" in answer.context["form"].errors
    assert not Appeal.objects.exists()


def test_the_grid_worker_links_a_resident_of_the_own_community(personas, cats, wang):
    as_user(personas.grid_worker).post(
        reverse("appeals:grid_report"),
        {
            "category": cats.illegal.pk,
            "description": "楼道堆放杂物",
            "latitude": POINT_A[0],
            "longitude": POINT_A[1],
            "reporter_id_number": wang.id_number,
        },
    )
    assert Appeal.objects.get().reporter_id == wang.pk


def api_intake(headers: dict, cats, **extra):
    body = {
        "category_id": cats.illegal.pk,
        "description": "楼道堆放杂物",
        "latitude": POINT_A[0],
        "longitude": POINT_A[1],
        **extra,
    }
    return Client().post(
        "/api/v1/appeals/", json.dumps(body), content_type="application/json", headers=headers
    )


def test_the_api_links_a_resident_by_id_within_the_jurisdiction(personas, cats, wang, li):
    _row, token = token_create(user=personas.worker_a, name="t")
    bearer = {"Authorization": f"Bearer {token}"}

    linked = api_intake(bearer, cats, reporter_id=wang.pk)
    assert linked.status_code == 201
    assert Appeal.objects.get(pk=linked.json()["id"]).reporter_id == wang.pk

    for other in (li.pk, 10**30, 0):
        refused = api_intake(bearer, cats, reporter_id=other)
        assert refused.status_code == 400, other
        assert "reporter_id" in refused.text
    assert Appeal.objects.count() == 1


def test_an_api_client_key_may_not_look_up_the_register(personas, cats, wang):
    _key, clear = apikey_create(actor=personas.admin, name="integrator")
    refused = api_intake({"X-API-Key": clear}, cats, reporter_id=wang.pk)
    assert refused.status_code == 400 and "reporter_id" in refused.text
    assert not Appeal.objects.exists()
