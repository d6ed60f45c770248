"""The grid map and the territory tree in Debian's Chromium, on the demo district."""

from __future__ import annotations

import pytest

from gridgov.conftest import login, screenshot
from gridgov.demo.generator import DEMO_PASSWORD, generate
from gridgov.territory.models import Grid

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Non-white pixels on the map's canvas: zero means ECharts drew nothing.
PAINTED = """() => {
  const c = document.querySelector('#grid-map canvas');
  if (!c) return 0;
  const ctx = c.getContext('2d');
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) n++;
  }
  return n;
}"""


@pytest.fixture
def demo(transactional_db):
    return generate(seed=1, scale=0.05)


def test_street_official_sees_grid_map_and_opens_a_grid(live_server, page, demo):
    login(page, live_server.url, "street_official", DEMO_PASSWORD)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/territory/map/")
    page.wait_for_selector("#grid-map[data-rendered='1'] canvas")
    painted = page.evaluate(PAINTED)
    assert painted > 10_000, f"the map canvas is nearly blank ({painted} painted pixels)"
    assert not errors, errors
    # The title is Chinese text, drawn with a CJK font (no empty boxes): the heading has width.
    assert page.locator("h1").bounding_box()["width"] > 60
    screenshot(page, "territory-map")

    # Click the middle of one grid of the street official's street: its page opens.
    grid = (
        Grid.objects.filter(region_path__startswith="/410205/410205002/", children__isnull=True)
        .order_by("code")
        .first()
    )
    ring = grid.polygon["coordinates"][0]
    lon = (ring[0][0] + ring[2][0]) / 2
    lat = (ring[0][1] + ring[2][1]) / 2
    x, y = page.evaluate(
        """([lon, lat]) => {
          const chart = echarts.getInstanceByDom(document.getElementById('grid-map'));
          return chart.convertToPixel({seriesIndex: 0}, [lon, lat]);
        }""",
        [lon, lat],
    )
    box = page.locator("#grid-map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url(f"**/territory/grids/{grid.code}/")
    assert grid.name in page.locator("h1").inner_text()
    screenshot(page, "territory-grid-detail")


def test_tree_on_a_phone(live_server, browser, demo):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    phone = context.new_page()
    try:
        login(phone, live_server.url, "street_official", DEMO_PASSWORD)
        phone.goto(f"{live_server.url}/territory/")
        tree = phone.locator(".territory-tree")
        assert "三里堡街道" in tree.inner_text()
        # Nothing wider than the phone's screen: no sideways scrolling.
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"page is {width}px wide on a 390px phone"
        # A collapsed community opens on tap.
        summary = phone.locator("details:not([open]) > summary").first
        summary.click()
        assert phone.locator("details[open] details[open]").count() >= 1
        screenshot(phone, "territory-tree-phone")
        phone.goto(f"{live_server.url}/territory/map/")
        phone.wait_for_selector("#grid-map[data-rendered='1'] canvas")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(phone, "territory-map-phone")
    finally:
        context.close()
