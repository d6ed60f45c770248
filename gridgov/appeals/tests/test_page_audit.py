"""Browser-audit findings on the pages: where a department lands after 退单, who is asked to
verify a case its handler took, the grid report without a location, the register form's
category, the inbox's older texts, the menu and the sign-in page."""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from gridgov.accounts.tokens import token_create
from gridgov.appeals import services as s
from gridgov.appeals.models import Appeal, Notification, NotificationKind, Status
from gridgov.appeals.tests.conftest import POINT_A
from gridgov.appeals.tests.helpers import new_appeal


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_department_that_returns_a_case_lands_on_its_queue_not_a_404(personas, cats, territory):
    appeal = new_appeal(personas.operator, cats.sewer)
    s.appeal_register(actor=personas.operator, appeal=appeal)
    s.appeal_dispatch(actor=personas.operator, appeal=appeal, department=territory.dept)

    answer = as_user(personas.handler).post(
        reverse("appeals:act", args=[appeal.pk, "return"]), {"return-reason": "不属于本单位"}
    )

    appeal.refresh_from_db()
    assert appeal.status == Status.RETURNED
    assert answer.status_code == 302 and answer["Location"] == reverse("appeals:queue")
    queue = as_user(personas.handler).get(answer["Location"])
    assert queue.status_code == 200


def test_a_grid_worker_who_handled_their_own_report_is_not_asked_to_verify_it(
    personas, cats, territory
):
    worker = as_user(personas.grid_worker)
    worker.post(
        reverse("appeals:grid_report"),
        {
            "category": cats.illegal.pk,
            "description": "楼道堆放杂物",
            "latitude": POINT_A[0],
            "longitude": POINT_A[1],
            "handle_myself": "on",
        },
    )
    appeal = Appeal.objects.get()
    assert appeal.status == Status.ACCEPTED and appeal.assigned_user_id == personas.grid_worker.pk
    worker.post(reverse("appeals:act", args=[appeal.pk, "handle"]), {"handle-result": "已清理"})

    asked = set(
        Notification.objects.filter(appeal=appeal, text__contains="请回访").values_list(
            "user_id", flat=True
        )
    )
    assert personas.grid_worker.pk not in asked
    assert personas.worker_a.pk in asked  # the community, which may verify


def test_taking_a_report_without_a_location_says_the_grid_is_unknown(personas, cats):
    answer = as_user(personas.grid_worker).post(
        reverse("appeals:grid_report"),
        {
            "category": cats.illegal.pk,
            "description": "楼道堆放杂物",
            "address": "47.49号院3号楼",
            "handle_myself": "on",
        },
        follow=True,
    )
    page = answer.content.decode()
    assert "未定位到网格，不能就地签收" in page
    assert "该事件不在您负责的网格" not in page


def test_the_register_form_keeps_the_category_unless_another_is_chosen(personas, cats):
    appeal = new_appeal(personas.operator, cats.sewer)
    page = as_user(personas.operator).get(reverse("appeals:detail", args=[appeal.pk]))
    form = next(a["form"] for a in page.context["action_forms"] if a["name"] == "register")
    assert form.fields["category"].choices[0] == ("", "不变")


def test_older_inbox_texts_are_masked_when_shown(personas, cats):
    appeal = new_appeal(personas.operator, cats.sewer)
    # A row written before notify masked texts: stored raw.
    Notification.objects.create(
        user=personas.worker_a,
        appeal=appeal,
        kind=NotificationKind.OTHER,
        text="新派遣诉求：张三 13812345678，身份证 410205199001011234",
    )

    page = as_user(personas.worker_a).get(reverse("appeals:inbox")).content.decode()
    _row, token = token_create(user=personas.worker_a, name="t")
    api = Client().get("/api/v1/appeals/inbox", HTTP_AUTHORIZATION=f"Bearer {token}")

    for shown in (page, json.dumps(api.json(), ensure_ascii=False)):
        assert "13812345678" not in shown and "410205199001011234" not in shown
        assert "138****5678" in shown


def test_the_menu_offers_the_grid_report_to_whoever_takes_reports(personas):
    url = reverse("appeals:grid_report")
    assert url in as_user(personas.grid_worker).get(reverse("home")).content.decode()
    assert url not in as_user(personas.handler).get(reverse("home")).content.decode()


def test_the_sign_in_page_offers_residents_their_services_first():
    page = Client().get(reverse("accounts:login")).content.decode()
    assert page.index(reverse("appeals:report")) < page.index('name="password"')


def test_notifications_are_written_in_the_system_language_whoever_acts(personas, cats):
    from django.utils import translation

    appeal = new_appeal(personas.operator, cats.sewer)
    with translation.override("en"):
        s.appeal_register(actor=personas.operator, appeal=appeal)
        s.appeal_dispatch(actor=personas.operator, appeal=appeal, region=appeal.region)
    texts = list(Notification.objects.filter(appeal=appeal).values_list("text", flat=True))
    assert texts and all(t.startswith("新派遣诉求") for t in texts)


def test_the_supervision_list_reads_most_urgent_deadline_first_page_after_page(
    personas, cats, territory
):
    import datetime as dt

    from django.utils import timezone

    from gridgov.appeals.selectors import supervision_queue
    from gridgov.core.pagination import keyset_page_by_time

    now = timezone.now()
    made = [new_appeal(personas.operator, cats.sewer) for _ in range(4)]
    # Newest case, earliest deadline: the order is the deadline's, not the id's.
    for appeal, hours in zip(made, (30, 10, 20, -5), strict=True):
        Appeal.objects.filter(pk=appeal.pk).update(
            deadline=now + dt.timedelta(hours=hours), amber_at=now - dt.timedelta(hours=1)
        )
    expected = [made[3].pk, made[1].pk, made[2].pk, made[0].pk]

    seen, cursor = [], None
    while True:
        page = keyset_page_by_time(
            supervision_queue(actor=personas.operator, now=now), "deadline", cursor=cursor, size=1
        )
        seen += [a.pk for a in page.items]
        cursor = page.next_cursor
        if not page.has_next:
            break
    assert seen == expected

    html = as_user(personas.admin).get(reverse("appeals:supervision")).content.decode()
    codes = [Appeal.objects.get(pk=pk).tracking_code for pk in expected]
    assert [html.index(c) for c in codes] == sorted(html.index(c) for c in codes)


def test_a_merged_reporter_sees_no_promised_date_once_the_joint_case_is_closed(personas, cats):
    from django.utils import timezone

    primary = new_appeal(personas.operator, cats.sewer, description="下水道堵了")
    merged = new_appeal(personas.operator, cats.sewer, description="下水道堵塞")
    s.appeal_merge(actor=personas.operator, appeal=primary, duplicates=[merged])
    track = reverse("appeals:track_code", args=[merged.tracking_code])
    before = Client().get(track).content.decode()
    assert "承诺办结时间" in before and "办结后会一并告知" in before

    Appeal.objects.filter(pk=primary.pk).update(status=Status.CLOSED, closed_at=timezone.now())
    page = Client().get(track).content.decode()
    assert "承诺办结时间" not in page and 'id="merged-status"' in page
    # No longer "will be told once done": it is done, and a problem still there is reported anew.
    assert "办结后会一并告知" not in page and "已经办结" in page
