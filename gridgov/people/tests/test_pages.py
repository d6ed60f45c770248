"""Pages: masking, reveal with reason and log, jurisdiction matrix, scenario R3 end to end."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
from django.db import connection
from django.urls import reverse

from gridgov.accounts.models import PiiAccessLog
from gridgov.people.models import Business, BusinessStatus, Occupancy, Tenure

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.force_login(user)
    return client


def test_residents_list_masks_name_phone_and_id(client, registry, personas):
    html = _login(client, personas.worker_a).get(reverse("people:residents")).content.decode()
    assert "王*" in html and "138****5678" in html and "4102**********" in html
    assert "王建国" not in html and "13812345678" not in html
    assert registry.tenant.id_number not in html


def test_residents_list_keyset_pager_walks_all_rows(client, registry, personas, territory):
    from gridgov.people import services

    for i in range(35):
        services.resident_create(actor=personas.worker_a, region=territory.comm_a, name=f"张{i}")
    c = _login(client, personas.worker_a)
    first = c.get(reverse("people:residents"), {"q": "张"})
    assert first.context["page"].has_next
    cursor = first.context["page"].next_cursor
    second = c.get(reverse("people:residents"), {"q": "张", "cursor": cursor})
    ids = [r["id"] for r in first.context["rows"]] + [r["id"] for r in second.context["rows"]]
    assert len(ids) == 35 == len(set(ids))
    assert f"q=%E5%BC%A0&cursor={cursor}" in first.content.decode()


def test_reveal_needs_reason_and_writes_log(client, registry, personas):
    c = _login(client, personas.worker_a)
    url = reverse("people:resident", args=[registry.tenant.pk])
    response = c.post(url, {"reason": "  "})
    assert response.status_code == 400
    assert "请填写查看事由" in response.content.decode()
    assert "13812345678" not in response.content.decode()
    assert PiiAccessLog.objects.count() == 0
    response = c.post(url, {"reason": "入户走访核实"})
    html = response.content.decode()
    assert "13812345678" in html and "王建国" in html
    log = PiiAccessLog.objects.get()
    assert log.actor == personas.worker_a and log.reason == "入户走访核实"
    assert log.subject_id == str(registry.tenant.pk)


def test_reveal_without_capability_is_refused(client, registry, personas, territory):
    from gridgov.accounts.models import Role
    from gridgov.conftest import make_user

    operator_a = make_user("op_a", Role.ORG_DEPT, territory.comm_a)  # may view, not reveal
    c = _login(client, operator_a)
    url = reverse("people:resident", args=[registry.tenant.pk])
    assert 'name="reason"' not in c.get(url).content.decode()
    response = c.post(url, {"reason": "想看看"})
    assert response.status_code == 403
    assert PiiAccessLog.objects.count() == 0


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
def test_jurisdiction_matrix_for_resident_and_house_pages(client, registry, personas, name, status):
    c = _login(client, getattr(personas, name))
    assert c.get(reverse("people:resident", args=[registry.tenant.pk])).status_code == status
    assert c.get(reverse("people:house", args=[registry.flat.pk])).status_code == status


@pytest.mark.parametrize(
    "name,visible", [("worker_a", True), ("street_official", True), ("worker_b", False)]
)
def test_lists_show_only_own_jurisdiction(client, registry, personas, name, visible):
    c = _login(client, getattr(personas, name))
    assert ("老王面馆" in c.get(reverse("people:businesses")).content.decode()) is visible
    assert ("1-101" in c.get(reverse("people:houses")).content.decode()) is visible


def test_worker_b_cannot_close_a_shop_or_change_tenants(client, registry, personas):
    c = _login(client, personas.worker_b)
    assert (
        c.post(
            reverse("people:business_close", args=[registry.shop.pk]), {"closed_on": "2026-01-01"}
        ).status_code
        == 404
    )
    assert (
        c.post(
            reverse("people:house", args=[registry.flat.pk]),
            {"name": "黑客", "moved_on": "2026-01-01"},
        ).status_code
        == 404
    )
    assert Business.objects.get(pk=registry.shop.pk).status == BusinessStatus.OPEN
    assert Occupancy.objects.filter(house=registry.flat).count() == 1


def test_resident_without_scope_sees_nothing(client, registry, personas):
    c = _login(client, personas.resident)
    assert c.get(reverse("people:residents")).status_code == 403
    assert c.get(reverse("people:party_tree")).status_code == 403


def test_r3_grid_worker_updates_people_houses_and_shops_from_a_phone(
    client, registry, personas, territory
):
    """R3: a rented flat changes tenants, a street shop closes, a new shop opens."""
    c = _login(client, personas.grid_worker)
    phone_ua = {"HTTP_USER_AGENT": "Mozilla/5.0 (Linux; Android 13) Mobile"}
    house_url = reverse("people:house", args=[registry.flat.pk])
    page = c.get(house_url, **phone_ua)
    assert page.status_code == 200 and 'id="change-tenant"' in page.content.decode()
    today = dt.date.today().isoformat()
    response = c.post(
        house_url,
        {
            "leaving": [str(registry.tenant.pk)],
            "name": "陈新",
            "phone": "13511112222",
            "id_number": "",
            "moved_on": today,
            "tenure": "",
        },
        follow=True,
        **phone_ua,
    )
    html = response.content.decode()
    assert "住户变更已保存" in html
    assert "陈*" in html and "王*" in html  # both in the history, masked
    assert "13511112222" not in html
    occ = Occupancy.objects.filter(house=registry.flat).order_by("pk")
    assert [o.ended_on for o in occ] == [dt.date.today(), None]
    registry.flat.refresh_from_db()
    assert registry.flat.tenure == Tenure.RENTED

    response = c.post(
        reverse("people:business_close", args=[registry.shop.pk]), {"closed_on": today}, follow=True
    )
    assert "已标记为关闭" in response.content.decode()
    assert Business.objects.get(pk=registry.shop.pk).status == BusinessStatus.CLOSED

    response = c.post(
        reverse("people:businesses"),
        {
            "name": "便民超市",
            "kind": "shop",
            "region": territory.comm_a.pk,
            "grid": "",
            "address": "A社区临街3号",
            "contact_name": "刘",
            "contact_phone": "13822223333",
            "opened_on": today,
        },
        follow=True,
    )
    assert "已登记新开商铺" in response.content.decode()
    new = Business.objects.get(name="便民超市")
    assert new.grid == territory.grid_a and new.status == BusinessStatus.OPEN
    listing = c.get(reverse("people:businesses")).content.decode()
    assert "老王面馆" in listing and "便民超市" in listing  # the closed shop keeps its record
    assert "138****3333" in listing and "13822223333" not in listing


def test_bad_tenant_phone_is_reported_on_the_field(client, registry, personas):
    c = _login(client, personas.worker_a)
    response = c.post(
        reverse("people:house", args=[registry.flat.pk]),
        {"name": "陈新", "phone": "12345", "moved_on": dt.date.today().isoformat()},
    )
    assert response.status_code == 400
    assert "联系电话应为11位手机号" in response.content.decode()
    assert Occupancy.objects.filter(house=registry.flat).count() == 1


def test_party_tree_page_shows_tree_beside_territory_and_creates(
    client, registry, personas, territory
):
    c = _login(client, personas.street_official)
    response = c.post(
        reverse("people:party_tree"),
        {
            "kind": "grand_committee",
            "name": "A社区大党委",
            "parent": registry.committee.pk,
            "region": territory.comm_a.pk,
            "secretary": "",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "A社区大党委" in html and "三里堡街道党工委" in html and "47.49号院" in html
    response = c.post(
        reverse("people:party_tree"),
        {
            "kind": "household",
            "name": "错误",
            "parent": registry.committee.pk,
            "region": territory.building_a.pk,
        },
    )
    assert "不能设立" in response.content.decode()


def test_other_pages_render(client, registry, personas):
    c = _login(client, personas.worker_a)
    for name in ("party_members", "roles", "partner_units", "new_orgs", "houses"):
        assert c.get(reverse(f"people:{name}")).status_code == 200


def test_admin_resident_list_masks_personal_data(client, registry, territory):
    from gridgov.accounts.models import User

    root = User.objects.create_superuser("root", password="pass-1234")
    client.force_login(root)
    html = client.get("/admin/people/resident/").content.decode()
    assert "138****5678" in html and "王**" in html
    assert "13812345678" not in html and registry.tenant.id_number not in html
    # Nor in the row labels (each row's checkbox is labelled with the record's name).
    assert registry.tenant.name not in html


def test_an_admin_change_page_is_a_logged_reveal(client, registry, personas):
    """The change page shows the record in full (to correct it): it takes the reveal
    capability, and each opening is a row in the access log; its title stays masked."""
    from django.contrib.auth.models import Permission

    from gridgov.accounts.models import PiiAccessLog, User

    tenant = registry.tenant
    url = f"/admin/people/resident/{tenant.pk}/change/"
    root = User.objects.create_superuser("root", password="pass-1234")
    client.force_login(root)
    html = client.get(url).content.decode()
    assert tenant.phone in html  # the form holds the value to correct
    assert tenant.name not in html.split("<form")[0]  # title and breadcrumbs: masked
    log = PiiAccessLog.objects.get()
    assert log.actor == root and log.subject_id == str(tenant.pk)
    assert log.fields == "name,phone,id_number" and log.reason == "后台管理页面查看、修改"
    # Staff given the back office's permissions but not the reveal capability: refused.
    operator = personas.operator
    operator.is_staff = True
    operator.save()
    operator.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_resident", "change_resident"])
    )
    client.force_login(operator)
    assert client.get("/admin/people/resident/").status_code == 200
    assert client.get(url).status_code == 403
    assert PiiAccessLog.objects.count() == 1


def test_residents_page_query_count_does_not_grow_with_rows(client, registry, personas, territory):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gridgov.people import services

    c = _login(client, personas.worker_a)
    with CaptureQueriesContext(connection) as few:
        c.get(reverse("people:residents"))
    for i in range(20):
        services.resident_create(actor=personas.worker_a, region=territory.comm_a, name=f"张{i}")
    with CaptureQueriesContext(connection) as many:
        c.get(reverse("people:residents"))
    assert len(many) == len(few)


def test_roles_page_appoints_and_ends_a_grid_worker_and_a_representative(
    client, personas, territory
):
    from gridgov.people.models import RoleAssignment

    c = _login(client, personas.worker_b)
    response = c.post(
        reverse("people:roles"),
        {
            "kind": "grid_worker",
            "grid": territory.grid_b.pk,
            "region": "",
            "person_name": "小李",
            "phone": "13911112222",
            "username": "worker_b",
            "detail": "",
        },
        follow=True,
    )
    assert "已任命" in response.content.decode()
    territory.grid_b.refresh_from_db()
    assert territory.grid_b.owner == personas.worker_b
    response = c.post(
        reverse("people:roles"),
        {
            "kind": "representative",
            "grid": territory.grid_b.pk,
            "region": "",
            "person_name": "人大代表赵",
            "phone": "",
            "username": "",
            "detail": "人大代表",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "已开通账号 rep-" in html and "139****2222" in html
    # a username outside B's jurisdiction is not found; a grid of A is not offered
    response = c.post(
        reverse("people:roles"),
        {
            "kind": "grid_head",
            "grid": territory.grid_b.pk,
            "region": "",
            "person_name": "张三丰",
            "username": "worker_a",
        },
    )
    # …the form comes back with the account field marked and what was typed kept.
    html = response.content.decode()
    assert response.status_code == 400 and "未找到该账号" in html
    assert 'value="张三丰"' in html and 'value="worker_a"' in html
    assert response.context["form"].errors["username"] == ["未找到该账号"]
    assert (
        c.post(
            reverse("people:roles"),
            {"kind": "grid_head", "grid": territory.grid_a.pk, "person_name": "x"},
        ).status_code
        == 400
    )
    assert not RoleAssignment.objects.filter(grid=territory.grid_a).exists()
    role = RoleAssignment.objects.get(kind="grid_worker")
    assert (
        _login(client, personas.worker_a)
        .post(reverse("people:role_end", args=[role.pk]))
        .status_code
        == 404
    )
    c = _login(client, personas.worker_b)
    c.post(reverse("people:role_end", args=[role.pk]))
    role.refresh_from_db()
    assert role.ended_on is not None
    territory.grid_b.refresh_from_db()
    assert territory.grid_b.owner is None


def test_register_house_then_resident_living_in_it_from_the_pages(client, personas, territory):
    from gridgov.people.models import House, Occupancy, Resident

    c = _login(client, personas.worker_a)
    response = c.post(
        reverse("people:houses"),
        {
            "region": territory.building_a.pk,
            "room": "2-201",
            "tenure": "rented",
            "area_m2": "",
            "address": "",
        },
        follow=True,
    )
    assert "已登记房屋" in response.content.decode()
    house = House.objects.get(room="2-201")
    assert house.grid == territory.grid_a
    response = c.post(
        reverse("people:residents"),
        {
            "name": "孙租户",
            "gender": "",
            "id_number": "",
            "phone": "13512345678",
            "region": territory.building_a.pk,
            "room": "2-201",
            "occupancy_role": "",
            "tags": "",
        },
        follow=True,
    )
    assert "已登记居民" in response.content.decode()
    resident = Resident.objects.get(name="孙租户")
    assert Occupancy.objects.get(resident=resident).role == "tenant"
    response = c.post(
        reverse("people:residents"),
        {"name": "无房号", "region": territory.building_a.pk, "room": "9-999"},
    )
    assert response.status_code == 400 and "请先登记房屋" in response.content.decode()
    assert not Resident.objects.filter(name="无房号").exists()
    # B's worker cannot place anyone in A's building (not among the choices)
    c = _login(client, personas.worker_b)
    c.post(reverse("people:residents"), {"name": "越界", "region": territory.building_a.pk})
    assert not Resident.objects.filter(name="越界").exists()


def test_resident_update_page_changes_phone_and_moves_out(client, registry, personas):
    from gridgov.core.models import AuditLog

    c = _login(client, personas.worker_a)
    url = reverse("people:resident_update", args=[registry.owner.pk])
    html = c.get(reverse("people:resident", args=[registry.owner.pk])).content.decode()
    assert 'id="resident-update"' in html and "13987654321" not in html  # never prefilled
    response = c.post(
        url, {"phone": "13900001111", "tags": "独居老人", "is_active": "on"}, follow=True
    )
    assert "居民信息已更新" in response.content.decode()
    registry.owner.refresh_from_db()
    assert registry.owner.phone == "13900001111" and registry.owner.is_active
    c.post(url, {"phone": "", "tags": "", "is_active": ""})
    registry.owner.refresh_from_db()
    assert registry.owner.phone == "13900001111" and not registry.owner.is_active
    assert AuditLog.objects.filter(action="people.resident_update").count() == 2
    assert c.post(url, {"phone": "123"}).status_code == 400
    assert _login(client, personas.worker_b).post(url, {"tags": "x"}).status_code == 404


def test_a_search_by_name_is_limited_and_logged_once_per_search(
    client, registry, personas, settings
):
    """Lists show a name's first character; a longer name found or not confirms a guess.
    Such a search (not its further pages, not a one-character prefix) is a row in the access
    log with the name masked, and the hour's limit answers 429 and looks nothing up."""
    from gridgov.people import services

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ns"}
    }
    settings.GRIDGOV_NAME_SEARCHES_PER_HOUR = 2
    for i in range(35):
        services.resident_create(
            actor=personas.worker_a, region=registry.tenant.region, name=f"王建{i}"
        )
    c = _login(client, personas.worker_a)
    url = reverse("people:residents")
    assert c.get(url, {"q": "王"}).status_code == 200  # one character: what lists show anyway
    assert PiiAccessLog.objects.count() == 0
    first = c.get(url, {"q": "王建"})
    assert first.status_code == 200 and first.context["page"].has_next
    c.get(url, {"q": "王建", "cursor": first.context["page"].next_cursor})
    log = PiiAccessLog.objects.get()
    assert log.subject_type == "people.name_search" and log.subject_label == "王*"
    assert log.actor == personas.worker_a and log.fields == "name"
    assert c.get(url, {"q": "王建国"}).status_code == 200
    refused = c.get(url, {"q": "王建华"})
    assert refused.status_code == 429 and PiiAccessLog.objects.count() == 2


def test_a_small_form_error_names_the_field_by_its_label(client, registry, personas):
    """The close form posts from the shop's page: an impossible date names 关闭日期."""
    c = _login(client, personas.worker_a)
    response = c.post(
        reverse("people:business_close", args=[registry.shop.pk]), {"closed_on": "2026-02-30"}
    )
    assert response.status_code == 400
    assert "关闭日期：" in response.content.decode()
    registry.shop.refresh_from_db()
    assert registry.shop.closed_on is None


def _shop_form(client, territory, name: str) -> dict[str, object]:
    """The shop form as the page gives it (its key included), filled in."""
    page = client.get(reverse("people:businesses")).content.decode()
    key = re.search(r'name="form_key" value="([0-9a-f]+)"', page).group(1)
    return {
        "form_key": key,
        "name": name,
        "kind": "shop",
        "region": territory.comm_a.pk,
        "opened_on": dt.date.today().isoformat(),
    }


def test_a_registry_form_sent_again_makes_nothing_twice(client, registry, personas, territory):
    c = _login(client, personas.worker_a)
    sent = _shop_form(c, territory, "重发便利店")
    first = c.post(reverse("people:businesses"), sent)
    assert first.status_code == 302
    # The answer was lost and the browser sends the form again: the same shop, said so.
    again = c.post(reverse("people:businesses"), sent, follow=True)
    assert Business.objects.filter(name="重发便利店").count() == 1
    assert "该表单已提交过，未重复登记" in again.content.decode()
    assert again.redirect_chain[0][0] == first["Location"]
    # Back, another name typed into the same page: a second shop, nothing typed is dropped.
    c.post(reverse("people:businesses"), {**sent, "name": "隔壁便利店"})
    assert Business.objects.filter(name="隔壁便利店").count() == 1
    # Each page shown gets a key of its own.
    assert _shop_form(c, territory, "x")["form_key"] != sent["form_key"]


def test_a_form_that_failed_may_be_sent_again_with_its_key(client, registry, personas, territory):
    c = _login(client, personas.worker_a)
    sent = _shop_form(c, territory, "改正后的店")
    bad = c.post(reverse("people:businesses"), {**sent, "opened_on": "2999-01-01"})
    assert bad.status_code == 400 and not Business.objects.filter(name="改正后的店").exists()
    assert f'value="{sent["form_key"]}"' in bad.content.decode()  # the page keeps its key
    assert c.post(reverse("people:businesses"), sent).status_code == 302
    assert Business.objects.filter(name="改正后的店").count() == 1


def test_a_form_key_is_each_users_own(client, registry, personas, territory):
    sent = _shop_form(_login(client, personas.worker_a), territory, "同键商铺")
    client.post(reverse("people:businesses"), sent)
    client.force_login(personas.street_official)
    client.post(reverse("people:businesses"), sent)
    assert Business.objects.filter(name="同键商铺").count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_same_form_sent_twice_at_once_makes_one_shop(personas, territory, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL; SQLite serialises them anyway")
    from django.test import Client

    from gridgov.people import services

    opened = services.business_open

    def slow(**kwargs):  # the first sending holds its key while the second arrives
        time.sleep(0.3)
        return opened(**kwargs)

    monkeypatch.setattr(services, "business_open", slow)
    clients = [Client(), Client()]
    for c in clients:
        c.force_login(personas.worker_a)
    sent = _shop_form(clients[0], territory, "并发便利店")
    barrier = threading.Barrier(2)
    answers: list[str] = []

    def send(c) -> None:
        try:
            barrier.wait()
            answers.append(c.post(reverse("people:businesses"), sent)["Location"])
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert len(answers) == 2 and answers[0] == answers[1]
    assert Business.objects.filter(name="并发便利店").count() == 1
