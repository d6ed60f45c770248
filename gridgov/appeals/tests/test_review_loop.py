"""Review findings on the closed loop: merged reports and the primary's withdrawal or
rejection, reminders that stalled beyond the job's limit, separation of duties on 回访,
closing an unsatisfied case, and control characters in stored text."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse

from gridgov.appeals import selectors as sel
from gridgov.appeals import services as s
from gridgov.appeals.deadlines import REMIND_SHARE
from gridgov.appeals.models import (
    AMBER_SHARE,
    Action,
    Appeal,
    AppealEvent,
    AppealWhistle,
    Channel,
    Notification,
    NotificationKind,
    OutboxMessage,
    Rating,
    Status,
)
from gridgov.appeals.tests.conftest import POINT_A
from gridgov.appeals.tests.helpers import frozen, local, new_appeal, spot
from gridgov.core.errors import Conflict, PermissionDenied, ValidationFailed

MERGED_REFUSAL = "已有其他居民的反映合并到本诉求，不能撤回"


def _events(appeal: Appeal, action: str) -> int:
    return AppealEvent.objects.filter(appeal=appeal, action=action).count()


# ---------------------------------------------------------------- 1. merged reports


def _lift_reports(personas, cats, *, b_actor=None) -> tuple[Appeal, Appeal]:
    """Residents A and B report the same broken lift online; the operator merges B into A."""
    a = s.appeal_intake(
        actor=None,
        channel=Channel.SELF_SERVICE,
        category=cats.lift,
        description="3号楼电梯坏了，老人下不了楼",
        latitude=POINT_A[0],
        longitude=POINT_A[1],
        reporter_phone="13800000001",
    )
    b = s.appeal_intake(
        actor=b_actor,
        channel=Channel.SELF_SERVICE,
        category=cats.lift,
        description="3号楼电梯停了两天",
        latitude=POINT_A[0],
        longitude=POINT_A[1],
        reporter_phone="13800000002",
    )
    return a, b


def test_a_case_others_were_merged_into_cannot_be_withdrawn(client, personas, cats):
    a, b = _lift_reports(personas, cats)
    # Before the merge, withdrawal is offered to the reporter and to intake staff.
    assert sel.appeal_track(tracking_code=a.tracking_code).can_withdraw
    a.refresh_from_db()
    assert "withdraw" in sel.appeal_available_actions(actor=personas.worker_a, appeal=a)
    s.appeal_merge(actor=personas.operator, appeal=a, duplicates=[b])

    with pytest.raises(Conflict) as by_code:
        s.appeal_withdraw(actor=None, appeal=a.pk, reason="修好了", tracking_code=a.tracking_code)
    assert by_code.value.field == "status" and MERGED_REFUSAL in str(by_code.value.message)
    with pytest.raises(Conflict) as by_staff:
        s.appeal_withdraw(actor=personas.worker_a, appeal=a.pk, reason="反映人来电撤回")
    assert by_staff.value.field == "status" and MERGED_REFUSAL in str(by_staff.value.message)

    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == Status.RECEIVED and b.status == Status.MERGED
    assert _events(a, Action.WITHDRAW) == 0
    assert not [m for m in OutboxMessage.objects.all() if "撤回" in m.payload["text"]]
    # Not offered: the staff page and API, the resident's tracking view and public API.
    assert "withdraw" not in sel.appeal_available_actions(actor=personas.worker_a, appeal=a)
    assert sel.appeal_track(tracking_code=a.tracking_code).can_withdraw is False
    public = client.get(f"/api/v1/appeals/public/{a.tracking_code}")
    assert public.status_code == 200 and public.json()["can_withdraw"] is False
    refused = client.post(
        f"/api/v1/appeals/public/{a.tracking_code}/withdraw",
        json.dumps({"note": "修好了"}),
        content_type="application/json",
    )
    assert refused.status_code == 409
    page = client.get(reverse("appeals:track_code", args=[a.tracking_code]))
    assert page.status_code == 200
    assert reverse("appeals:track_act", args=[a.tracking_code, "withdraw"]) not in page.text
    # B still follows A's progress, which is not 已撤回.
    assert sel.appeal_track(tracking_code=b.tracking_code).shown.status == Status.RECEIVED


def test_rejecting_a_primary_tells_every_merged_reporter_the_reason(personas, cats):
    a, b = _lift_reports(personas, cats, b_actor=personas.resident)
    assert b.reporter_user == personas.resident
    s.appeal_merge(actor=personas.operator, appeal=a, duplicates=[b])

    s.appeal_reject(actor=personas.operator, appeal=a, reason="该电梯属于商场自管，已转告商场")

    inbox = Notification.objects.get(user=personas.resident, kind=NotificationKind.OUTCOME)
    assert inbox.appeal_id == b.pk
    assert "不予受理" in inbox.text and "已转告商场" in inbox.text and b.tracking_code in inbox.text
    sms = {
        phone: [m.payload["text"] for m in OutboxMessage.objects.filter(recipient=phone)]
        for phone in ("13800000001", "13800000002")
    }
    to_b = [text for text in sms["13800000002"] if "不予受理" in text]
    assert len(to_b) == 1 and "已转告商场" in to_b[0] and b.tracking_code in to_b[0]
    to_a = [text for text in sms["13800000001"] if "不予受理" in text]
    assert len(to_a) == 1 and a.tracking_code in to_a[0]
    assert sel.appeal_track(tracking_code=b.tracking_code).shown.status == Status.REJECTED


# ---------------------------------------------------------------- 2. periodic jobs make progress


START = local(2026, 3, 2, 10, 0)  # Monday; 7 working days → Wednesday 11 March 10:00


def _dispatched(personas, cats, territory, n: int) -> list[Appeal]:
    """``n`` cases sent to grid A, a minute apart (deadlines 11 March 10:00, 10:01, …)."""
    rows = []
    for i in range(n):
        with frozen(START + dt.timedelta(minutes=i)):
            appeal = new_appeal(personas.worker_a, cats.sanitation, point=spot())
            s.appeal_register(actor=personas.worker_a, appeal=appeal)
            s.appeal_dispatch(actor=personas.worker_a, appeal=appeal, grid=territory.grid_a)
        appeal.refresh_from_db()
        rows.append(appeal)
    return rows


def test_the_reminder_query_reads_amber_at_as_the_reminder_share():
    assert REMIND_SHARE == AMBER_SHARE


def test_reminders_work_through_a_backlog_larger_than_the_limit(personas, cats, territory):
    rows = _dispatched(personas, cats, territory, 3)
    now = local(2026, 3, 10, 10, 5)  # all three are due (one day before)
    done = [s.appeals_remind_due(now=now, limit=1) for _ in range(3)]
    assert done == [1, 1, 1]
    assert s.appeals_remind_due(now=now, limit=1) == 0
    for appeal in rows:
        assert _events(appeal, Action.REMIND) == 1
        assert Notification.objects.filter(appeal=appeal, kind="reminder").count() == 1
    # Nearest deadline first.
    order = AppealEvent.objects.filter(action=Action.REMIND).order_by("pk")
    assert [e.appeal_id for e in order] == [a.pk for a in rows]


def test_an_approved_extension_earns_a_new_reminder_for_the_new_deadline(personas, cats, territory):
    (appeal,) = _dispatched(personas, cats, territory, 1)
    assert s.appeals_remind_due(now=local(2026, 3, 10, 10, 5)) == 1
    with frozen(local(2026, 3, 10, 11, 0)):
        s.appeal_extend_request(
            actor=personas.grid_worker, appeal=appeal, working_days=1, reason="需协调物业"
        )
        s.appeal_extend_decide(actor=personas.worker_a, appeal=appeal, approve=True)
    appeal.refresh_from_db()
    # The first reminder (10 March 10:05) comes after the new deadline's 80 % (10 March
    # 10:00) but before its "one day before" (11 March 10:00): due again then.
    assert appeal.deadline == local(2026, 3, 12, 10, 0)
    assert appeal.amber_at == local(2026, 3, 10, 10, 0)
    assert s.appeals_remind_due(now=local(2026, 3, 10, 11, 5)) == 0  # not due again yet
    assert s.appeals_remind_due(now=local(2026, 3, 11, 10, 5)) == 1
    assert s.appeals_remind_due(now=local(2026, 3, 11, 10, 10)) == 0
    assert _events(appeal, Action.REMIND) == 2
    texts = Notification.objects.filter(appeal=appeal, kind="reminder").order_by("pk")
    assert ["03-11 10:00" in texts[0].text, "03-12 10:00" in texts[1].text] == [True, True]


def test_a_case_nobody_can_be_told_about_does_not_block_the_others(personas, cats, territory):
    first, second = _dispatched(personas, cats, territory, 2)
    # Nobody to tell about the first (its grid worker and dispatcher have left).
    Appeal.objects.filter(pk=first.pk).update(assigned_user=None, assigned_level="")
    type(personas.worker_a).objects.filter(pk=personas.worker_a.pk).update(is_active=False)
    now = local(2026, 3, 10, 10, 5)
    assert s.appeals_remind_due(now=now, limit=1) == 0  # looked at, no one to tell
    assert s.appeals_remind_due(now=now, limit=1) == 1
    assert AppealEvent.objects.get(appeal=first, action=Action.REMIND).data["users"] == []
    assert Notification.objects.filter(appeal=second, kind="reminder").count() == 1


def test_overdue_marks_work_through_a_backlog_larger_than_the_limit(personas, cats, territory):
    rows = _dispatched(personas, cats, territory, 3)
    now = local(2026, 3, 11, 10, 5)
    assert [s.appeals_mark_overdue(now=now, limit=1) for _ in range(4)] == [1, 1, 1, 0]
    for appeal in rows:
        assert _events(appeal, Action.OVERDUE) == 1
    order = AppealEvent.objects.filter(action=Action.OVERDUE).order_by("pk")
    assert [e.appeal_id for e in order] == [a.pk for a in rows]


def test_late_whistles_are_flagged_through_a_backlog_larger_than_the_limit(
    personas, cats, territory
):
    rows = []
    for i in range(3):
        with frozen(START + dt.timedelta(minutes=i)):
            appeal = new_appeal(personas.worker_a, cats.illegal, point=spot())
            s.appeal_register(actor=personas.worker_a, appeal=appeal)
            s.appeal_whistle(actor=personas.worker_a, appeal=appeal, departments=[territory.dept])
        rows.append(appeal)
    now = local(2026, 3, 2, 15, 0)  # two working hours have long passed
    assert [s.appeals_flag_late_whistles(now=now, limit=1) for _ in range(4)] == [1, 1, 1, 0]
    assert AppealWhistle.objects.filter(flagged_at=now).count() == 3
    for appeal in rows:
        assert _events(appeal, Action.WHISTLE_FLAG) == 1


# ---------------------------------------------------------------- 3. separation of duties


def _handled_by_grid_worker(personas, cats, territory, **intake) -> Appeal:
    appeal = new_appeal(intake.pop("actor", personas.worker_a), cats.sanitation, **intake)
    s.appeal_register(actor=personas.worker_a, appeal=appeal)
    s.appeal_dispatch(actor=personas.worker_a, appeal=appeal, grid=territory.grid_a)
    s.appeal_accept(actor=personas.grid_worker, appeal=appeal)
    s.appeal_handle(actor=personas.grid_worker, appeal=appeal, result="已清理")
    appeal.refresh_from_db()
    return appeal


def test_the_handler_may_not_verify_their_own_handling(personas, cats, territory):
    appeal = _handled_by_grid_worker(personas, cats, territory)
    assert "verify" not in sel.appeal_available_actions(actor=personas.grid_worker, appeal=appeal)
    assert "verify" in sel.appeal_available_actions(actor=personas.worker_a, appeal=appeal)
    with pytest.raises(PermissionDenied) as own:
        s.appeal_verify(
            actor=personas.grid_worker, appeal=appeal, rating=Rating.SATISFIED, resolved=True
        )
    assert "处置人不能回访自己办理的诉求" in str(own.value.message)
    # Nor by typing the tracking code while signed in.
    with pytest.raises(PermissionDenied):
        s.appeal_verify(
            actor=personas.grid_worker,
            appeal=appeal,
            rating=Rating.SATISFIED,
            resolved=True,
            tracking_code=appeal.tracking_code,
        )
    appeal.refresh_from_db()
    assert appeal.status == Status.HANDLED and appeal.rating == ""
    assert _events(appeal, Action.VERIFY) == 0
    # The community calls back.
    s.appeal_verify(actor=personas.worker_a, appeal=appeal, rating=Rating.SATISFIED, resolved=True)
    assert Appeal.objects.get(pk=appeal.pk).status == Status.VERIFIED


def test_the_reporter_always_rates(personas, cats, territory):
    by_code = _handled_by_grid_worker(personas, cats, territory, point=spot())
    s.appeal_verify(
        actor=None,
        appeal=by_code,
        rating=Rating.BASIC,
        resolved=True,
        tracking_code=by_code.tracking_code,
    )
    assert Appeal.objects.get(pk=by_code.pk).status == Status.VERIFIED
    # A grid worker who reported with their own account, and handled it, rates it as reporter.
    own = _handled_by_grid_worker(
        personas, cats, territory, actor=None, channel=Channel.SELF_SERVICE, point=spot()
    )
    Appeal.objects.filter(pk=own.pk).update(reporter_user=personas.grid_worker)
    s.appeal_verify(actor=personas.grid_worker, appeal=own, rating=Rating.SATISFIED, resolved=True)
    assert Appeal.objects.get(pk=own.pk).status == Status.VERIFIED


def test_the_verify_page_refuses_the_handler(personas, cats, territory):
    appeal = _handled_by_grid_worker(personas, cats, territory)
    client = Client()
    client.force_login(personas.grid_worker)
    response = client.post(
        reverse("appeals:act", args=[appeal.pk, "verify"]),
        {"verify-rating": Rating.SATISFIED, "verify-resolved": "1"},
    )
    assert response.status_code == 403
    assert "处置人不能回访自己办理的诉求" in response.content.decode()
    assert Appeal.objects.get(pk=appeal.pk).status == Status.HANDLED


# ---------------------------------------------------------------- 4. unsatisfied cases


def _unsatisfied(personas, cats, territory) -> Appeal:
    appeal = _handled_by_grid_worker(personas, cats, territory, point=spot())
    s.appeal_verify(
        actor=personas.worker_a, appeal=appeal, rating=Rating.UNSATISFIED, resolved=False
    )
    appeal.refresh_from_db()
    return appeal


def test_an_unsatisfied_case_goes_back_for_rework_instead_of_closing(personas, cats, territory):
    appeal = _unsatisfied(personas, cats, territory)
    offered = sel.appeal_available_actions(actor=personas.worker_a, appeal=appeal)
    assert "close" not in offered and "reopen" in offered
    with pytest.raises(Conflict) as refused:
        s.appeal_close(actor=personas.worker_a, appeal=appeal, note="已解释")
    assert refused.value.field == "rating" and "返工" in str(refused.value.message)
    appeal.refresh_from_db()
    assert appeal.status == Status.VERIFIED and appeal.closed_at is None
    assert _events(appeal, Action.CLOSE) == 0
    # Through the page: the reason, not a 500.
    client = Client()
    client.force_login(personas.worker_a)
    page = client.post(reverse("appeals:act", args=[appeal.pk, "close"]), {"close-note": ""})
    assert page.status_code == 409 and "返工" in page.content.decode()
    s.appeal_reopen(actor=personas.worker_a, appeal=appeal, reason="居民不满意")
    assert Appeal.objects.get(pk=appeal.pk).status == Status.ACCEPTED


def test_a_supervisor_closes_an_unsatisfied_case_with_a_note(personas, cats, territory):
    appeal = _unsatisfied(personas, cats, territory)
    supervisor = personas.street_official
    assert "close" in sel.appeal_available_actions(actor=supervisor, appeal=appeal)
    with pytest.raises(ValidationFailed) as bare:
        s.appeal_close(actor=supervisor, appeal=appeal, note="  ")
    assert bare.value.field == "note"
    assert Appeal.objects.get(pk=appeal.pk).status == Status.VERIFIED
    s.appeal_close(actor=supervisor, appeal=appeal, note="诉求超出政策范围，已向居民解释")
    appeal.refresh_from_db()
    assert appeal.status == Status.CLOSED and appeal.rating == Rating.UNSATISFIED
    close = AppealEvent.objects.get(appeal=appeal, action=Action.CLOSE)
    assert close.data["closed_unsatisfied"] is True and "政策范围" in close.note
    total = sel.appeal_stats(actor=supervisor, group_by="none", period="year")["total"]
    assert total.unsatisfied == 1 and total.closed == 1


def test_a_satisfied_case_still_closes_as_before(personas, cats, territory):
    appeal = _handled_by_grid_worker(personas, cats, territory, point=spot())
    s.appeal_verify(actor=personas.worker_a, appeal=appeal, rating=Rating.BASIC, resolved=True)
    appeal.refresh_from_db()
    assert "close" in sel.appeal_available_actions(actor=personas.worker_a, appeal=appeal)
    s.appeal_close(actor=personas.worker_a, appeal=appeal)
    close = AppealEvent.objects.get(appeal=appeal, action=Action.CLOSE)
    assert "closed_unsatisfied" not in close.data


# ---------------------------------------------------------------- 5. control characters


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "电梯\x07坏了"),
        ("description", "电梯\ufffe坏了"),
        ("description", "电梯\ud800坏了"),
        ("address", "幸福路\x1b12号"),
        ("reporter_name", "张\x0c三"),
    ],
)
def test_intake_refuses_control_characters_naming_the_field(personas, cats, field, value):
    with pytest.raises(ValidationFailed) as refused:
        new_appeal(personas.worker_a, cats.lift, **{field: value})
    assert refused.value.field == field and "非法字符" in str(refused.value.message)
    assert not Appeal.objects.exists()


def test_tab_newline_and_carriage_return_are_kept(personas, cats):
    appeal = new_appeal(personas.worker_a, cats.lift, description="电梯坏了\r\n\t3号楼")
    assert Appeal.objects.get(pk=appeal.pk).description == "电梯坏了\r\n\t3号楼"


def test_loop_notes_refuse_control_characters(personas, cats):
    appeal = new_appeal(personas.worker_a, cats.lift)
    with pytest.raises(ValidationFailed) as note:
        s.appeal_register(actor=personas.worker_a, appeal=appeal, note="已核实\x01")
    assert note.value.field == "note"
    with pytest.raises(ValidationFailed) as reason:
        s.appeal_reject(actor=personas.worker_a, appeal=appeal, reason="重复\x1f反映")
    assert reason.value.field == "reason"
    appeal.refresh_from_db()
    assert (
        appeal.status == Status.RECEIVED and AppealEvent.objects.filter(appeal=appeal).count() == 1
    )


def test_the_api_answers_control_characters_with_400(client, personas, cats):
    from gridgov.accounts.tokens import token_create

    _, token = token_create(user=personas.operator, name="test")
    body = {
        "channel": "hotline",
        "category_id": cats.lift.pk,
        "description": "电梯\u0007坏了",
        "latitude": POINT_A[0],
        "longitude": POINT_A[1],
    }
    response = client.post(
        "/api/v1/appeals/",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400 and response.json()["error"]["field"] == "description"
    assert not Appeal.objects.exists()
