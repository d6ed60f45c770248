"""The reporter of a merged duplicate rates the joint case's handling (评价合并办理结果)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from gridgov.appeals import selectors as sel
from gridgov.appeals import services as s
from gridgov.appeals.models import Action, Appeal, AppealEvent, Channel, Rating, Status
from gridgov.core.errors import Conflict, ValidationFailed

pytestmark = pytest.mark.django_db

LATE_PHONE = "13900000002"


def _report(cats, phone: str) -> Appeal:
    return s.appeal_intake(
        actor=None,
        channel=Channel.SELF_SERVICE,
        category=cats.lift,
        description="3号楼电梯坏了",
        latitude=34.7550,
        longitude=114.3550,
        reporter_phone=phone,
    )


@pytest.fixture
def joint(personas, cats, territory):
    """A joint case (first) with one merged duplicate, dispatched and accepted."""
    p = personas
    first, dup = _report(cats, "13900000001"), _report(cats, LATE_PHONE)
    s.appeal_merge(actor=p.operator, appeal=first, duplicates=[dup])
    s.appeal_register(actor=p.operator, appeal=first)
    s.appeal_dispatch(actor=p.operator, appeal=first, grid=territory.grid_a)
    s.appeal_accept(actor=p.grid_worker, appeal=first)
    dup.refresh_from_db()
    return first, dup


def _rate(dup: Appeal, rating: str = Rating.UNSATISFIED, phone: str = LATE_PHONE) -> Appeal:
    return s.appeal_verify(
        actor=None,
        appeal=dup.pk,
        rating=rating,
        resolved=False,
        comment="电梯还是时好时坏",
        tracking_code=dup.tracking_code,
        reporter_phone=phone,
    )


def _rating_events(appeal: Appeal) -> int:
    return AppealEvent.objects.filter(appeal=appeal, action=Action.RATE_MERGED).count()


def test_a_merged_reporter_rates_the_joint_handling_once_per_handling(personas, joint):
    p = personas
    first, dup = joint
    # Before the joint case is handled there is nothing to rate.
    with pytest.raises(Conflict) as early:
        _rate(dup)
    assert early.value.status == 409 and "尚未办理完毕" in str(early.value.message)
    s.appeal_handle(actor=p.grid_worker, appeal=first, result="电梯已修复")
    # The code is no proof alone: the number on file must come with it.
    with pytest.raises(ValidationFailed) as wrong:
        _rate(dup, phone="13900000009")
    assert wrong.value.field == "reporter_phone"
    assert Appeal.objects.get(pk=dup.pk).rating == "" and _rating_events(dup) == 0

    rated = _rate(dup)
    assert (rated.status, rated.rating, rated.resolved) == (
        Status.MERGED,
        Rating.UNSATISFIED,
        False,
    )
    assert rated.rating_comment == "电梯还是时好时坏"
    event = AppealEvent.objects.get(appeal=dup, action=Action.RATE_MERGED)
    assert event.from_status == event.to_status == Status.MERGED
    assert event.data["rating"] == Rating.UNSATISFIED
    # The joint case's own 回访 and its rating are untouched.
    first.refresh_from_db()
    assert (first.status, first.rating) == (Status.HANDLED, "")
    assert not s.may_rate_merged(Appeal.objects.get(pk=dup.pk))
    with pytest.raises(Conflict) as twice:
        _rate(dup, Rating.SATISFIED)
    assert "已评价" in str(twice.value.message)
    assert Appeal.objects.get(pk=dup.pk).rating == Rating.UNSATISFIED

    # Reworked and handled again: a new outcome, rated anew; the first rating stays in history.
    s.appeal_verify(actor=p.worker_a, appeal=first, rating=Rating.UNSATISFIED, resolved=False)
    s.appeal_reopen(actor=p.worker_a, appeal=first, reason="居民不满意")
    assert not s.may_rate_merged(Appeal.objects.get(pk=dup.pk))
    s.appeal_handle(actor=p.grid_worker, appeal=first, result="已更换控制板")
    assert s.may_rate_merged(Appeal.objects.get(pk=dup.pk))
    assert _rate(dup, Rating.SATISFIED).rating == Rating.SATISFIED
    assert _rating_events(dup) == 2


def test_staff_still_cannot_verify_a_merged_duplicate(personas, joint):
    p = personas
    first, dup = joint
    s.appeal_handle(actor=p.grid_worker, appeal=first, result="电梯已修复")
    with pytest.raises(Conflict):
        s.appeal_verify(actor=p.worker_a, appeal=dup, rating=Rating.SATISFIED, resolved=True)
    assert Appeal.objects.get(pk=dup.pk).rating == "" and _rating_events(dup) == 0


def test_a_merged_rating_does_not_count_in_the_rates(personas, joint):
    p = personas
    first, dup = joint
    s.appeal_handle(actor=p.grid_worker, appeal=first, result="电梯已修复")
    _rate(dup, Rating.UNSATISFIED)
    total = sel.appeal_stats(actor=p.operator, period="month")["total"]
    assert total.received == 1 and total.unsatisfied == 0


def test_the_tracking_page_and_the_api_let_a_merged_reporter_rate(personas, joint):
    p = personas
    first, dup = joint
    code = dup.tracking_code
    page = reverse("appeals:track_code", args=[code])
    rate_url = reverse("appeals:track_act", args=[code, "rate"])
    resident = Client()
    assert rate_url not in resident.get(page).content.decode()
    s.appeal_handle(actor=p.grid_worker, appeal=first, result="电梯已修复")
    assert rate_url in resident.get(page).content.decode()
    body = {"rating": Rating.BASIC, "resolved": "1", "reporter_phone": LATE_PHONE}
    answer = resident.post(rate_url, body)
    assert answer.status_code == 302, answer.content.decode()[:500]
    assert Appeal.objects.get(pk=dup.pk).rating == Rating.BASIC
    after = resident.get(page).content.decode()
    assert rate_url not in after and "基本满意" in after
    # Staff see the merged reporter's rating beside the duplicate on the joint case.
    staff = Client()
    staff.force_login(p.worker_a)
    detail = staff.get(reverse("appeals:detail", args=[first.pk])).content.decode()
    assert "muted rating-basic" in detail and "反映人评价：基本满意" in detail


def test_the_public_api_rates_a_merged_duplicate(personas, joint):
    p = personas
    first, dup = joint
    url = f"/api/v1/appeals/public/{dup.tracking_code}"
    client = Client()
    assert client.get(url).json()["can_rate"] is False
    s.appeal_handle(actor=p.grid_worker, appeal=first, result="电梯已修复")
    assert client.get(url).json()["can_rate"] is True
    body = {"rating": "satisfied", "resolved": True, "reporter_phone": LATE_PHONE}
    rated = client.post(f"{url}/rate", json.dumps(body), content_type="application/json")
    assert rated.status_code == 200, rated.content
    assert rated.json()["rating"] == "satisfied" and rated.json()["can_rate"] is False
    again = client.post(f"{url}/rate", json.dumps(body), content_type="application/json")
    assert again.status_code == 409


@pytest.mark.browser
def test_a_merged_reporter_rates_on_a_phone(live_server, browser, personas, joint):
    from gridgov.appeals.tests.test_browser import OVERFLOW, phone
    from gridgov.conftest import screenshot

    first, dup = joint
    s.appeal_handle(actor=personas.grid_worker, appeal=first, result="电梯已修复")
    ctx, me = phone(browser)
    try:
        me.goto(f"{live_server.url}/appeals/track/{dup.tracking_code}/")
        assert me.locator("#merged-status").inner_text() == "已处置"
        me.get_by_label("不满意").check()
        me.get_by_label("未解决").check()
        me.fill("#rate-form input[name=reporter_phone]", LATE_PHONE)
        screenshot(me, "appeals-merged-rate-phone")
        with me.expect_navigation():
            me.click("#rate-form button[type=submit]")
        assert "感谢您的评价" in me.locator(".messages").inner_text()
        assert me.locator("#rate-form").count() == 0
        screenshot(me, "appeals-merged-rated-phone")
        assert me.evaluate(OVERFLOW) <= 0
    finally:
        ctx.close()
    assert Appeal.objects.get(pk=dup.pk).rating == Rating.UNSATISFIED
