"""English in a real browser: switch with the header's language selector, on desktop and phone.

Screenshots land in test-artifacts/i18n-*.png.
"""

from __future__ import annotations

import pytest

from gridgov.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Horizontal overflow: the page is wider than the viewport (labels pushing the layout out).
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def switch_to_english(page) -> None:
    """Use the <select> in the header, as a person would: it submits on change."""
    with page.expect_navigation():
        page.select_option(".lang-form select[name=language]", "en")
    assert page.locator("html").get_attribute("lang") == "en"


def check_home_in_english(page) -> None:
    assert page.locator("h1").inner_text() == "Workbench"
    nav = page.locator("#mainnav").inner_text()
    for label in ("Home", "Regions and grids", "Grid map"):
        assert label in nav
    assert "网格地图" not in page.locator("body").inner_text()
    assert page.evaluate(OVERFLOW) <= 0, "the page scrolls sideways"


def check_map_in_english(page) -> None:
    page.wait_for_selector("#grid-map[data-rendered='1'] canvas")
    assert page.locator("h1").inner_text() == "Grid map"
    body = page.locator("body").inner_text()
    # The street official sees the grids of communities A and B.
    assert "2 grids; colours show communities" in body
    assert "All communities" in body and "Filter" in body
    assert "全部社区" not in body
    assert page.evaluate(OVERFLOW) <= 0, "the page scrolls sideways"


def test_english_on_desktop(live_server, page, personas):
    login(page, live_server.url, "street_s")
    assert page.locator("h1").inner_text() == "工作台"
    # On a desktop the header says who is signed in; the menu does not repeat it.
    assert page.locator(".topbar .who").inner_text() == f"{personas.street_official} · 街道干部"
    assert not page.locator(".nav-who").is_visible()
    switch_to_english(page)
    check_home_in_english(page)
    screenshot(page, "i18n-en-home-desktop")

    page.goto(f"{live_server.url}/territory/map/")
    check_map_in_english(page)
    screenshot(page, "i18n-en-map-desktop")

    # The choice sticks across pages and back to Chinese with the same selector.
    with page.expect_navigation():
        page.select_option(".lang-form select[name=language]", "zh-hans")
    assert page.locator("h1").inner_text() == "网格地图"


def test_english_on_a_phone(live_server, browser, personas):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    phone = context.new_page()
    try:
        login(phone, live_server.url, "street_s")
        switch_to_english(phone)
        assert phone.locator("h1").inner_text() == "Workbench"
        assert phone.evaluate(OVERFLOW) <= 0, "the page scrolls sideways"
        screenshot(phone, "i18n-en-home-phone")

        # The menu button opens the navigation, in English.
        # Who is signed in is hidden in the narrow header and said in the opened menu.
        assert not phone.locator(".topbar .who").is_visible()
        assert not phone.locator(".nav-who").is_visible()
        phone.click(".menu-toggle")
        assert phone.locator("#mainnav").is_visible()
        assert (
            phone.locator(".nav-who").inner_text()
            == f"{personas.street_official} · Street official"
        )
        check_home_in_english(phone)
        screenshot(phone, "i18n-en-menu-phone")

        phone.goto(f"{live_server.url}/territory/map/")
        check_map_in_english(phone)
        screenshot(phone, "i18n-en-map-phone")
    finally:
        context.close()


# Every link here stands alone as a choice; a finger needs about 44 px (32 at the least).
SMALL_TARGETS = """(selector) => [...document.querySelectorAll(selector)]
    .filter((a) => a.offsetParent !== null && a.getBoundingClientRect().height < 32)
    .map((a) => a.textContent.trim())"""


def test_links_that_stand_alone_are_finger_sized_on_a_phone(live_server, browser, personas):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    phone = context.new_page()
    try:
        login(phone, live_server.url, "street_s")
        phone.goto(f"{live_server.url}/appeals/inbox/")
        assert phone.locator(".choices a").count() == 2
        assert phone.evaluate(SMALL_TARGETS, ".choices a") == []
        phone.goto(f"{live_server.url}/territory/")
        assert phone.locator(".tree summary > a").count() >= 1
        assert phone.evaluate(SMALL_TARGETS, ".tree a:not(.badge)") == []
        screenshot(phone, "phone-tree-targets")
    finally:
        context.close()
