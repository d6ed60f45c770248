"""HTTP audit, core: the rate limit counts the address our proxy saw, not one the client wrote
into X-Forwarded-For; a JSON API body that cannot be parsed answers the one error shape."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.test import RequestFactory

from gridgov.core.ratelimit import check_rate, client_ip

T0 = 1_800_000_000.0


@pytest.fixture(autouse=True)
def _own_cache(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "f2"}
    }
    cache.clear()
    yield
    cache.clear()


def forwarded(value: str | None, remote: str = "127.0.0.1"):
    req = RequestFactory().post("/x", REMOTE_ADDR=remote)
    if value is not None:
        req.META["HTTP_X_FORWARDED_FOR"] = value
    req.user = AnonymousUser()
    return req


def test_spoofed_forwarded_for_entries_do_not_avoid_the_limit(settings):
    settings.GRIDGOV_RATE_TRUST_FORWARDED = True
    settings.GRIDGOV_RATE_TRUSTED_PROXIES = 1
    answers = [
        check_rate(forwarded(f"10.9.8.{i}, 203.0.113.7"), scope="spoof", limit=3, now=T0)
        for i in range(5)
    ]
    assert answers[:3] == [None, None, None]
    assert answers[3] is not None and answers[4] is not None


@pytest.mark.parametrize(
    ("proxies", "header", "client"),
    [
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "10.9.8.1, 203.0.113.7", "203.0.113.7"),
        (2, "10.9.8.1, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (1, "10.9.8.1, 2001:db8::7", "2001:db8::7"),
        # Malformed or too short: the connection's address.
        (1, "10.9.8.1, not-an-ip", "127.0.0.1"),
        (1, "", "127.0.0.1"),
        (1, None, "127.0.0.1"),
        (2, "203.0.113.7", "127.0.0.1"),
        (2, "nonsense, 10.0.0.2", "127.0.0.1"),
    ],
)
def test_client_is_the_entry_trusted_proxies_hops_from_the_right(settings, proxies, header, client):
    settings.GRIDGOV_RATE_TRUST_FORWARDED = True
    settings.GRIDGOV_RATE_TRUSTED_PROXIES = proxies
    assert client_ip(forwarded(header)) == client


def test_forwarded_for_is_ignored_unless_trusted(settings):
    settings.GRIDGOV_RATE_TRUST_FORWARDED = False
    assert client_ip(forwarded("203.0.113.7")) == "127.0.0.1"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"category_id": 1,', "application/json"),
        (b"category_id=1&description=x", "application/x-www-form-urlencoded"),
        (b'{"description": "\xff\xfe"}', "application/json"),
    ],
)
def test_unparsable_api_body_answers_the_error_shape_in_chinese_naming_body(
    client, body, content_type
):
    response = client.post("/api/v1/appeals/public/", body, content_type=content_type)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    error = json.loads(response.content)["error"]
    assert error == {"code": "invalid", "message": "请求体不是有效的 JSON", "field": "body"}
