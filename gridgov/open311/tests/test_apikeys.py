"""API keys: the management command, the admin, and the X-API-Key auth of the JSON API."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gridgov.accounts.models import Role
from gridgov.core.models import AuditLog
from gridgov.open311.models import ApiKey
from gridgov.open311.services import apikey_authenticate, key_digest


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("apikey", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_create_prints_only_the_key_and_stores_its_hash(territory):
    out, _ = run("create", "--name", "热线App", "--region", territory.street.code)
    clear = out.strip()
    assert out == clear + "\n" and clear.startswith("o311_") and len(clear) > 40
    key = ApiKey.objects.get()
    assert key.digest == key_digest(clear) and clear not in key.digest
    assert key.prefix == clear[:12] and key.region == territory.street
    assert key.user.role == Role.API_CLIENT and key.user.scope_region == territory.street
    assert not key.user.has_usable_password()
    assert AuditLog.objects.filter(action="apikey.create", target_id=str(key.pk)).exists()


@pytest.mark.django_db
def test_create_without_region_scopes_the_key_to_the_district(territory):
    out, _ = run("create", "--name", "全区")
    key = apikey_authenticate(out.strip())
    assert key is not None and key.user.scope_region == territory.district


@pytest.mark.django_db
def test_create_rejects_an_unknown_region_and_an_empty_name(territory):
    with pytest.raises(CommandError, match="辖区编码不存在"):
        run("create", "--name", "x", "--region", "999")
    with pytest.raises(CommandError, match="名称"):
        run("create", "--name", "  ")
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_list_and_revoke(territory):
    clear = run("create", "--name", "甲")[0].strip()
    key = ApiKey.objects.get()
    listed = run("list")[0]
    assert key.prefix in listed and "active" in listed and clear not in listed
    run("revoke", str(key.pk))
    assert "revoked" in run("list")[0]
    assert apikey_authenticate(clear) is None
    key.refresh_from_db()
    assert not key.user.is_active
    with pytest.raises(CommandError):
        run("revoke", "99999")
    # Digits that are no id: "not found", never a traceback.
    for ref in ("²", "9" * 30):
        with pytest.raises(CommandError, match="未找到密钥"):
            run("revoke", ref)


@pytest.mark.django_db
def test_admin_add_shows_the_key_once(client, personas, territory):
    personas.admin.is_staff = True
    personas.admin.is_superuser = True
    personas.admin.save()
    client.force_login(personas.admin)
    response = client.post(
        "/admin/open311/apikey/add/",
        {"name": "后台创建", "region": territory.comm_a.pk},
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    key = ApiKey.objects.get()
    clear = next(part for m in shown for part in m.split() if part.startswith("o311_"))
    assert apikey_authenticate(clear).pk == key.pk
    assert key.region == territory.comm_a
    again = client.get(f"/admin/open311/apikey/{key.pk}/change/")
    assert clear not in again.content.decode()


@pytest.mark.django_db
def test_api_key_authenticates_the_json_api_as_its_scoped_service_user(client, territory):
    clear = run("create", "--name", "乙", "--region", territory.comm_b.code)[0].strip()
    me = client.get("/api/v1/accounts/me", headers={"X-API-Key": clear})
    assert me.status_code == 200
    data = me.json()
    assert data["role"] == Role.API_CLIENT and data["scope_code"] == territory.comm_b.code
    bad = client.get("/api/v1/accounts/me", headers={"X-API-Key": "o311_wrong"})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "unauthorized"


@pytest.mark.django_db
def test_a_wrong_credential_is_refused_beside_a_right_one(client, territory, personas):
    """A token or key that is sent must be valid: the request does not quietly act as
    whoever another credential names."""
    from gridgov.accounts.tokens import token_create

    key = run("create", "--name", "乙", "--region", territory.comm_b.code)[0].strip()
    _, token = token_create(user=personas.worker_a, name="t")
    me = "/api/v1/accounts/me"
    assert client.get(me, headers={"X-API-Key": key}).status_code == 200
    assert client.get(me, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    for headers in (
        {"X-API-Key": key, "Authorization": "Bearer gg_wrong"},
        {"X-API-Key": "o311_wrong", "Authorization": f"Bearer {token}"},
    ):
        refused = client.get(me, headers=headers)
        assert refused.status_code == 401, headers
        assert refused.json()["error"]["code"] == "unauthorized"
    # Signed in on the site: a wrong token sent along is refused too.
    client.force_login(personas.worker_a)
    assert client.get(me).status_code == 200
    assert client.get(me, headers={"Authorization": "Bearer gg_wrong"}).status_code == 401


@pytest.mark.django_db
def test_api_errors_share_one_shape(client):
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    not_allowed = client.delete("/api/v1/accounts/me")
    assert not_allowed.status_code == 405
    body = json.loads(not_allowed.content)
    assert body["error"]["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_a_revocation_elsewhere_applies_within_the_cache_ttl(territory, settings):
    from django.utils import timezone

    clear = run("create", "--name", "丙")[0].strip()
    assert apikey_authenticate(clear) is not None  # now remembered for a few seconds
    ApiKey.objects.update(revoked_at=timezone.now())  # as another process would
    assert apikey_authenticate(clear) is not None
    settings.GRIDGOV_APIKEY_CACHE_SECONDS = 0
    assert apikey_authenticate(clear) is None


@pytest.mark.django_db
def test_api_key_sees_appeals_only_in_its_region(client, territory, personas):
    """Cross-jurisdiction: a key scoped to community B gets 404 on community A's appeal."""
    from gridgov.appeals.models import Category, Channel
    from gridgov.appeals.services import appeal_intake

    category = Category.objects.create(district=territory.district, code="x", name="其他")
    appeal = appeal_intake(
        actor=personas.operator,
        channel=Channel.HOTLINE,
        category=category,
        description="A社区的诉求",
        latitude=34.755,
        longitude=114.355,
    )
    assert appeal.region == territory.comm_a
    key_b = run("create", "--name", "B", "--region", territory.comm_b.code)[0].strip()
    key_all = run("create", "--name", "全区")[0].strip()
    url = f"/api/v1/appeals/{appeal.pk}"
    assert client.get(url, headers={"X-API-Key": key_b}).status_code == 404
    assert client.get(url, headers={"X-API-Key": key_all}).status_code == 200
