"""Review fixes on the appeal pages: the staff intake pages' idempotency keys (one case per
form, namespaced per page and user) and the stats page's periods, custom range and region."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gridgov.accounts.tokens import token_create
from gridgov.appeals.models import Action, Appeal, Status
from gridgov.appeals.tests.conftest import POINT_A

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_key(client: Client, url: str) -> str:
    """The key the page's form carries (a hidden field set when the form is rendered)."""
    match = KEY.search(client.get(url).content.decode())
    assert match, "the form carries no idempotency key"
    return match.group(1)


# ---------------------------------------------------------------- 1. idempotency keys


def grid_form(cats, key: str, **extra) -> dict:
    return {
        "category": cats.illegal.pk,
        "description": "楼道堆放杂物",
        "latitude": POINT_A[0],
        "longitude": POINT_A[1],
        "idempotency_key": key,
        **extra,
    }


def test_grid_report_sent_twice_is_one_case_and_the_second_answer_leads_to_it(personas, cats):
    client = as_user(personas.grid_worker)
    url = reverse("appeals:grid_report")
    key = page_key(client, url)

    first = client.post(url, grid_form(cats, key))
    again = client.post(url, grid_form(cats, key))

    appeal = Appeal.objects.get()
    assert first.status_code == again.status_code == 302
    assert again["Location"] == first["Location"] == reverse("appeals:detail", args=[appeal.pk])
    # Registered once: the resent form did not try the steps again.
    assert list(appeal.events.values_list("action", flat=True)) == [
        Action.INTAKE,
        Action.REGISTER,
    ]
    assert appeal.idempotency_key == f"grid:u{personas.grid_worker.pk}:{key}"
    page = client.get(again["Location"]).content.decode()
    assert "未重复登记" in page and appeal.tracking_code in page


def test_grid_report_changed_after_back_with_the_same_key_is_a_new_case(personas, cats):
    client = as_user(personas.grid_worker)
    url = reverse("appeals:grid_report")
    key = page_key(client, url)
    first = client.post(url, grid_form(cats, key))

    changed = client.post(url, grid_form(cats, key, description="路灯不亮"))
    changed_again = client.post(url, grid_form(cats, key, description="路灯不亮"))

    assert first.status_code == changed.status_code == 302  # not a 409 page
    assert changed["Location"] != first["Location"]
    assert changed_again["Location"] == changed["Location"]
    assert sorted(Appeal.objects.values_list("description", flat=True)) == [
        "楼道堆放杂物",
        "路灯不亮",
    ]


def hotline_form(cats, territory, key: str, **extra) -> dict:
    return {
        "reporter_phone": "13700001111",
        "category": cats.sewer.pk,
        "region": territory.comm_a.pk,
        "address": "47.49号院",
        "description": "下水管道破裂",
        "register": "on",
        "target": f"d:{territory.dept.pk}",
        "idempotency_key": key,
        **extra,
    }


def test_hotline_sent_twice_is_one_case_registered_and_dispatched_once(personas, cats, territory):
    client = as_user(personas.operator)
    url = reverse("appeals:hotline")
    key = page_key(client, url)

    first = client.post(url, hotline_form(cats, territory, key))
    again = client.post(url, hotline_form(cats, territory, key))

    appeal = Appeal.objects.get()
    assert first.status_code == again.status_code == 302  # not a 409 (already dispatched)
    assert again["Location"] == first["Location"] == f"{url}?last={appeal.pk}"
    assert appeal.status == Status.DISPATCHED
    assert list(appeal.events.values_list("action", flat=True)) == [
        Action.INTAKE,
        Action.REGISTER,
        Action.DISPATCH,
    ]
    assert appeal.idempotency_key == f"hotline:u{personas.operator.pk}:{key}"
    page = client.get(again["Location"]).content.decode()
    assert "未重复登记" in page and appeal.tracking_code in page
    # The next call gets a fresh form with a key of its own.
    assert page_key(client, again["Location"]) != key


def test_hotline_changed_after_back_with_the_same_key_is_a_new_case(personas, cats, territory):
    client = as_user(personas.operator)
    url = reverse("appeals:hotline")
    key = page_key(client, url)
    first = client.post(url, hotline_form(cats, territory, key))

    changed = client.post(url, hotline_form(cats, territory, key, description="自来水停水"))

    assert first.status_code == changed.status_code == 302
    assert changed["Location"] != first["Location"]
    assert Appeal.objects.count() == 2
    assert set(Appeal.objects.values_list("status", flat=True)) == {Status.DISPATCHED}


def test_the_same_key_from_two_staff_users_makes_two_cases(personas, cats, territory):
    url = reverse("appeals:hotline")
    for user in (personas.operator, personas.worker_a):
        response = as_user(user).post(url, hotline_form(cats, territory, "shared-key"))
        assert response.status_code == 302
    assert Appeal.objects.count() == 2


def test_the_resident_page_cannot_claim_an_api_clients_key(personas, cats):
    _row, token = token_create(user=personas.operator, name="t")
    body = {
        "channel": "hotline",
        "category_id": cats.lift.pk,
        "description": "3号楼电梯停运",
        "latitude": POINT_A[0],
        "longitude": POINT_A[1],
    }
    api = Client().post(
        "/api/v1/appeals/",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_IDEMPOTENCY_KEY="call-1",
    )
    assert api.status_code == 201
    stored = Appeal.objects.get().idempotency_key
    assert stored == f"api:u{personas.operator.pk}:call-1"

    resident = Client(REMOTE_ADDR="10.88.0.1").post(
        reverse("appeals:report"),
        {
            "category": cats.lift.pk,
            "description": "3号楼电梯停运",
            "latitude": POINT_A[0],
            "longitude": POINT_A[1],
            "idempotency_key": stored,
        },
    )

    # A case of the resident's own (never the API client's tracking code), under "web:".
    assert resident.status_code == 302
    assert api.json()["tracking_code"] not in resident["Location"]
    mine = Appeal.objects.exclude(idempotency_key=stored).get()
    assert mine.idempotency_key == f"web:{stored}"


# ---------------------------------------------------------------- 2. periods, ranges, regions


def test_previous_periods_are_whole_and_end_where_the_current_one_starts():
    from gridgov.appeals.selectors import period_bounds

    tz = timezone.get_current_timezone()
    now = dt.datetime(2025, 1, 15, 10, 30, tzinfo=tz)  # a Wednesday

    def days(period):
        start, end = period_bounds(period, now)
        return timezone.localtime(start).date(), timezone.localtime(end).date()

    assert days("yesterday") == (dt.date(2025, 1, 14), dt.date(2025, 1, 15))
    assert days("last_week") == (dt.date(2025, 1, 6), dt.date(2025, 1, 13))
    assert days("last_month") == (dt.date(2024, 12, 1), dt.date(2025, 1, 1))
    assert days("last_quarter") == (dt.date(2024, 10, 1), dt.date(2025, 1, 1))
    assert days("last_year") == (dt.date(2024, 1, 1), dt.date(2025, 1, 1))
    assert period_bounds("last_month", now)[1] == period_bounds("month", now)[0]


@pytest.fixture
def two_months(personas, cats, territory):
    """Two appeals received last month (community A) and two this month (A and B)."""
    from gridgov.appeals.tests.helpers import new_appeal, spot

    now = timezone.localtime()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = month_start - dt.timedelta(days=10)
    old = [new_appeal(personas.worker_a, cats.sanitation, point=spot()) for _ in range(2)]
    Appeal.objects.filter(pk__in=[a.pk for a in old]).update(created_at=last_month)
    new_appeal(personas.worker_a, cats.sanitation, point=spot())
    new_appeal(personas.worker_b, cats.sanitation, point=(34.755, 114.365))
    return {"last_month": last_month.date(), "this_month": now.date()}


def stats_page(user, **query):
    return as_user(user).get(reverse("appeals:stats"), query)


def received(response) -> int:
    match = re.search(r'id="count-received">(\d+)<', response.content.decode())
    assert match, response.content.decode()[:3000]
    return int(match.group(1))


def test_stats_page_shows_last_months_figures_with_their_formulas(personas, two_months):
    this = stats_page(personas.street_official, period="month")
    last = stats_page(personas.street_official, period="last_month")

    assert this.status_code == last.status_code == 200
    assert received(this) == 2 and received(last) == 2
    page = last.content.decode()
    assert f"统计期间：{two_months['last_month']:%Y-%m}-01" in page
    assert 'id="formula-response_rate"' in page and "满意率 = (满意件数" in page
    assert '<option value="last_month" selected>上月</option>' in page


def test_stats_page_counts_a_custom_range_of_days_both_included(personas, two_months):
    day = two_months["last_month"]
    one_day = stats_page(personas.street_official, period="custom", start=day, end=day)
    both = stats_page(
        personas.street_official, period="custom", start=day, end=two_months["this_month"]
    )
    assert received(one_day) == 2 and received(both) == 4


def test_stats_page_narrows_to_a_community_in_the_users_jurisdiction(
    personas, territory, two_months
):
    page = stats_page(personas.street_official, period="month", region=territory.comm_b.pk)
    assert received(page) == 1 and "B社区" in page.content.decode()
    # Community B is outside worker A's jurisdiction: refused, naming the field.
    other = stats_page(personas.worker_a, period="month", region=territory.comm_b.pk)
    assert other.status_code == 400
    assert "所选辖区不存在或不在您的管辖范围内" in other.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2025-03-10", "end": "2025-03-01"}, "结束日期不能早于开始日期"),
        ({"start": "2020-01-01", "end": "2023-01-01"}, "统计时段最长 3 年"),
        ({"start": "2025-02-30", "end": "2025-03-01"}, "开始日期无效"),
        ({"start": "2025-03-01"}, "请填写结束日期"),
        ({"start": "9999-12-31", "end": "9999-12-31"}, "开始日期须在"),
        ({"period": "ever"}, "统计周期无效"),
        ({"period": "month", "region": "99999999999999999999"}, "所选辖区不存在"),
        # Dates with a named period would be dropped without a word.
        ({"period": "month", "start": "2025-03-01", "end": "2025-03-02"}, "否则请清空日期"),
    ],
)
def test_stats_page_bad_conditions_name_their_field_and_show_no_figures(
    personas, two_months, query, message
):
    response = stats_page(personas.street_official, **{"period": "custom", **query})
    body = response.content.decode()
    assert response.status_code == 400
    assert message in body and 'role="alert"' in body
    assert 'id="count-received"' not in body
    assert "满意率 = (满意件数" in body  # the formulas are still explained


def api_stats(user, **query):
    _row, token = token_create(user=user, name="t")
    return Client().get("/api/v1/appeals/stats", query, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_api_stats_previous_period_custom_range_and_region(personas, territory, two_months):
    last = api_stats(personas.street_official, period="last_month")
    assert last.status_code == 200 and last.json()["total"]["received"] == 2
    assert last.json()["period"] == "last_month"
    day = two_months["last_month"]
    ranged = api_stats(personas.street_official, start=day, end=two_months["this_month"])
    assert ranged.json()["total"]["received"] == 4 and ranged.json()["period"] == "custom"
    community = api_stats(personas.street_official, region_id=territory.comm_b.pk)
    assert community.json()["total"]["received"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2025-03-10", "end": "2025-03-01"}, "end"),
        ({"start": "2020-01-01", "end": "2024-06-01"}, "end"),
        ({"start": "2025-13-01", "end": "2025-03-01"}, "start"),
        ({"end": "2025-03-01"}, "start"),
        ({"period": "custom"}, "start"),
        ({"period": "month", "start": "2025-03-01", "end": "2025-03-02"}, "period"),
        ({"period": "ever"}, "period"),
        ({"region_id": 99999999999999999999}, "region_id"),
    ],
)
def test_api_stats_bad_conditions_are_400_naming_the_field(personas, territory, query, field):
    response = api_stats(personas.street_official, **query)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field


def test_api_stats_refuses_a_region_outside_the_jurisdiction(personas, territory):
    response = api_stats(personas.worker_a, region_id=territory.comm_b.pk)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "region_id"


@pytest.mark.browser
def test_stats_page_custom_range_on_a_phone(live_server, browser, personas, two_months):
    from gridgov.appeals.tests.test_browser import OVERFLOW, phone
    from gridgov.conftest import login, screenshot

    ctx, ph = phone(browser, located=False)
    try:
        login(ph, live_server.url, "street_s")
        ph.goto(f"{live_server.url}/appeals/stats/")
        ph.select_option("#id_period", label="自定义日期")
        ph.fill("#id_start", "2025-03-10")
        ph.fill("#id_end", "2025-03-01")
        with ph.expect_navigation():
            ph.click("form.filters button[type=submit]")
        assert "结束日期不能早于开始日期" in ph.locator("form.filters").inner_text()
        assert ph.evaluate(OVERFLOW) <= 0, "the stats form scrolls sideways on a phone"
        screenshot(ph, "appeals-stats-range-error-phone")
        day = f"{two_months['last_month']:%Y-%m-%d}"
        ph.fill("#id_start", day)
        ph.fill("#id_end", day)
        with ph.expect_navigation():
            ph.click("form.filters button[type=submit]")
        assert ph.locator("#count-received").inner_text() == "2"
        assert ph.locator("#formula-response_rate").is_visible()
        assert ph.evaluate(OVERFLOW) <= 0
        screenshot(ph, "appeals-stats-range-phone")
    finally:
        ctx.close()
