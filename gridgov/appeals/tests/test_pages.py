"""The appeal pages through Django's test client: who sees what, forms, errors, scenarios."""

from __future__ import annotations

import io
import itertools

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from gridgov.accounts.models import PiiAccessLog
from gridgov.appeals import forms as f
from gridgov.appeals import services as s
from gridgov.appeals.models import (
    Action,
    Appeal,
    AppealEvent,
    AppealPhoto,
    Channel,
    Notification,
    Rating,
    Status,
)
from gridgov.appeals.tests.conftest import POINT_A, POINT_B
from gridgov.appeals.tests.helpers import new_appeal
from gridgov.territory.models import Department

_ips = itertools.count(1)


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Rate-limit counters in a private in-memory cache (never a shared Redis)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "appeal-pages",
        }
    }
    from django.core.cache import cache

    cache.clear()


def anon() -> Client:
    """A fresh anonymous client with its own address (rate limits count per IP)."""
    return Client(REMOTE_ADDR=f"10.9.{next(_ips) // 250}.{next(_ips) % 250 + 1}")


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def png_file(name: str = "p.png"):
    buf = io.BytesIO()
    Image.new("RGB", (20, 16), (10, 120, 200)).save(buf, format="PNG")
    buf.seek(0)
    buf.name = name
    return buf


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def appeal_a(personas, cats):
    """A registered appeal in community A (grid A) with a reporter."""
    appeal = new_appeal(
        personas.grid_worker,
        cats.sanitation,
        description="垃圾桶满了没人清运",
        reporter_name="王小明",
        reporter_phone="13800138000",
    )
    return s.appeal_register(actor=personas.grid_worker, appeal=appeal)


# ---------------------------------------------------------------- access


STAFF_PAGES = ["queue", "hotline", "supervision", "stats", "my_tasks", "inbox", "grid_report"]


@pytest.mark.parametrize("name", STAFF_PAGES)
def test_staff_pages_send_anonymous_visitors_to_login(name, personas):
    response = anon().get(reverse(f"appeals:{name}"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    "name,persona",
    [
        ("queue", "worker_a"),
        ("queue", "handler"),
        ("hotline", "operator"),
        ("supervision", "operator"),
        ("stats", "street_official"),
        ("my_tasks", "grid_worker"),
        ("inbox", "handler"),
        ("grid_report", "grid_worker"),
    ],
)
def test_staff_pages_render_for_allowed_persona(name, persona, personas, cats):
    response = as_user(getattr(personas, persona)).get(reverse(f"appeals:{name}"))
    assert response.status_code == 200
    assert "<h1>" in text(response)


def test_pages_refuse_personas_without_the_capability(personas, cats):
    assert as_user(personas.handler).get(reverse("appeals:hotline")).status_code == 403
    assert as_user(personas.worker_a).get(reverse("appeals:supervision")).status_code == 403
    assert as_user(personas.resident).get(reverse("appeals:queue")).status_code == 403


def test_worker_of_community_b_gets_404_on_community_a_appeal(personas, appeal_a):
    client = as_user(personas.worker_b)
    assert client.get(reverse("appeals:detail", args=[appeal_a.pk])).status_code == 404
    response = client.post(
        reverse("appeals:act", args=[appeal_a.pk, "reject"]), {"reject-reason": "无效"}
    )
    assert response.status_code == 404
    appeal_a.refresh_from_db()
    assert appeal_a.status == Status.REGISTERED
    # …and the queue of B does not list it.
    assert appeal_a.tracking_code not in text(client.get(reverse("appeals:queue")))
    assert appeal_a.tracking_code in text(as_user(personas.worker_a).get(reverse("appeals:queue")))


def test_detail_masks_reporter_and_reveal_is_logged(personas, appeal_a):
    client = as_user(personas.worker_a)
    page = text(client.get(reverse("appeals:detail", args=[appeal_a.pk])))
    assert "13800138000" not in page and "王小明" not in page
    assert "138****8000" in page
    # Without a reason: field error, nothing revealed, nothing logged.
    response = client.post(reverse("appeals:reveal", args=[appeal_a.pk]), {"reason": ""})
    assert response.status_code == 400 and "13800138000" not in text(response)
    assert PiiAccessLog.objects.count() == 0
    response = client.post(reverse("appeals:reveal", args=[appeal_a.pk]), {"reason": "回访核实"})
    assert response.status_code == 200 and "13800138000" in text(response)
    assert PiiAccessLog.objects.filter(actor=personas.worker_a, reason="回访核实").count() == 1


def test_detail_offers_only_actions_the_user_may_take(personas, appeal_a):
    worker = text(as_user(personas.worker_a).get(reverse("appeals:detail", args=[appeal_a.pk])))
    assert 'id="action-dispatch"' in worker and 'id="action-whistle"' in worker
    assert 'id="action-handle"' not in worker  # registered, not yet accepted
    # The department does not see a case that was neither dispatched nor whistled to it.
    assert (
        as_user(personas.handler).get(reverse("appeals:detail", args=[appeal_a.pk])).status_code
        == 404
    )


# ---------------------------------------------------------------- residents


def test_resident_reports_without_account_and_gets_tracking_code(personas, cats):
    client = anon()
    page = client.get(reverse("appeals:report"))
    assert page.status_code == 200 and "data-locate" in text(page)
    response = client.post(
        reverse("appeals:report"),
        {
            "category": cats.lift.pk,
            "description": "3号楼电梯停运",
            "latitude": POINT_A[0],
            "longitude": POINT_A[1],
            "photos": png_file(),
            "reporter_phone": "13900001111",
            "idempotency_key": "k-1",
        },
    )
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.channel == Channel.SELF_SERVICE and appeal.grid is not None
    assert AppealPhoto.objects.filter(appeal=appeal).count() == 1
    done = client.get(response["Location"])
    assert appeal.tracking_code in text(done)
    assert reverse("appeals:track_code", args=[appeal.tracking_code]) in text(done)
    # The phone retried the same submission: still one case.
    again = client.post(
        reverse("appeals:report"),
        {
            "category": cats.lift.pk,
            "description": "3号楼电梯停运",
            "latitude": POINT_A[0],
            "longitude": POINT_A[1],
            "photos": png_file(),
            "reporter_phone": "13900001111",
            "idempotency_key": "k-1",
        },
    )
    assert again.status_code == 302 and appeal.tracking_code in again["Location"]
    assert Appeal.objects.count() == 1


def test_resident_report_bad_input_names_field_keeps_input_changes_nothing(personas, cats):
    client = anon()
    response = client.post(
        reverse("appeals:report"),
        {"category": cats.lift.pk, "description": "电梯坏了", "reporter_phone": "abc"},
    )
    assert response.status_code == 400
    body = text(response)
    assert "请点击“使用我的位置”或填写地址" in body
    assert "电梯坏了" in body  # what they typed is still there
    response = client.post(
        reverse("appeals:report"),
        {
            "category": cats.lift.pk,
            "description": "电梯坏了",
            "address": "1号楼",
            "reporter_phone": "abc",
        },
    )
    assert response.status_code == 400 and "联系电话格式不正确" in text(response)
    response = client.post(
        reverse("appeals:report"),
        {
            "category": cats.lift.pk,
            "description": "电梯坏了",
            "address": "1号楼",
            "photos": io.BytesIO(b"not an image"),
        },
    )
    assert response.status_code == 400
    assert Appeal.objects.count() == 0


def test_anonymous_report_is_rate_limited_with_a_readable_page(personas, cats, settings):
    settings.GRIDGOV_ANON_RATE_PER_MINUTE = 2
    client = anon()
    data = {"category": cats.lift.pk, "description": "电梯坏了", "address": "1号楼"}
    assert client.post(reverse("appeals:report"), data).status_code == 302
    assert client.post(reverse("appeals:report"), data).status_code == 302
    response = client.post(reverse("appeals:report"), data)
    assert response.status_code == 429
    assert "请求过于频繁" in text(response) and response["Retry-After"]
    assert Appeal.objects.count() == 2


def test_track_by_code_shows_public_timeline_without_staff_or_personal_data(personas, appeal_a):
    s.appeal_dispatch(actor=personas.worker_a, appeal=appeal_a, grid=appeal_a.grid)
    response = anon().get(reverse("appeals:track") + f"?code={appeal_a.tracking_code.lower()}")
    assert response.status_code == 302
    page = text(anon().get(response["Location"]))
    assert "已派遣" in page and "立案" in page
    for secret in ("13800138000", "王小明", "worker_a", "grid_a", "A社区第一网格"):
        assert secret not in page
    missing = anon().get(reverse("appeals:track") + "?code=NOPE234567")
    assert missing.status_code == 404 and "查询码不存在" in text(missing)


def test_resident_rates_handled_case_and_cannot_rate_twice(personas, appeal_a, territory):
    w = personas.worker_a
    s.appeal_dispatch(actor=w, appeal=appeal_a, region=territory.comm_a)
    s.appeal_accept(actor=w, appeal=appeal_a)
    s.appeal_handle(actor=w, appeal=appeal_a, result="已清运")
    code = appeal_a.tracking_code
    client = anon()
    page = text(client.get(reverse("appeals:track_code", args=[code])))
    assert 'id="rate-form"' in page and "已清运" in page
    bad = client.post(reverse("appeals:track_act", args=[code, "rate"]), {"rate-rating": ""})
    assert bad.status_code == 400
    appeal_a.refresh_from_db()
    assert appeal_a.status == Status.HANDLED
    rating = {"rating": Rating.SATISFIED, "resolved": "1", "comment": "很快"}
    no_phone = client.post(reverse("appeals:track_act", args=[code, "rate"]), rating)
    assert no_phone.status_code == 400 and "联系电话" in text(no_phone)
    wrong = client.post(
        reverse("appeals:track_act", args=[code, "rate"]),
        {**rating, "reporter_phone": "13800138001"},
    )
    assert wrong.status_code == 400 and "不一致" in text(wrong)
    appeal_a.refresh_from_db()
    assert appeal_a.status == Status.HANDLED
    ok = client.post(
        reverse("appeals:track_act", args=[code, "rate"]),
        {**rating, "reporter_phone": "13800138000"},
    )
    assert ok.status_code == 302
    appeal_a.refresh_from_db()
    assert appeal_a.status == Status.VERIFIED and appeal_a.rating == Rating.SATISFIED
    again = client.post(
        reverse("appeals:track_act", args=[code, "rate"]),
        {"rating": Rating.UNSATISFIED, "resolved": "0", "reporter_phone": "13800138000"},
    )
    assert again.status_code == 409 and "当前状态不允许此操作" in text(again)
    appeal_a.refresh_from_db()
    assert appeal_a.rating == Rating.SATISFIED


def test_resident_withdraws_with_code(personas, appeal_a):
    client = anon()
    response = client.post(
        reverse("appeals:track_act", args=[appeal_a.tracking_code, "withdraw"]),
        {"note": "已自行解决", "reporter_phone": "13800138000"},
    )
    assert response.status_code == 302
    appeal_a.refresh_from_db()
    assert appeal_a.status == Status.WITHDRAWN
    page = text(client.get(response["Location"]))
    assert "撤回诉求" not in page  # no longer offered


# ---------------------------------------------------------------- grid worker


def test_grid_worker_report_picks_grid_from_point_and_registers(personas, cats, territory):
    client = as_user(personas.grid_worker)
    response = client.post(
        reverse("appeals:grid_report"),
        {
            "category": cats.illegal.pk,
            "description": "邻居违建挡光",
            "latitude": POINT_A[0],
            "longitude": POINT_A[1],
            "photos": [png_file("a.png"), png_file("b.png")],
            "reporter_name": "王先生",
            "channel": Channel.DOORSTEP,
        },
    )
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.grid == territory.grid_a and appeal.status == Status.REGISTERED
    assert appeal.channel == Channel.DOORSTEP
    assert appeal.photos.count() == 2
    page = text(client.get(response["Location"]))
    assert "A社区第一网格" in page and "已上报并立案" in page


def test_grid_worker_report_without_location_changes_nothing(personas, cats):
    client = as_user(personas.grid_worker)
    response = client.post(
        reverse("appeals:grid_report"),
        {"category": cats.illegal.pk, "description": "违建"},
    )
    assert response.status_code == 400 and "获取当前位置" in text(response)
    outside = client.post(
        reverse("appeals:grid_report"),
        {"category": cats.illegal.pk, "description": "违建", "latitude": 1, "longitude": 1},
    )
    assert outside.status_code == 400 and "不在任何网格内" in text(outside)
    assert Appeal.objects.count() == 0


def test_my_tasks_lists_my_grid_cases_with_deadline_colour(personas, appeal_a, cats):
    other = s.appeal_register(
        actor=personas.worker_b,
        appeal=new_appeal(personas.worker_b, cats.sanitation, point=POINT_B),
    )
    page = text(as_user(personas.grid_worker).get(reverse("appeals:my_tasks")))
    assert appeal_a.tracking_code in page and other.tracking_code not in page
    assert "badge green" in page
    # Sent to community A and not yet accepted: on the community worker's list.
    assert appeal_a.tracking_code not in text(
        as_user(personas.worker_a).get(reverse("appeals:my_tasks"))
    )
    s.appeal_dispatch(actor=personas.worker_a, appeal=appeal_a, region=appeal_a.region)
    assert appeal_a.tracking_code in text(
        as_user(personas.worker_a).get(reverse("appeals:my_tasks"))
    )
    assert appeal_a.tracking_code not in text(
        as_user(personas.worker_b).get(reverse("appeals:my_tasks"))
    )


# ---------------------------------------------------------------- operator


def test_hotline_registers_and_dispatches_in_one_submission(personas, cats, territory):
    client = as_user(personas.operator)
    page = text(client.get(reverse("appeals:hotline")))
    assert "hx-post" in page and "facility.sewer" not in page and "下水管道" in page
    response = client.post(
        reverse("appeals:hotline"),
        {
            "reporter_phone": "13700001111",
            "reporter_name": "李",
            "category": cats.sewer.pk,
            "priority": "",
            "region": territory.comm_a.pk,
            "address": "47.49号院",
            "description": "下水管道破裂",
            "register": "on",
            "target": f"d:{territory.dept.pk}",
        },
    )
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.channel == Channel.HOTLINE and appeal.status == Status.DISPATCHED
    assert appeal.assigned_department == territory.dept
    assert list(appeal.events.values_list("action", flat=True)) == [
        Action.INTAKE,
        Action.REGISTER,
        Action.DISPATCH,
    ]
    assert appeal.tracking_code in text(client.get(response["Location"]))


@pytest.mark.parametrize(
    ("page", "user", "channel"),
    [
        ("appeals:hotline", "operator", Channel.MEETING),
        ("appeals:hotline", "worker_a", Channel.REPRESENTATIVE),
        ("appeals:grid_report", "grid_worker", Channel.MEETING),
        ("appeals:grid_report", "grid_worker", Channel.REPRESENTATIVE),
    ],
)
def test_meeting_and_representative_matters_are_registered_under_their_channel(
    personas, cats, territory, page, user, channel
):
    client = as_user(getattr(personas, user))
    assert f'value="{channel}"' in text(client.get(reverse(page)))
    response = client.post(
        reverse(page),
        {
            "category": cats.sanitation.pk,
            "description": "议事会上居民提出：垃圾清运不及时",
            "latitude": POINT_A[0],
            "longitude": POINT_A[1],
            "register": "on",
            "channel": channel,
        },
    )
    assert response.status_code == 302, text(response)[:2000]
    assert Appeal.objects.get().channel == channel


def test_hotline_bad_input_changes_nothing_and_keeps_typing(personas, cats, territory):
    client = as_user(personas.operator)
    response = client.post(
        reverse("appeals:hotline"),
        {"category": cats.sewer.pk, "description": "下水管道破裂", "reporter_phone": "12a"},
    )
    assert response.status_code == 400
    body = text(response)
    assert "请选择所属社区或填写坐标" in body and "下水管道破裂" in body
    # A dispatch target outside the worker's jurisdiction: the whole submission is undone.
    worker = as_user(personas.worker_b)
    response = worker.post(
        reverse("appeals:hotline"),
        {
            "category": cats.sewer.pk,
            "description": "漏水",
            "latitude": POINT_B[0],
            "longitude": POINT_B[1],
            "register": "on",
            "target": f"g:{territory.grid_a.pk}",
        },
    )
    assert response.status_code == 400 and "target" in response.context["form"].errors
    assert "漏水" in text(response)
    # A target the service refuses (register unticked): the whole submission is undone.
    response = as_user(personas.operator).post(
        reverse("appeals:hotline"),
        {
            "category": cats.sewer.pk,
            "description": "漏水",
            "region": territory.comm_a.pk,
            "target": f"d:{territory.dept.pk}",
        },
    )
    assert response.status_code == 400 and "派遣前须先立案" in text(response)
    assert Appeal.objects.count() == 0


def test_hotline_duplicate_partial_lists_nearby_same_category(personas, cats, appeal_a, territory):
    client = as_user(personas.operator)
    url = reverse("appeals:hotline_duplicates")
    response = client.post(
        url,
        {
            "category": cats.sanitation.pk,
            "latitude": POINT_A[0] + 0.0002,
            "longitude": POINT_A[1],
            "description": "垃圾没人清运",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert appeal_a.tracking_code in text(response) and "<html" not in text(response)
    other = client.post(
        url, {"category": cats.lift.pk, "latitude": POINT_A[0], "longitude": POINT_A[1]}
    )
    assert appeal_a.tracking_code not in text(other)
    # A caller with an address only: same category in the chosen community, last 48 h.
    by_region = client.post(
        url, {"category": cats.sanitation.pk, "region": appeal_a.region_id, "description": "垃圾"}
    )
    assert appeal_a.tracking_code in text(by_region) and " 米" not in text(by_region)
    elsewhere = client.post(url, {"category": cats.sanitation.pk, "region": territory.comm_b.pk})
    assert appeal_a.tracking_code not in text(elsewhere)
    # Out of the operator's reach: worker_b sees nothing of A's cases.
    hidden = as_user(personas.worker_b).post(
        url, {"category": cats.sanitation.pk, "latitude": POINT_A[0], "longitude": POINT_A[1]}
    )
    assert appeal_a.tracking_code not in text(hidden)
    hidden = as_user(personas.worker_b).post(
        url, {"category": cats.sanitation.pk, "region": appeal_a.region_id}
    )
    assert appeal_a.tracking_code not in text(hidden)


def test_hotline_duplicate_check_also_notes_its_finding_above_the_button(personas, cats, appeal_a):
    """On a phone the panel comes after the form: the answer also replaces the note above
    the submit button (out of band), with the count, or empties it."""
    client = as_user(personas.operator)
    url = reverse("appeals:hotline_duplicates")
    near = {"category": cats.sanitation.pk, "latitude": POINT_A[0], "longitude": POINT_A[1]}
    found = text(client.post(url, near, HTTP_HX_REQUEST="true"))
    assert '<p id="dup-note" class="dup-note" aria-live="polite" hx-swap-oob="true">' in found
    assert '<a href="#duplicates">发现 1 件疑似重复，请先查看</a>' in found
    none = text(client.post(url, {**near, "category": cats.lift.pk}, HTTP_HX_REQUEST="true"))
    assert 'hx-swap-oob="true"></p>' in none and "请先查看" not in none
    # The page itself starts with an empty note and no out-of-band copy.
    page = text(client.get(reverse("appeals:hotline")))
    assert page.count('id="dup-note"') == 1 and "hx-swap-oob" not in page


# ---------------------------------------------------------------- queue


def test_queue_filters_by_status_and_colour(personas, appeal_a, cats):
    fresh = new_appeal(personas.grid_worker, cats.lift, description="电梯")
    client = as_user(personas.worker_a)
    page = text(client.get(reverse("appeals:queue"), {"status": Status.RECEIVED}))
    assert fresh.tracking_code in page and appeal_a.tracking_code not in page
    red = text(client.get(reverse("appeals:queue"), {"colour": "red"}))
    assert fresh.tracking_code not in red
    Appeal.objects.filter(pk=appeal_a.pk).update(
        deadline=appeal_a.created_at, amber_at=appeal_a.created_at
    )
    red = text(client.get(reverse("appeals:queue"), {"colour": "red"}))
    assert appeal_a.tracking_code in red and "badge red" in red


def test_an_invalid_queue_filter_is_marked_and_the_others_still_apply(personas, appeal_a, cats):
    fresh = new_appeal(personas.grid_worker, cats.lift, description="电梯")
    client = as_user(personas.worker_a)
    answer = client.get(reverse("appeals:queue"), {"colour": "purple", "status": Status.RECEIVED})
    assert answer.status_code == 400
    page = text(answer)
    assert 'id="id_colour_error"' in page
    assert fresh.tracking_code in page and appeal_a.tracking_code not in page


def test_queue_finds_a_case_by_its_tracking_code_within_reach(personas, appeal_a, cats):
    other = new_appeal(personas.grid_worker, cats.lift, description="电梯")
    url = reverse("appeals:queue")
    link = reverse("appeals:detail", args=[appeal_a.pk])
    found = text(as_user(personas.worker_a).get(url, {"code": appeal_a.tracking_code.lower()}))
    assert link in found and other.tracking_code not in found
    # Outside the user's jurisdiction a code finds nothing.
    assert link not in text(as_user(personas.worker_b).get(url, {"code": appeal_a.tracking_code}))


def test_queue_pages_with_a_cursor(personas, cats):
    for i in range(3):
        new_appeal(personas.grid_worker, cats.lift, description=f"电梯{i}")
    from gridgov.appeals import views

    client = as_user(personas.worker_a)
    views_size, views.PAGE_SIZE = views.PAGE_SIZE, 2
    try:
        first = text(client.get(reverse("appeals:queue")))
        assert 'rel="next"' in first
        cursor = first.split("cursor=")[1].split('"')[0]
        second = text(client.get(reverse("appeals:queue") + f"?cursor={cursor}"))
        codes = list(Appeal.objects.order_by("pk").values_list("tracking_code", flat=True))
        assert codes[0] in second and codes[0] not in first and codes[2] in first
    finally:
        views.PAGE_SIZE = views_size


def test_bulk_dispatch_reports_failures_without_undoing_successes(personas, cats, territory):
    w = personas.worker_a
    ok1 = s.appeal_register(actor=w, appeal=new_appeal(w, cats.lift, description="一"))
    # Not registered yet (已受理): registered and dispatched in one step.
    received = new_appeal(w, cats.lift, description="二")
    rejected = s.appeal_reject(
        actor=w, appeal=new_appeal(w, cats.lift, description="三"), reason="无效"
    )
    client = as_user(w)
    response = client.post(
        reverse("appeals:bulk_dispatch"),
        {"ids": [ok1.pk, received.pk, rejected.pk], "target": f"d:{territory.dept.pk}"},
    )
    assert response.status_code == 302
    statuses = dict(Appeal.objects.values_list("pk", "status"))
    assert statuses[ok1.pk] == statuses[received.pk] == Status.DISPATCHED
    assert statuses[rejected.pk] == Status.REJECTED  # 409: it stays as it was
    actions = list(received.events.order_by("pk").values_list("action", flat=True))
    assert actions[-2:] == ["register", "dispatch"]
    page = text(client.get(response["Location"]))
    assert "成功 2 件，失败 1 件" in page and rejected.tracking_code in page
    # Nothing chosen: a message, nothing changes.
    response = client.post(reverse("appeals:bulk_dispatch"), {"target": f"d:{territory.dept.pk}"})
    assert "请至少选择一件诉求" in text(client.get(response["Location"]))


def test_a_bulk_dispatch_refused_keeps_the_ticked_cases_and_the_note(personas, cats):
    w = personas.worker_a
    one = s.appeal_register(actor=w, appeal=new_appeal(w, cats.lift, description="一"))
    two = s.appeal_register(actor=w, appeal=new_appeal(w, cats.lift, description="二"))
    client = as_user(w)
    response = client.post(
        reverse("appeals:bulk_dispatch"),
        {"ids": [one.pk, two.pk], "target": "", "note": "我的派遣说明XYZ"},
    )
    page = text(client.get(response["Location"]))
    assert "派遣至：" in page  # the field named
    assert f'value="{one.pk}" form="bulk-form" checked' in page
    assert f'value="{two.pk}" form="bulk-form" checked' in page
    assert 'value="我的派遣说明XYZ"' in page
    assert set(Appeal.objects.values_list("status", flat=True)) == {Status.REGISTERED}
    # Once shown, the page is fresh again.
    again = text(client.get(reverse("appeals:queue")))
    assert "checked" not in again and "我的派遣说明XYZ" not in again


# ---------------------------------------------------------------- actions on the detail page


def test_action_with_bad_input_names_field_and_changes_nothing(personas, appeal_a):
    client = as_user(personas.worker_a)
    url = reverse("appeals:act", args=[appeal_a.pk, "whistle"])
    response = client.post(url, {"whistle-note": "请城管来"})
    assert response.status_code == 400
    body = text(response)
    assert "请选择至少一个部门" in body and "请城管来" in body
    events = AppealEvent.objects.filter(appeal=appeal_a).count()
    response = client.post(
        reverse("appeals:act", args=[appeal_a.pk, "dispatch"]), {"dispatch-target": "g:999999"}
    )
    assert response.status_code == 400 and "请选择" in text(response)
    appeal_a.refresh_from_db()
    assert appeal_a.status == Status.REGISTERED
    assert AppealEvent.objects.filter(appeal=appeal_a).count() == events


def test_action_forbidden_by_state_answers_409_with_explanation(personas, appeal_a):
    client = as_user(personas.worker_a)
    response = client.post(
        reverse("appeals:act", args=[appeal_a.pk, "close"]), {"close-note": "结案"}
    )
    assert response.status_code == 409
    assert "当前状态不允许此操作" in text(response) and "结案" in text(response)


def test_merge_duplicates_from_detail(personas, cats, appeal_a):
    dup = new_appeal(personas.grid_worker, cats.sanitation, description="垃圾桶满了")
    client = as_user(personas.worker_a)
    page = text(client.get(reverse("appeals:detail", args=[appeal_a.pk])))
    assert dup.tracking_code in page and "合并到本件" in page
    response = client.post(reverse("appeals:merge", args=[appeal_a.pk]), {"duplicates": []})
    assert response.status_code == 400
    response = client.post(reverse("appeals:merge", args=[appeal_a.pk]), {"duplicates": [dup.pk]})
    assert response.status_code == 302
    dup.refresh_from_db()
    assert dup.status == Status.MERGED and dup.duplicate_of_id == appeal_a.pk
    # Sent again (twice pressed, or merged meanwhile by someone else): no candidate is left,
    # yet the form comes back with why and the note as typed.
    again = client.post(
        reverse("appeals:merge", args=[appeal_a.pk]),
        {"duplicates": [dup.pk], "note": "我写的合并说明"},
    )
    assert again.status_code == 400
    assert "所选的重复件已被合并或不再是疑似重复" in text(again)
    assert 'value="我写的合并说明"' in text(again)
    # Whoever may not merge is told so (403), not shown a silent page.
    refused = as_user(personas.grid_worker).post(
        reverse("appeals:merge", args=[appeal_a.pk]), {"duplicates": [dup.pk]}
    )
    assert refused.status_code == 403


def test_address_only_reports_of_one_place_are_proposed_and_merged(personas, cats, territory):
    # Two callers give an address in community A, no point: the second is proposed as a
    # duplicate of the first at intake, on its detail page and in the API, and merges.
    client = as_user(personas.operator)

    def call(description: str) -> Appeal:
        before = set(Appeal.objects.values_list("pk", flat=True))
        response = client.post(
            reverse("appeals:hotline"),
            {
                "category": cats.sanitation.pk,
                "region": territory.comm_a.pk,
                "address": "47.49号院3号楼",
                "description": description,
                "register": "on",
            },
        )
        assert response.status_code == 302, text(response)[:2000]
        return Appeal.objects.exclude(pk__in=before).get()

    first = call("3号楼门口垃圾堆了两天没人清运")
    second = call("3号楼门口垃圾没人清运")
    intake = second.events.get(action=Action.INTAKE)
    assert intake.data["duplicate_candidates"] == [first.pk]
    page = text(client.get(reverse("appeals:detail", args=[second.pk])))
    assert first.tracking_code in page and "合并到本件" in page
    api = as_user(personas.operator).get(f"/api/v1/appeals/{second.pk}/duplicates")
    assert [c["id"] for c in api.json()] == [first.pk]
    response = client.post(reverse("appeals:merge", args=[second.pk]), {"duplicates": [first.pk]})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == Status.MERGED and first.duplicate_of_id == second.pk


def test_supervision_lists_overdue_and_supervises(personas, appeal_a):
    Appeal.objects.filter(pk=appeal_a.pk).update(
        deadline=appeal_a.created_at, amber_at=appeal_a.created_at
    )
    client = as_user(personas.operator)
    page = text(client.get(reverse("appeals:supervision")))
    assert appeal_a.tracking_code in page and "badge red" in page
    response = client.post(
        reverse("appeals:act", args=[appeal_a.pk, "supervise"]),
        {"supervise-note": "请今日办结", "next": "/appeals/supervision/?show=red"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/appeals/supervision/?show=red"
    evil = client.post(
        reverse("appeals:act", args=[appeal_a.pk, "supervise"]),
        {"supervise-note": "再督", "next": "https://evil.example/"},
    )
    assert evil["Location"] == reverse("appeals:detail", args=[appeal_a.pk])
    appeal_a.refresh_from_db()
    assert appeal_a.supervision_count == 2
    assert appeal_a.tracking_code in text(
        client.get(reverse("appeals:supervision") + "?show=supervised")
    )


def test_stats_page_shows_rates_counters_and_formulas(personas, appeal_a):
    page = text(as_user(personas.street_official).get(reverse("appeals:stats")))
    assert "满意率 = (满意件数" in page and "按期办结率 =" in page
    assert 'id="count-received">1<' in page and 'id="count-closed">0<' in page
    bad = as_user(personas.street_official).get(reverse("appeals:stats") + "?period=ever")
    assert bad.status_code == 400


def test_inbox_lists_and_marks_read(personas, appeal_a, territory):
    s.appeal_dispatch(actor=personas.worker_a, appeal=appeal_a, department=territory.dept)
    note = Notification.objects.get(user=personas.handler)
    client = as_user(personas.handler)
    page = text(client.get(reverse("appeals:inbox")))
    assert appeal_a.tracking_code in page and "未读" in page
    # Someone else's notification cannot be marked through this form.
    other = Notification.objects.create(user=personas.worker_a, kind="other", text="x")
    client.post(reverse("appeals:inbox_read"), {"ids": [note.pk, other.pk]})
    note.refresh_from_db()
    other.refresh_from_db()
    assert note.read_at is not None and other.read_at is None
    # Staff open the case's page from the notification.
    assert f'href="{reverse("appeals:detail", args=[appeal_a.pk])}"' in page


def test_a_residents_inbox_links_to_the_tracking_page_and_offers_no_staff_tabs(personas, cats):
    """A resident cannot open the staff case page (404) nor the queues (403): their
    notifications open their report's tracking page, and the tabs are theirs only."""
    own = s.appeal_intake(
        actor=personas.resident,
        channel="self_service",
        category=cats.sanitation,
        description="楼道灯坏了",
        latitude=POINT_A[0],
        longitude=POINT_A[1],
    )
    Notification.objects.create(
        user=personas.resident,
        appeal=own,
        kind="other",
        text=f"您反映的问题已受理 {own.tracking_code}",
    )
    client = as_user(personas.resident)
    page = text(client.get(reverse("appeals:inbox")))
    track = reverse("appeals:track_code", args=[own.tracking_code])
    assert f'href="{track}"' in page
    assert reverse("appeals:detail", args=[own.pk]) not in page
    assert client.get(track).status_code == 200
    for staff_only in ("appeals:queue", "appeals:my_tasks", "appeals:grid_report"):
        assert f'href="{reverse(staff_only)}"' not in page
    # Staff keep the tabs their menu offers.
    staff = text(as_user(personas.worker_a).get(reverse("appeals:inbox")))
    assert f'href="{reverse("appeals:queue")}"' in staff


ODD_IDS = ["99999999999999999999", "²", "-3", "0x1f"]


@pytest.mark.parametrize("odd", ODD_IDS)
def test_odd_ids_in_forms_find_nothing_and_change_nothing(personas, cats, appeal_a, territory, odd):
    """Ids past a bigint, or digits int() refuses, answer as "no such row", never a 500."""
    client = as_user(personas.worker_a)
    s.appeal_dispatch(actor=personas.worker_a, appeal=appeal_a, department=territory.dept)
    handler = as_user(personas.handler)
    assert handler.post(reverse("appeals:inbox_read"), {"ids": [odd]}).status_code == 302
    assert Notification.objects.filter(user=personas.handler, read_at=None).exists()
    partial = client.post(
        reverse("appeals:hotline_duplicates"),
        {"category": odd, "region": odd, "latitude": POINT_A[0], "longitude": POINT_A[1]},
    )
    assert partial.status_code == 200 and "选择分类后自动查重" in text(partial)
    bulk = client.post(reverse("appeals:bulk_dispatch"), {"ids": [odd], "target": f"d:{odd}"})
    assert bulk.status_code == 302
    shown = text(client.get(bulk["Location"]))
    assert "选中的诉求：" in shown and "派遣至：" in shown  # each message names its field
    before = Appeal.objects.count()
    report = client.post(
        reverse("appeals:grid_report"),
        {
            "category": odd,
            "description": "井盖丢了",
            "latitude": POINT_A[0],
            "longitude": POINT_A[1],
        },
    )
    assert report.status_code == 400 and 'class="errorlist' in text(report)
    assert Appeal.objects.count() == before
    fresh = s.appeal_register(
        actor=personas.worker_a, appeal=new_appeal(personas.worker_a, cats.lift, description="电梯")
    )
    act = client.post(
        reverse("appeals:act", args=[fresh.pk, "dispatch"]), {"dispatch-target": f"d:{odd}"}
    )
    assert act.status_code == 400 and 'class="errorlist' in text(act)
    fresh.refresh_from_db()
    assert fresh.status == Status.REGISTERED


def test_intake_reads_as_an_action_in_english_and_the_count_as_a_count(personas, appeal_a):
    """受理 is three things in English: the history's action, the hotline's button and the
    stats' count of appeals taken in."""
    client = as_user(personas.operator)
    en = {"HTTP_ACCEPT_LANGUAGE": "en"}
    detail = text(client.get(reverse("appeals:detail", args=[appeal_a.pk]), **en))
    assert "<strong>Intake</strong>" in detail
    assert ">Accept</button>" in text(client.get(reverse("appeals:hotline"), **en))
    assert ">Received</span>" in text(client.get(reverse("appeals:stats"), **en))
    zh = text(client.get(reverse("appeals:detail", args=[appeal_a.pk])))
    assert "<strong>受理</strong>" in zh


# ---------------------------------------------------------------- scenarios through the pages


def test_a1_doorstep_report_whistle_report_handle_verify_close(personas, cats, territory):
    p, t = personas, territory
    gw = as_user(p.grid_worker)
    gw.post(
        reverse("appeals:grid_report"),
        {
            "category": cats.illegal.pk,
            "description": "邻居违建挡光",
            "latitude": POINT_A[0],
            "longitude": POINT_A[1],
            "photos": png_file(),
            "reporter_name": "王先生",
        },
    )
    appeal = Appeal.objects.get()
    url = lambda a: reverse("appeals:act", args=[appeal.pk, a])  # noqa: E731
    community = as_user(p.worker_a)
    assert community.post(url("whistle"), {"whistle-departments": [t.dept.pk]}).status_code == 302
    dept = as_user(p.handler)
    assert dept.post(url("accept"), {"accept-note": "已报到"}).status_code == 302
    assert (
        dept.post(
            url("handle"), {"handle-result": "当日拆除", "handle-photos": png_file()}
        ).status_code
        == 302
    )
    assert (
        gw.post(
            url("verify"),
            {"verify-rating": Rating.SATISFIED, "verify-resolved": "1", "verify-comment": "满意"},
        ).status_code
        == 302
    )
    assert gw.post(url("close"), {}).status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == Status.CLOSED and appeal.rating == Rating.SATISFIED
    timeline = text(community.get(reverse("appeals:detail", args=[appeal.pk])))
    for label in ("受理", "立案", "吹哨", "签收", "处置", "回访", "结案"):
        assert f"<strong>{label}</strong>" in timeline
    assert appeal.photos.count() == 2


def test_a2_hotline_return_redispatch_close_and_counters(personas, cats, territory):
    p, t = personas, territory
    water = Department.objects.create(code="D-W", name="水务局", region=t.district)
    prop = Department.objects.create(code="D-P", name="物业监管科", region=t.district)
    from gridgov.accounts.models import Role
    from gridgov.conftest import make_user

    water_user = make_user("water", Role.DEPARTMENT_HANDLER, t.district, department=water)
    prop_user = make_user("prop", Role.DEPARTMENT_HANDLER, t.district, department=prop)
    op = as_user(p.operator)
    op.post(
        reverse("appeals:hotline"),
        {
            "category": cats.sewer.pk,
            "region": t.comm_a.pk,
            "description": "下水管道破裂",
            "register": "on",
            "target": f"d:{water.pk}",
            "reporter_phone": "13700001111",
        },
    )
    appeal = Appeal.objects.get()
    url = lambda a: reverse("appeals:act", args=[appeal.pk, a])  # noqa: E731
    assert (
        as_user(water_user).post(url("return"), {"return-reason": "不属于水务"}).status_code == 302
    )
    assert op.post(url("dispatch"), {"dispatch-target": f"d:{prop.pk}"}).status_code == 302
    pu = as_user(prop_user)
    pu.post(url("accept"), {})
    pu.post(url("handle"), {"handle-result": "已修复"})
    op.post(url("verify"), {"verify-rating": Rating.BASIC, "verify-resolved": "1"})
    op.post(url("close"), {})
    appeal.refresh_from_db()
    assert appeal.status == Status.CLOSED and appeal.returned_count == 1
    page = text(op.get(reverse("appeals:stats")))
    assert 'id="count-received">1<' in page and 'id="count-closed">1<' in page
    assert 'id="count-rate">100%<' in page
    # The score and median read with fixed decimals on every row, as the rates do.
    from gridgov.appeals.selectors import appeal_stats

    total = appeal_stats(actor=p.operator, group_by="region", period="month")["total"]
    assert total.score is not None and total.median_hours is not None
    assert f">{total.score:.3f}<" in page and f">{total.median_hours:.1f}<" in page


def test_a3_overdue_case_turns_red_and_is_supervised(personas, appeal_a):
    Appeal.objects.filter(pk=appeal_a.pk).update(
        deadline=appeal_a.created_at, amber_at=appeal_a.created_at
    )
    op = as_user(personas.operator)
    detail = text(op.get(reverse("appeals:detail", args=[appeal_a.pk])))
    assert "badge red" in detail and 'id="action-supervise"' in detail
    op.post(reverse("appeals:act", args=[appeal_a.pk, "supervise"]), {"supervise-note": "超期"})
    assert AppealEvent.objects.filter(appeal=appeal_a, action=Action.SUPERVISE).count() == 1
    assert Notification.objects.filter(appeal=appeal_a, kind="supervised").exists()


def test_a4_many_reports_of_one_lift_merged_count_once(personas, cats):
    first = new_appeal(personas.grid_worker, cats.lift, description="1号楼电梯坏了")
    dups = [
        new_appeal(personas.grid_worker, cats.lift, description=f"1号楼电梯坏了{i}")
        for i in range(3)
    ]
    client = as_user(personas.worker_a)
    page = text(client.get(reverse("appeals:detail", args=[first.pk])))
    assert all(d.tracking_code in page for d in dups)
    client.post(reverse("appeals:merge", args=[first.pk]), {"duplicates": [d.pk for d in dups]})
    assert Appeal.objects.filter(status=Status.MERGED, duplicate_of=first).count() == 3
    stats = text(client.get(reverse("appeals:stats")))
    assert 'id="count-received">1<' in stats


def test_a4_every_proposed_duplicate_is_merged_in_one_step(personas, cats):
    # Twelve residents report one broken lift: the operator merges the eleven proposed
    # duplicates with one button, not eleven ticks, and each choice says how near and alike.
    first = new_appeal(personas.grid_worker, cats.lift, description="2号楼电梯坏了")
    dups = [
        new_appeal(personas.grid_worker, cats.lift, description=f"2号楼电梯坏了，第{i}位")
        for i in range(11)
    ]
    client = as_user(personas.worker_a)
    page = text(client.get(reverse("appeals:detail", args=[first.pk])))
    assert 'id="merge-all"' in page and "全部合并（11 件）" in page
    assert " 米 · " in page and "相似度" in page
    response = client.post(reverse("appeals:merge", args=[first.pk]), {"all": "1"})
    assert response.status_code == 302
    merged = Appeal.objects.filter(status=Status.MERGED, duplicate_of=first)
    assert sorted(merged.values_list("pk", flat=True)) == sorted(d.pk for d in dups)
    # Nothing ticked and not all: the field is named, nothing changes.
    other = new_appeal(personas.grid_worker, cats.lift, description="2号楼电梯又坏了")
    refused = client.post(reverse("appeals:merge", args=[first.pk]), {"duplicates": []})
    assert refused.status_code == 400 and "请选择要合并的重复件" in text(refused)
    assert Appeal.objects.get(pk=other.pk).status == Status.RECEIVED


def test_a5_self_service_report_track_rate(personas, cats, territory):
    resident = anon()
    resident.post(
        reverse("appeals:report"),
        {
            "category": cats.lift.pk,
            "description": "电梯停运",
            "latitude": POINT_A[0],
            "longitude": POINT_A[1],
        },
    )
    appeal = Appeal.objects.get()
    code = appeal.tracking_code
    w = personas.worker_a
    s.appeal_register(actor=w, appeal=appeal)
    s.appeal_dispatch(actor=w, appeal=appeal, region=territory.comm_a)
    assert "已派遣" in text(resident.get(reverse("appeals:track_code", args=[code])))
    s.appeal_accept(actor=w, appeal=appeal)
    s.appeal_handle(actor=w, appeal=appeal, result="已修好")
    resident.post(
        reverse("appeals:track_act", args=[code, "rate"]),
        {"rating": Rating.SATISFIED, "resolved": "1"},
    )
    appeal.refresh_from_db()
    assert appeal.status == Status.VERIFIED and appeal.rating == Rating.SATISFIED
    ev = AppealEvent.objects.get(appeal=appeal, action=Action.VERIFY)
    assert ev.data["by_reporter"] is True


def test_extension_request_and_decision_through_the_detail_page(personas, appeal_a, territory):
    s.appeal_dispatch(actor=personas.worker_a, appeal=appeal_a, department=territory.dept)
    s.appeal_accept(actor=personas.handler, appeal=appeal_a)
    url = lambda a: reverse("appeals:act", args=[appeal_a.pk, a])  # noqa: E731
    handler = as_user(personas.handler)
    bad = handler.post(
        url("extend_request"),
        {"extend_request-working_days": "40", "extend_request-reason": "需协调"},
    )
    assert bad.status_code == 400 and "需协调" in text(bad)
    ok = handler.post(
        url("extend_request"),
        {"extend_request-working_days": "3", "extend_request-reason": "需协调产权单位"},
    )
    assert ok.status_code == 302
    old_deadline = Appeal.objects.get(pk=appeal_a.pk).deadline
    worker = as_user(personas.worker_a)
    assert 'id="action-extend_decide"' in text(
        worker.get(reverse("appeals:detail", args=[appeal_a.pk]))
    )
    assert worker.post(url("extend_decide"), {"extend_decide-approve": "1"}).status_code == 302
    appeal_a.refresh_from_db()
    assert appeal_a.extension_count == 1 and appeal_a.deadline > old_deadline


def test_escalate_return_reopen_and_refusals_through_the_page(personas, appeal_a, territory):
    url = lambda a: reverse("appeals:act", args=[appeal_a.pk, a])  # noqa: E731
    gw = as_user(personas.grid_worker)
    # A grid worker may not whistle departments: 403 with the reason, nothing changes.
    refused = gw.post(url("whistle"), {"whistle-departments": [territory.dept.pk]})
    assert refused.status_code == 403 and "权限" in text(refused)
    s.appeal_dispatch(actor=personas.worker_a, appeal=appeal_a, grid=territory.grid_a)
    assert gw.post(url("escalate"), {"escalate-reason": "网格无法解决"}).status_code == 302
    appeal_a.refresh_from_db()
    assert appeal_a.assigned_level == "community" and appeal_a.status == Status.DISPATCHED
    worker = as_user(personas.worker_a)
    assert worker.post(url("accept"), {}).status_code == 302
    empty = worker.post(url("return"), {"return-reason": ""})
    assert empty.status_code == 400
    worker.post(url("handle"), {"handle-result": "已处理"})
    # 回访 by someone other than the handler (separation of duties).
    as_user(personas.street_official).post(
        url("verify"), {"verify-rating": Rating.UNSATISFIED, "verify-resolved": "0"}
    )
    assert worker.post(url("reopen"), {"reopen-reason": "居民不满意"}).status_code == 302
    appeal_a.refresh_from_db()
    assert appeal_a.status == Status.ACCEPTED and appeal_a.reopened_count == 1
    assert worker.get(url("reopen")).status_code == 405
    assert worker.post(reverse("appeals:act", args=[appeal_a.pk, "explode"]), {}).status_code == 404


def test_queue_query_count_does_not_grow_with_rows(personas, cats, django_assert_max_num_queries):
    for i in range(6):
        new_appeal(personas.grid_worker, cats.lift, description=f"电梯{i}")
    client = as_user(personas.worker_a)
    client.get(reverse("appeals:queue"))  # warm caches (session, categories)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("appeals:queue"))
    assert text(response).count('name="ids"') == 6


def test_detail_page_query_budget(personas, appeal_a, django_assert_max_num_queries):
    client = as_user(personas.worker_a)
    url = reverse("appeals:detail", args=[appeal_a.pk])
    client.get(url)
    with django_assert_max_num_queries(20):
        assert client.get(url).status_code == 200


def test_a_grid_target_reads_with_the_readers_brackets(personas, territory):
    from django.utils import translation

    with translation.override("en"):
        grids = dict(f.target_choices(personas.operator)[3][1])
    label = grids[f"g:{territory.grid_a.pk}"]
    assert label == f"{territory.grid_a.name} ({territory.comm_a.name})"
    with translation.override("zh-hans"):
        grids = dict(f.target_choices(personas.operator)[3][1])
    assert (
        grids[f"g:{territory.grid_a.pk}"] == f"{territory.grid_a.name}（{territory.comm_a.name}）"
    )
