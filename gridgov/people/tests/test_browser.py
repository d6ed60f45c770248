"""R3 on a phone in Debian's Chromium: change tenants, close a shop, open a shop, reveal."""

from __future__ import annotations

import time

import pytest

from gridgov.accounts.models import PiiAccessLog
from gridgov.conftest import login, screenshot
from gridgov.people.models import Business, BusinessStatus, Occupancy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def test_r3_grid_worker_on_a_phone(live_server, phone, registry, personas):
    page = phone
    login(page, live_server.url, "grid_a")
    page.goto(f"{live_server.url}/people/")
    assert page.locator("text=138****5678").count() == 1
    assert page.locator("text=13812345678").count() == 0
    screenshot(page, "people-residents-phone")
    # the table fits the phone: no horizontal scrolling of the page
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1

    page.goto(f"{live_server.url}/people/houses/{registry.flat.pk}/")
    page.fill("#id_name", "陈新")
    page.fill("#id_phone", "13511112222")
    page.click("#change-tenant button[type=submit]")
    page.wait_for_load_state("domcontentloaded")
    screenshot(page, "people-house-changed-phone")
    page.wait_for_selector("text=住户变更已保存")
    screenshot(page, "people-house-changed-phone")
    assert (
        Occupancy.objects.filter(house=registry.flat, ended_on=None).get().resident.name == "陈新"
    )

    page.goto(f"{live_server.url}/people/businesses/")
    page.once("dialog", lambda d: d.accept())
    page.click("text=标记关闭")
    page.wait_for_selector("text=已标记为关闭")
    assert Business.objects.get(pk=registry.shop.pk).status == BusinessStatus.CLOSED
    page.click("text=登记新开商铺")
    page.fill("#id_name", "便民超市")
    page.fill("#id_contact_phone", "13822223333")
    page.click("#business-open button[type=submit]")
    page.wait_for_selector("text=已登记新开商铺")
    screenshot(page, "people-businesses-phone")

    page.goto(f"{live_server.url}/people/residents/{registry.tenant.pk}/")
    page.fill("#id_reason", "核实租户联系方式")
    page.click("text=查看完整信息 >> nth=-1")
    page.wait_for_selector("text=13812345678")
    assert PiiAccessLog.objects.filter(reason="核实租户联系方式").count() == 1


def test_a_double_tap_registers_one_shop(live_server, phone, registry, personas, monkeypatch):
    from gridgov.people import services

    opened = services.business_open

    def slow_network(**kwargs):  # the first tap's request is still on its way
        time.sleep(0.5)
        return opened(**kwargs)

    monkeypatch.setattr(services, "business_open", slow_network)
    page = phone
    login(page, live_server.url, "grid_a")
    page.goto(f"{live_server.url}/people/businesses/")
    page.click("text=登记新开商铺")
    page.fill("#id_name", "双击便利店")
    before = Business.objects.count()
    # Two taps 150 ms apart (Playwright's own clicks would wait for the first navigation).
    button = page.locator("#business-open button[type=submit]")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    page.wait_for_timeout(150)
    page.mouse.click(x, y)
    page.wait_for_selector("text=已登记新开商铺")
    page.wait_for_load_state("networkidle")
    assert Business.objects.filter(name="双击便利店").count() == 1
    assert Business.objects.count() == before + 1
    # Back on the page, the form can be sent again.
    page.click("summary:has-text('登记新开商铺')")
    page.fill("#id_name", "第二家便利店")
    page.click("#business-open button[type=submit]")
    page.wait_for_selector("text=第二家便利店")
    assert Business.objects.filter(name="第二家便利店").count() == 1


def test_r2_party_tree_beside_territory(live_server, page, registry, personas, territory):
    from gridgov.people import services
    from gridgov.people.models import PartyOrgKind

    grand = services.party_org_create(
        actor=personas.street_official,
        kind=PartyOrgKind.GRAND_COMMITTEE,
        name="A社区大党委",
        region=territory.comm_a,
        parent=registry.committee,
    )
    branch = services.party_org_create(
        actor=personas.worker_a,
        kind=PartyOrgKind.BRANCH,
        name="47.49号院党支部",
        region=territory.compound_a,
        parent=grand,
    )
    group = services.party_org_create(
        actor=personas.worker_a,
        kind=PartyOrgKind.GROUP,
        name="1号楼党小组",
        region=territory.building_a,
        parent=branch,
    )
    services.party_org_create(
        actor=personas.worker_a,
        kind=PartyOrgKind.HOUSEHOLD,
        name="王家党员中心户",
        region=territory.building_a,
        parent=group,
    )
    login(page, live_server.url, "street_s")
    page.goto(f"{live_server.url}/people/party/")
    for name in (
        "三里堡街道党工委",
        "A社区大党委",
        "47.49号院党支部",
        "1号楼党小组",
        "王家党员中心户",
    ):
        assert page.locator(f"text={name}").count() >= 1
    screenshot(page, "people-party-tree")
