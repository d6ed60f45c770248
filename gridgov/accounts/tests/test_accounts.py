from __future__ import annotations

import pytest

from gridgov.accounts.models import PiiAccessLog
from gridgov.accounts.services import pii_reveal
from gridgov.accounts.tokens import token_create, token_revoke
from gridgov.core.errors import NotFound, PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db


def test_me_with_personal_token_reports_role_and_scope(personas):
    _, token = token_create(user=personas.worker_a, name="phone")
    from django.test import Client

    response = Client().get("/api/v1/accounts/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    body = response.json()
    assert body["role"] == "community_worker"
    assert body["scope_name"] == "A社区"
    assert "reveal_pii" in body["capabilities"]


def test_revoked_or_wrong_token_is_refused_with_the_common_error_shape(personas, client):
    row, token = token_create(user=personas.worker_a, name="phone")
    token_revoke(token_id=row.pk)
    for value in (token, "gg_not-a-token"):
        response = client.get("/api/v1/accounts/me", HTTP_AUTHORIZATION=f"Bearer {value}")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


def test_token_is_stored_only_as_a_digest(personas):
    row, token = token_create(user=personas.worker_a, name="phone")
    row.refresh_from_db()
    assert token not in (row.digest, row.prefix)
    assert row.digest != token and len(row.digest) == 64


def test_reveal_requires_reason_capability_and_scope(personas, territory):
    subject = personas.resident  # any model instance with a name works for the log
    with pytest.raises(ValidationFailed) as err:
        pii_reveal(
            actor=personas.worker_a,
            subject=subject,
            fields=["phone"],
            reason=" ",
            region_path=territory.comm_a.path,
        )
    assert err.value.field == "reason"
    with pytest.raises(NotFound):
        pii_reveal(
            actor=personas.worker_b,
            subject=subject,
            fields=["phone"],
            reason="回访",
            region_path=territory.comm_a.path,
        )
    with pytest.raises(PermissionDenied):
        pii_reveal(
            actor=personas.handler,
            subject=subject,
            fields=["phone"],
            reason="回访",
            region_path=territory.comm_a.path,
        )
    assert PiiAccessLog.objects.count() == 0
    pii_reveal(
        actor=personas.worker_a,
        subject=subject,
        fields=["phone"],
        reason="回访核实",
        region_path=territory.comm_a.path,
    )
    log = PiiAccessLog.objects.get()
    assert (log.actor, log.reason, log.fields) == (personas.worker_a, "回访核实", "phone")


def test_pii_log_page_is_for_the_district_admin_only(personas, territory, client):
    pii_reveal(
        actor=personas.worker_a,
        subject=personas.resident,
        fields=["phone"],
        reason="回访核实",
        region_path=territory.comm_a.path,
    )
    client.force_login(personas.admin)
    response = client.get("/accounts/pii-log/")
    assert response.status_code == 200
    assert "回访核实" in response.content.decode()
    for user in (personas.worker_a, personas.worker_b, personas.street_official):
        client.force_login(user)
        assert client.get("/accounts/pii-log/").status_code == 403


def test_login_page_signs_in_and_home_shows_role(personas, client):
    response = client.post("/accounts/login/", {"username": "worker_a", "password": "pass-1234"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert "社区工作者" in page and "A社区" in page


def test_anonymous_home_redirects_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_login_page_links_residents_to_report_and_track_without_an_account(client):
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/appeals/report/"' in page and 'href="/appeals/track/"' in page


def test_menu_shows_unread_notification_count(personas, client):
    from gridgov.appeals.models import Notification

    Notification.objects.create(user=personas.worker_a, kind="test", text="新任务")
    client.force_login(personas.worker_a)
    page = client.get("/").content.decode()
    assert 'href="/appeals/inbox/"' in page
    assert '<span class="badge red">1</span>' in page
