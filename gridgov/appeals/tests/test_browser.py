"""Scenarios A1 and A5 in a real browser, on a phone-sized screen where a person would use one.

Screenshots land in test-artifacts/appeals-*.png.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from PIL import Image

from gridgov.appeals import services as s
from gridgov.appeals.models import Action, Appeal, AppealEvent, Rating, Status
from gridgov.appeals.tests.conftest import POINT_A
from gridgov.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture(autouse=True)
def _serve_test_media(settings, monkeypatch):
    """The project's /media/ view was bound to MEDIA_ROOT at import; point it at the test's."""
    import gridgov.urls

    for pattern in gridgov.urls.urlpatterns:
        if str(pattern.pattern).startswith("media/"):
            monkeypatch.setitem(pattern.default_args, "document_root", settings.MEDIA_ROOT)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "appeal-browser",
        }
    }


def phone(browser, *, located: bool = True):
    """A phone: small screen, touch, and (if allowed) the location inside community A's grid."""
    options = {
        "viewport": PHONE,
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
    }
    if located:
        options |= {
            "geolocation": {"latitude": POINT_A[0], "longitude": POINT_A[1]},
            "permissions": ["geolocation"],
        }
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    return context, context.new_page()


def png(tmp_path, name: str, colour: tuple[int, int, int]) -> str:
    path = tmp_path / name
    Image.new("RGB", (64, 48), colour).save(path, format="PNG")
    return str(path)


def act(page, name: str, fill=None) -> None:
    """Open one action panel on the detail page, fill it, submit, and wait for the reload."""
    panel = page.locator(f"#action-{name}")
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    if fill:
        fill(panel)
    with page.expect_navigation():
        panel.locator("button[type=submit]").click()
    assert page.locator(".errorlist").count() == 0, page.locator(".errorlist").all_inner_texts()


def test_a1_doorstep_report_on_phone_to_closure(
    live_server, browser, page, personas, cats, territory, tmp_path
):
    base = live_server.url
    ctx, gw = phone(browser)
    try:
        login(gw, base, "grid_a")
        gw.goto(f"{base}/appeals/grid/report/")
        gw.set_input_files("input[name=photos]", png(tmp_path, "wall.png", (150, 90, 60)))
        gw.click("[data-locate]")
        gw.wait_for_function("document.querySelector('input[name=latitude]').value !== ''")
        gw.select_option("#id_category", label="私搭乱建")
        gw.fill("#id_description", "47.49号院邻居违建挡光，王先生反映")
        gw.fill("#id_reporter_name", "王先生")
        gw.get_by_label("党群之家/服务站").check()  # Mr Wang came to the station
        screenshot(gw, "appeals-a1-grid-report-phone")
        assert gw.evaluate(OVERFLOW) <= 0, "the report form scrolls sideways on a phone"
        with gw.expect_navigation():
            gw.click("button[type=submit].big")
        assert "A社区第一网格" in gw.locator(".messages").inner_text()
        appeal = Appeal.objects.get()
        assert appeal.grid == territory.grid_a and appeal.status == Status.REGISTERED
        assert gw.locator(".photos img").count() == 1
        screenshot(gw, "appeals-a1-after-report-phone")
        assert gw.evaluate(OVERFLOW) <= 0, "the detail page scrolls sideways on a phone"
        detail = f"{base}/appeals/{appeal.pk}/"

        # The community whistles the urban-management department.
        login(page, base, "worker_a")
        page.goto(detail)
        page.locator("#action-whistle summary").click()
        screenshot(page, "appeals-a1-community-detail")
        act(page, "whistle", lambda p: p.get_by_label("城市管理局").check())
        assert page.locator("#status").inner_text() == "已派遣"

        # The department reports (报到) and handles it the same day, with a result photo.
        page.context.clear_cookies()
        login(page, base, "handler")
        page.goto(detail)
        act(page, "accept")
        act(
            page,
            "handle",
            lambda p: (
                p.locator("textarea").fill("已当日拆除违建，恢复采光"),
                p.locator("input[type=file]").set_input_files(
                    png(tmp_path, "done.png", (60, 160, 90))
                ),
            ),
        )
        assert page.locator("#status").inner_text() == "已处置"
        screenshot(page, "appeals-a1-department-handled")

        # The grid worker verifies with Mr Wang on the phone, who is satisfied; it closes.
        gw.goto(detail)
        act(
            gw,
            "verify",
            lambda p: (
                p.get_by_label("满意", exact=True).check(),
                p.get_by_label("已解决").check(),
            ),
        )
        act(gw, "close")
        assert gw.locator("#status").inner_text() == "已结案"
        timeline = gw.locator("#timeline").inner_text()
        for label in ("受理", "立案", "吹哨", "签收", "处置", "回访", "结案"):
            assert label in timeline
        assert gw.locator(".photos img").count() == 2
        screenshot(gw, "appeals-a1-closed-timeline-phone")
        assert gw.evaluate(OVERFLOW) <= 0
    finally:
        ctx.close()
    appeal.refresh_from_db()
    assert appeal.status == Status.CLOSED and appeal.rating == Rating.SATISFIED
    assert appeal.channel == "doorstep"
    assert list(AppealEvent.objects.filter(appeal=appeal).values_list("action", flat=True)) == [
        Action.INTAKE,
        Action.REGISTER,
        Action.WHISTLE,
        Action.ACCEPT,
        Action.HANDLE,
        Action.VERIFY,
        Action.CLOSE,
    ]


def test_a5_resident_reports_tracks_and_rates_on_phone(
    live_server, browser, personas, cats, territory, tmp_path
):
    base = live_server.url
    ctx, me = phone(browser)
    try:
        me.goto(f"{base}/appeals/report/")
        me.select_option("#id_category", label="电梯故障")
        me.fill("#id_description", "3号楼电梯停在5楼不动")
        me.fill("#id_reporter_phone", "13700002222")
        me.click("[data-locate]")
        me.wait_for_function("document.querySelector('input[name=latitude]').value !== ''")
        me.set_input_files("input[name=photos]", png(tmp_path, "lift.png", (90, 90, 200)))
        screenshot(me, "appeals-a5-report-phone")
        assert me.evaluate(OVERFLOW) <= 0
        with me.expect_navigation():
            me.click("button[type=submit].big")
        code = me.locator("#tracking-code").inner_text().strip()
        appeal = Appeal.objects.get(tracking_code=code)
        screenshot(me, "appeals-a5-tracking-code-phone")
        with me.expect_navigation():
            me.click("text=查看办理进度")
        assert me.locator("#status").inner_text() == "已受理"

        # Staff work on it (through the services: the pages are covered by A1).
        w = personas.worker_a
        s.appeal_register(actor=w, appeal=appeal)
        s.appeal_dispatch(actor=w, appeal=appeal, region=territory.comm_a)
        s.appeal_accept(actor=w, appeal=appeal)
        s.appeal_handle(actor=w, appeal=appeal, result="已联系维保单位修复电梯")
        me.reload()
        assert me.locator("#status").inner_text() == "已处置"
        assert "已联系维保单位修复电梯" in me.locator("body").inner_text()
        body = me.locator("body").inner_text()
        assert "worker_a" not in body
        me.get_by_label("基本满意").check()
        me.get_by_label("已解决").check()
        # The code is known to the staff too: the number given at the report goes with it.
        me.fill("#rate-form input[name=reporter_phone]", "137 0000 2222")
        screenshot(me, "appeals-a5-rate-phone")
        with me.expect_navigation():
            me.click("#rate-form button[type=submit]")
        assert me.locator("#status").inner_text() == "已回访"
        assert "感谢您的评价" in me.locator(".messages").inner_text()
        screenshot(me, "appeals-a5-rated-phone")
        assert me.evaluate(OVERFLOW) <= 0
    finally:
        ctx.close()
    appeal.refresh_from_db()
    assert appeal.rating == Rating.BASIC and appeal.resolved is True


def test_hotline_shows_duplicates_while_typing_and_staff_pages_fit_a_phone(
    live_server, browser, page, personas, cats, territory
):
    from gridgov.appeals.tests.helpers import new_appeal

    base = live_server.url
    earlier = new_appeal(personas.grid_worker, cats.sewer, description="47.49号院下水管道破裂冒水")
    login(page, base, "operator")
    checks: list[tuple[str, str, str]] = []
    page.on(
        "request",
        lambda r: (
            checks.append((r.method, r.url, r.post_data or ""))
            if "/hotline/duplicates" in r.url
            else None
        ),
    )
    page.goto(f"{base}/appeals/hotline/")
    # Keyboard only, in the order the operator asks on the phone.
    page.keyboard.type("13700001111")
    page.keyboard.press("Tab")
    page.keyboard.type("李先生")
    page.select_option("#id_category", label="下水管道")
    page.select_option("#id_region", label="A社区")
    page.fill("#id_latitude", str(POINT_A[0]))
    page.fill("#id_longitude", str(POINT_A[1]))
    page.locator("#id_longitude").dispatch_event("change")
    # Text that arrives without key presses (pasted, dictated) is checked too.
    with page.expect_request(
        lambda r: "/hotline/duplicates" in r.url and "%E7%A0%B4" in (r.post_data or "")
    ):
        page.fill("#id_description", "下水管道破裂")
    page.wait_for_selector(f"#duplicates >> text={earlier.tracking_code}")
    # The check carries the place and the text, posted (never in an address), and never the
    # caller's phone and name.
    assert checks and all(method == "POST" and "?" not in url for method, url, _ in checks)
    assert not any("13700001111" in body or "reporter" in body for _, _, body in checks)
    page.select_option("#id_target", label="城市管理局")
    screenshot(page, "appeals-hotline-duplicates")
    with page.expect_navigation():
        page.click("button[type=submit].big")
    assert "已受理" in page.locator(".messages").inner_text()
    newest = Appeal.objects.exclude(pk=earlier.pk).get()
    assert newest.status == Status.DISPATCHED and newest.assigned_department == territory.dept

    # Overdue, so that the supervision list has a row (and its 督办 form) to show.
    past = timezone.now() - dt.timedelta(hours=1)
    Appeal.objects.filter(pk=newest.pk).update(deadline=past, amber_at=past)
    ctx, ph = phone(browser, located=False)
    try:
        login(ph, base, "operator")
        for name, url in [
            ("queue", "/appeals/"),
            ("supervision", "/appeals/supervision/"),
            ("stats", "/appeals/stats/?group_by=category"),
            ("hotline", "/appeals/hotline/"),
            ("inbox", "/appeals/inbox/"),
            ("detail", f"/appeals/{newest.pk}/"),
        ]:
            ph.goto(base + url)
            assert ph.locator("h1").count() == 1
            screenshot(ph, f"appeals-{name}-phone")
            assert ph.evaluate(OVERFLOW) <= 0, f"{name} scrolls sideways on a phone"
            if name == "queue":  # a case opens from a finger-sized target
                box = ph.locator("a.row-link").first.bounding_box()
                assert box is not None and box["height"] >= 44, box
            if name == "supervision":  # the 督办 button is on the screen, not cut off
                box = ph.locator("form.inline-form button").first.bounding_box()
                width = ph.evaluate("() => window.innerWidth")
                assert box is not None and box["x"] + box["width"] <= width, (box, width)
    finally:
        ctx.close()


# Each row label of a phone's card list against its box: the longest word must fit, or the
# label runs into the value beside it.
LABELS_THAT_OVERRUN = """() => {
  const canvas = document.createElement("canvas").getContext("2d");
  const bad = [];
  for (const td of document.querySelectorAll("table.responsive td[data-label]")) {
    const style = getComputedStyle(td, "::before");
    canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const widest = Math.max(...td.dataset.label.split(/\\s+/).map(w => canvas.measureText(w).width));
    if (widest > parseFloat(style.width) + 0.5) bad.push(`${td.dataset.label}: ${widest} > ${style.width}`);
  }
  return bad;
}"""


def test_the_queue_in_english_on_a_phone_keeps_each_label_apart_from_its_value(
    live_server, browser, personas, cats, territory
):
    from gridgov.appeals.tests.helpers import new_appeal
    from gridgov.core.tests.test_browser_i18n import switch_to_english

    # Long values, as real names are: they press on the labels beside them.
    territory.comm_a.name = "三里堡街道三里堡社区居民委员会第一网格片区"
    territory.comm_a.save()
    new_appeal(personas.grid_worker, cats.sewer, description="下水管道破裂" * 5)
    ctx, ph = phone(browser, located=False)
    try:
        login(ph, live_server.url, "operator")
        switch_to_english(ph)
        ph.goto(f"{live_server.url}/appeals/")
        assert ph.locator("table.responsive td[data-label]").count() > 0
        assert ph.evaluate(LABELS_THAT_OVERRUN) == []
        # The box that selects a case for bulk dispatch is finger-sized (32 px), not 13 px.
        box = ph.locator("input[name=ids]").first.bounding_box()
        assert box is not None and box["width"] >= 30 and box["height"] >= 30, box
        screenshot(ph, "appeals-queue-en-phone")
    finally:
        ctx.close()
