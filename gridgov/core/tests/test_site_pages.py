"""Site-wide answers: Django's own error pages (an address no URL matches, a crash) are
gridgov's, in the reader's language, never Django's bare English page; signed-in pages are
not stored by the browser."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation


@pytest.mark.django_db
def test_an_unknown_address_answers_the_sites_404_in_the_readers_language(personas):
    page = Client().get("/no-such-page/")
    body = page.content.decode()
    assert page.status_code == 404
    assert '<html lang="zh-hans">' in body and "没有这个页面" in body and "回到首页" in body
    assert "Not Found" not in body
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/no-such-page/").content.decode()
    assert (
        '<html lang="en">' in english
        and "No such page" in english
        and "没有这个页面" not in english
    )
    # Signed in: the menu stays, so the user can go on.
    client = Client()
    client.force_login(personas.worker_a)
    assert 'id="mainnav"' in client.get("/no-such-page/").content.decode()


def test_the_crash_page_renders_without_a_request_in_either_language():
    assert "这次操作未能完成" in render_to_string("500.html")
    with translation.override("en"):
        shown = render_to_string("500.html")
    assert "could not be completed" in shown and "这次操作" not in shown


@pytest.mark.django_db
def test_signed_in_pages_are_not_stored_by_the_browser(personas):
    client = Client()
    client.force_login(personas.worker_a)
    assert client.get("/").headers["Cache-Control"] == "private, no-store"
    # Signed out (the sign-in page sets its own), and static files, are left as they are.
    assert Client().get("/accounts/login/").headers.get("Cache-Control") != "private, no-store"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/people/?q=%00", "q"),
        ("/people/businesses/?kind=a%00b", "kind"),
        ("/territory/grids/?community=%00", "community"),
        ("/territory/grids/geojson/?community=1&q=%00", "q"),
    ],
)
def test_a_nul_in_a_query_string_is_refused_naming_the_parameter(personas, path, field):
    """PostgreSQL text cannot hold a NUL: no filter may pass one on (it was a 500 there)."""
    client = Client()
    client.force_login(personas.street_official)
    page = client.get(path)
    assert page.status_code == 400
    body = page.content.decode()
    assert "查询参数不能包含空字符" in body and f"（字段：{field}）" in body


@pytest.mark.django_db
def test_a_nul_in_an_api_query_string_answers_the_error_shape(personas):
    from gridgov.accounts.tokens import token_create

    _row, token = token_create(user=personas.street_official, name="t")
    answer = Client().get("/api/v1/people/residents?q=%00", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "q"


@pytest.mark.parametrize(
    ("language", "message"),
    [("zh-hans", "不能包含空字符（NUL）。"), ("en", "Null characters are not allowed.")],
)
def test_a_nul_in_a_form_field_is_named_as_such_in_either_language(language, message):
    # Every form's text field refuses a NUL with Django's message, whose own Chinese reads
    # 不允许是用空字符串 ("no empty string"): gridgov's zh_Hans catalogue corrects it.
    from django import forms
    from django.core.exceptions import ValidationError

    with translation.override(language):
        with pytest.raises(ValidationError) as refused:
            forms.CharField().clean("grid\x00a")
        assert [str(m) for m in refused.value.messages] == [message]
