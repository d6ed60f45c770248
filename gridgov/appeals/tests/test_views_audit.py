"""HTTP audit, staff pages: odd coordinates in the duplicate hint are no 500, and a merged
case's page names the case it went into only to those who may open it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from gridgov.appeals import selectors as sel
from gridgov.appeals import services as s
from gridgov.appeals.tests.conftest import POINT_A, POINT_B
from gridgov.appeals.tests.helpers import new_appeal


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        ("nan", "nan"),
        ("inf", "114.355"),
        ("-inf", "-inf"),
        ("1e308", "1e308"),
        ("34.755", "NaN"),
        ("91", "114.355"),
        ("34.755", "-180.5"),
    ],
)
def test_duplicate_hint_treats_unusable_coordinates_as_absent(personas, cats, latitude, longitude):
    response = as_user(personas.operator).post(
        reverse("appeals:hotline_duplicates"),
        {"category": cats.sanitation.pk, "latitude": latitude, "longitude": longitude},
    )
    assert response.status_code == 200
    assert "选择社区或填写坐标后自动查重" in response.content.decode()


@pytest.mark.django_db
def test_duplicate_hint_still_finds_candidates_at_a_usable_point(personas, cats):
    appeal = new_appeal(personas.grid_worker, cats.sanitation, description="垃圾桶满了没人清运")
    response = as_user(personas.operator).post(
        reverse("appeals:hotline_duplicates"),
        {"category": cats.sanitation.pk, "latitude": POINT_A[0], "longitude": POINT_A[1]},
    )
    assert response.status_code == 200 and appeal.tracking_code in response.content.decode()


@pytest.fixture
def merged(personas, cats):
    """A report in community A merged into a case in community B."""
    primary = new_appeal(personas.admin, cats.sanitation, description="B区垃圾", point=POINT_B)
    dup = new_appeal(personas.grid_worker, cats.sanitation, description="A区垃圾")
    s.appeal_merge(actor=personas.admin, appeal=primary, duplicates=[dup])
    dup.refresh_from_db()
    return primary, dup


@pytest.mark.django_db
def test_merged_case_hides_the_primary_code_from_a_viewer_who_cannot_open_it(
    personas, merged, monkeypatch
):
    primary, dup = merged
    calls = []
    real = sel.visible_ids
    monkeypatch.setattr(sel, "visible_ids", lambda *a: calls.append(a) or real(*a))
    page = as_user(personas.worker_a).get(reverse("appeals:detail", args=[dup.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert primary.tracking_code not in html
    assert "并入另一诉求" in html
    assert reverse("appeals:detail", args=[primary.pk]) not in html
    # The primary's visibility is one query for the page (the timeline's merge rows and the
    # 重复于 line together), not one per history row.
    assert len(calls) == 1


@pytest.mark.django_db
def test_merged_case_names_the_primary_to_a_viewer_who_can_open_it(personas, merged):
    primary, dup = merged
    html = as_user(personas.admin).get(reverse("appeals:detail", args=[dup.pk])).content.decode()
    assert f"并入 {primary.tracking_code}" in html
    assert reverse("appeals:detail", args=[primary.pk]) in html
