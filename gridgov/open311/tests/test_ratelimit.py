"""gridgov.core.ratelimit: the fixed-window counter and its 429 answers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from gridgov.core.ratelimit import TooManyRequests, check_rate, enforce_rate, rate_limit

T0 = 1_800_000_000.0  # the start of a window


def request(ip: str = "10.0.0.1", method: str = "post"):
    req = getattr(RequestFactory(), method)("/x", REMOTE_ADDR=ip)
    req.user = AnonymousUser()
    return req


def test_counts_per_ip_and_scope_and_resets_with_the_window():
    assert [check_rate(request(), scope="a", limit=2, now=T0 + 10) for _ in range(3)] == [
        None,
        None,
        50,
    ]
    assert check_rate(request("10.0.0.2"), scope="a", limit=2, now=T0 + 10) is None
    assert check_rate(request(), scope="b", limit=2, now=T0 + 10) is None
    assert check_rate(request(), scope="a", limit=2, now=T0 + 60) is None  # next window


@override_settings(GRIDGOV_ANON_RATE_PER_MINUTE=1)
def test_limit_comes_from_settings_and_enforce_raises_with_retry_after(monkeypatch):
    enforce_rate(request("10.0.0.3"), scope="s")
    with pytest.raises(TooManyRequests) as info:
        enforce_rate(request("10.0.0.3"), scope="s")
    assert info.value.status == 429 and 1 <= info.value.retry_after <= 60
    assert "秒后再试" in info.value.as_dict()["message"]


@override_settings(GRIDGOV_ANON_RATE_PER_MINUTE=1)
def test_decorator_answers_429_json_for_anonymous_posts_only(django_user_model):
    @rate_limit("form")
    def view(req):
        return HttpResponse("ok")

    assert view(request("10.0.0.4")).status_code == 200
    refused = view(request("10.0.0.4"))
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "请求过于频繁" in refused.content.decode()
    assert view(request("10.0.0.4", "get")).status_code == 200  # GET is not counted


@override_settings(GRIDGOV_ANON_RATE_PER_MINUTE=1, GRIDGOV_RATE_TRUST_FORWARDED=True)
def test_forwarded_for_is_used_only_when_trusted():
    req = request("127.0.0.1")
    req.META["HTTP_X_FORWARDED_FOR"] = "203.0.113.9, 127.0.0.1"
    assert check_rate(req, scope="f", now=T0) is None
    other = request("127.0.0.1")
    other.META["HTTP_X_FORWARDED_FOR"] = "203.0.113.10"
    assert check_rate(other, scope="f", now=T0) is None  # a different client behind the proxy
    assert check_rate(req, scope="f", now=T0) is not None
