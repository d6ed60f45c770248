"""The stats table says what its rows are (辖区, 部门, 分类, 受理月份) in its first column's
heading and in the label a phone shows beside each cell, and lists the rows as the rest of
the system does: regions in the tree's order, departments by code, top-level categories in
their configured order (the page and the JSON API alike)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from gridgov.accounts.tokens import token_create
from gridgov.appeals import selectors as sel
from gridgov.appeals.models import Action, Appeal, Category, Channel, Status
from gridgov.appeals.tests.helpers import local
from gridgov.territory.models import Department, Region

MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}


@pytest.fixture
def spread(territory, cats):
    """One appeal in March 2026 for each region, department (and none) and category below,
    whose names sort otherwise than the tree, the codes and the configured order do."""
    t = territory
    renamed = ((t.comm_a, "幸福社区"), (t.comm_b, "光明社区"), (t.comm_c, "东风社区"))
    for region, name in renamed:
        Region.objects.filter(pk=region.pk).update(name=name)
    health = Department.objects.create(code="D-AB", name="卫生健康委员会", region=t.district)
    police = Department.objects.create(code="D-ZZ", name="公安分局", region=t.district)
    # Configured order of the top-level categories, edited: 安全隐患 moved first.
    Category.objects.filter(pk=cats.fire.parent_id).update(order=0)
    Category.objects.filter(pk=cats.sanitation.parent_id).update(order=4)
    places = [t.street, t.comm_a, t.comm_b, t.street2, t.comm_c]
    departments = [health, t.dept, police, None, None]
    categories = [cats.sanitation, cats.utilities, cats.illegal, cats.fire, cats.fire]
    for i, (region, department, category) in enumerate(
        zip(places, departments, categories, strict=True)
    ):
        appeal = Appeal(
            region=region,
            category=category,
            channel=Channel.HOTLINE,
            description=f"第{i}件",
            status=Status.REGISTERED,
            created_at=local(2026, 3, 10 + i, 10, 0),
            assigned_department=department,
        )
        appeal.fill_derived()
        appeal.save()


REGIONS = ["三里堡街道", "幸福社区", "光明社区", "繁塔街道", "东风社区"]
DEPARTMENTS = ["卫生健康委员会", "城市管理局", "公安分局", "未派部门"]
CATEGORIES = ["安全隐患", "设施维护", "违法建设", "市容环境"]


def labels(actor, group_by: str) -> list[str]:
    result = sel.appeal_stats(
        actor=actor,
        group_by=group_by,
        period=None,
        start=local(2026, 3, 1, 0, 0),
        end=local(2026, 4, 1, 0, 0),
        now=local(2026, 4, 1, 0, 0),
    )
    return [str(row.label) for row in result["rows"]]


def test_region_rows_follow_the_region_tree(personas, spread):
    assert labels(personas.admin, "region") == REGIONS


def test_department_rows_follow_department_codes_with_no_department_last(personas, spread):
    assert labels(personas.admin, "department") == DEPARTMENTS


def test_category_rows_follow_the_configured_order(personas, spread):
    assert labels(personas.admin, "category") == CATEGORIES


def test_api_stats_rows_come_in_the_same_order(client, personas, spread):
    _, token = token_create(user=personas.admin, name="test")
    body = client.get(
        "/api/v1/appeals/stats",
        {"group_by": "region", "start": MARCH["start"], "end": MARCH["end"]},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    ).json()
    assert [row["label"] for row in body["rows"]] == REGIONS


def page(user, group_by: str, **headers: str) -> str:
    client = Client()
    client.force_login(user)
    # The request activates its language in this thread: give the next tests theirs back.
    with translation.override(translation.get_language()):
        response = client.get(reverse("appeals:stats"), {**MARCH, "group_by": group_by}, **headers)
    assert response.status_code == 200
    return response.content.decode()


def first_cells(html: str) -> list[str]:
    return re.findall(r"<td data-label=\"([^\"]*)\">(?:<strong>)?([^<]*)<", html)


@pytest.mark.parametrize(
    ("group_by", "heading"),
    [
        ("region", "辖区"),
        ("department", "部门"),
        ("category", "分类"),
        ("month", "受理月份"),
        ("none", "统计范围"),
    ],
)
def test_first_column_is_headed_with_what_the_rows_are(personas, spread, group_by, heading):
    html = page(personas.admin, group_by)
    assert re.search(r"<thead><tr><th>([^<]*)</th>", html).group(1) == heading
    # On a phone each row's first cell is labelled alike, the total's too.
    shown = [label for label, _value in first_cells(html) if label == heading]
    rows = {"region": 5, "department": 4, "category": 4, "month": 1, "none": 0}[group_by]
    assert len(shown) == rows + 1
    assert "分组" not in html.split("<table", 1)[1]


def test_page_lists_regions_in_the_tree_order(personas, spread):
    html = page(personas.admin, "region")
    assert [value for label, value in first_cells(html) if label == "辖区"] == [*REGIONS, "合计"]


def test_first_column_heading_is_translated(personas, spread):
    html = page(personas.admin, "department", HTTP_ACCEPT_LANGUAGE="en")
    assert re.search(r"<thead><tr><th>([^<]*)</th>", html).group(1) == "Department"


def test_received_status_reads_apart_from_the_handlers_acknowledgement_in_english():
    """已受理 (taken in, no one has acted yet) is not "Accepted", which reads as the handler's
    签收; the stats count and the intake time say "received" too."""

    with translation.override("en"):
        assert str(Status.RECEIVED.label) == "Received"
        assert str(Action.ACCEPT.label) == "Acknowledge"
        assert str(Appeal._meta.get_field("created_at").verbose_name) == "Received at"
        assert "Accepted" not in {str(label) for label in Status.labels}


def test_filters_sent_without_a_period_show_the_month_they_count(personas, spread):
    # Grouped by category with no period: the figures are this month's, and so is the menu.
    client = Client()
    client.force_login(personas.admin)
    html = client.get(reverse("appeals:stats"), {"group_by": "category"}).content.decode()
    assert re.search(r'<option value="month" selected>', html)
    assert not re.search(r'<option value="today" selected>', html)
