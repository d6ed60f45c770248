"""HTTP audit, Open311 POST: long or non-ASCII idempotency keys are refused (never cut, so two
cannot become one), the reporter's e-mail is not published in the request's description, a
bad attribute value is named as that attribute, and reads answer HEAD."""

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


# "键" as a server reads it off the wire: the header's UTF-8 bytes taken as Latin-1.
GARBLED = "键".encode().decode("latin-1")


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["k" * 101, "键", GARBLED, "a\tb"])
def test_a_key_too_long_or_not_printable_ascii_is_refused_naming_it(client, o311, value):
    for fmt, check in (("json", assert_errors_json), ("xml", assert_errors_xml)):
        response = post(
            client,
            fmt,
            key=o311.clear,
            headers={"Idempotency-Key": value},
            service_code="road.light",
            description="路灯不亮",
            **IN_A,
        )
        assert "Idempotency-Key" in check(response, 400)
    assert not Appeal.objects.exists()


@pytest.mark.django_db
def test_a_control_character_in_an_attribute_is_named_as_that_attribute(client, o311):
    o311.light.extra_fields = [
        {"code": "pole", "datatype": "string", "required": False, "description": "灯杆编号"}
    ]
    o311.light.save()
    response = post(
        client,
        key=o311.clear,
        service_code="road.light",
        description="路灯不亮",
        **{"attribute[pole]": "A\x0712"},
        **IN_A,
    )
    assert "attribute[pole]" in assert_errors_json(response, 400)
    assert not Appeal.objects.exists()


@pytest.mark.django_db
def test_a_full_length_description_with_spaces_around_it_is_taken(client, o311):
    text = "长" * 2000
    response = post(
        client, key=o311.clear, service_code="road.light", description=f"  {text}\n", **IN_A
    )
    assert response.status_code == 201, response.content
    assert Appeal.objects.get().description.startswith(text)


@pytest.mark.django_db
def test_reads_answer_head_with_the_get_headers_and_no_body(client, o311):
    for path in ("services.json", "requests.xml", "discovery.json"):
        get = client.get(f"{BASE}/{path}")
        head = client.head(f"{BASE}/{path}")
        assert (head.status_code, head["Content-Type"]) == (200, get["Content-Type"])
        assert head.content == b""
