"""HTTP audit, Open311 POST: long idempotency keys are refused (never cut, so two cannot become
one), and the reporter's e-mail is not published in the request's description."""

from __future__ import annotations

import pytest

from gridgov.appeals.models import Appeal
from gridgov.open311.tests.test_open311 import (
    BASE,
    IN_A,
    assert_errors_json,
    assert_errors_xml,
    body,
    post,
)


@pytest.mark.django_db
def test_idempotency_key_over_100_characters_is_refused_naming_it(client, o311):
    long_key = "k" * 101
    for fmt, check in (("json", assert_errors_json), ("xml", assert_errors_xml)):
        response = post(
            client,
            fmt,
            key=o311.clear,
            headers={"Idempotency-Key": long_key},
            service_code="road.light",
            description="路灯不亮",
            **IN_A,
        )
        assert "Idempotency-Key" in check(response, 400)
    assert not Appeal.objects.exists()


@pytest.mark.django_db
def test_keys_of_100_characters_are_kept_whole(client, o311):
    # Keys that differ only in their last character are two requests; the same key replays.
    answers = [
        post(
            client,
            key=o311.clear,
            headers={"Idempotency-Key": "k" * 99 + tail},
            service_code="road.light",
            description="路灯不亮",
            **IN_A,
        )
        for tail in ("a", "b", "a")
    ]
    assert [a.status_code for a in answers] == [201, 201, 200]
    ids = [body(a)[0]["service_request_id"] for a in answers]
    assert ids[0] != ids[1] and ids[2] == ids[0]


@pytest.mark.django_db
def test_email_is_not_published_in_the_description(client, o311):
    response = post(
        client,
        key=o311.clear,
        service_code="road.light",
        description="路灯不亮",
        email="wangming@example.com",
        **IN_A,
    )
    assert response.status_code == 201, response.content
    assert "wangming" not in Appeal.objects.get().description
    listed = client.get(f"{BASE}/requests.json").content.decode()
    assert "wangming" not in listed and "电子邮箱" not in listed


@pytest.mark.django_db
def test_control_character_in_email_is_refused_naming_email(client, o311):
    response = post(
        client,
        key=o311.clear,
        service_code="road.light",
        description="路灯不亮",
        email="wang\x07ming@example.com",
        **IN_A,
    )
    message = assert_errors_json(response, 400)
    assert message.startswith("email:") and "description" not in message
    assert not Appeal.objects.exists()


@pytest.mark.django_db
def test_a_description_of_invisible_characters_counts_as_none(client, o311):
    # Optional in GeoReport v2: without one, the appeal reads as its service's name.
    response = post(
        client,
        key=o311.clear,
        service_code="road.light",
        description="\u200b\u200d\ufeff ",
        **IN_A,
    )
    assert response.status_code == 201
    appeal = Appeal.objects.get(pk=body(response)[0]["service_request_id"])
    assert appeal.description == appeal.category.name
