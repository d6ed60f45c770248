"""Scenarios A1–A5 (SCENARIOS.md) end to end through the services."""

from __future__ import annotations

import datetime as dt

import pytest

from gridgov.accounts.models import Role
from gridgov.appeals import selectors as sel
from gridgov.appeals import services as s
from gridgov.appeals.channels import LoggingChannel
from gridgov.appeals.deadlines import deadline_colour
from gridgov.appeals.models import (
    Action,
    Appeal,
    AppealEvent,
    AppealWhistle,
    Channel,
    Level,
    Notification,
    OutboxMessage,
    Rating,
    Status,
)
from gridgov.appeals.tests.conftest import POINT_A
from gridgov.appeals.tests.helpers import frozen, local, new_appeal
from gridgov.appeals.tests.test_intake import jpeg_with_gps
from gridgov.conftest import make_user
from gridgov.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gridgov.core.models import AuditLog
from gridgov.territory.models import Department


def actions(appeal: Appeal) -> list[str]:
    return list(
        AppealEvent.objects.filter(appeal=appeal)
        .order_by("at", "pk")
        .values_list("action", flat=True)
    )


def test_a1_doorstep_whistle_report_handle_verify_close(personas, cats, territory):
    p, t = personas, territory
    day = local(2026, 3, 3, 9, 30)
    with frozen(day):
        appeal = s.appeal_intake(
            actor=p.grid_worker,
            channel=Channel.DOORSTEP,
            category=cats.illegal,
            description="邻居违建挡光",
            latitude=POINT_A[0],
            longitude=POINT_A[1],
            reporter_name="王先生",
            reporter_phone="13800138000",
            photos=[jpeg_with_gps()],
        )
        assert appeal.grid == t.grid_a  # the point falls in his grid
        s.appeal_register(actor=p.grid_worker, appeal=appeal)
        s.appeal_whistle(actor=p.worker_a, appeal=appeal, departments=[t.dept])
    whistle = AppealWhistle.objects.get(appeal=appeal)
    assert whistle.report_deadline == local(2026, 3, 3, 11, 30)  # two working hours
    assert Notification.objects.filter(user=p.handler, kind="whistled").exists()
    with frozen(day + dt.timedelta(hours=1)):
        s.appeal_accept(actor=p.handler, appeal=appeal)  # 报到
    with frozen(day + dt.timedelta(hours=5)):
        s.appeal_handle(actor=p.handler, appeal=appeal, result="已责令拆除违建")
        s.appeal_verify(actor=p.worker_a, appeal=appeal, rating=Rating.SATISFIED, resolved=True)
        s.appeal_close(actor=p.worker_a, appeal=appeal)
        assert s.appeals_tick()["late_whistles"] == 0
    appeal.refresh_from_db()
    whistle.refresh_from_db()
    assert appeal.status == Status.CLOSED
    assert appeal.assigned_department == t.dept and appeal.assigned_user == p.handler
    assert whistle.reported_at == day + dt.timedelta(hours=1) and whistle.flagged_at is None
    assert actions(appeal) == [
        "intake",
        "register",
        "whistle",
        "accept",
        "handle",
        "verify",
        "close",
    ]
    assert (
        AuditLog.objects.filter(target_type="appeals.appeal", target_id=str(appeal.pk)).count() == 7
    )
    assert appeal.closed_at.date() == appeal.created_at.date()  # handled the same day


def test_a2_hotline_returned_by_water_dept_then_redispatched(personas, cats, territory):
    p, t = personas, territory
    water = Department.objects.create(code="D-WATER", name="水务局", region=t.district)
    prop = Department.objects.create(code="D-PROP", name="物业监管科", region=t.district)
    water_h = make_user("water_h", Role.DEPARTMENT_HANDLER, t.district, department=water)
    prop_h = make_user("prop_h", Role.DEPARTMENT_HANDLER, t.district, department=prop)
    appeal = s.appeal_intake(
        actor=p.operator,
        channel=Channel.HOTLINE,
        category=cats.sewer,
        description="网格员来电：小区下水管道破裂",
        address="47.49号院",
        region=t.comm_a,
        reporter_phone="13600001111",
    )
    s.appeal_register(actor=p.operator, appeal=appeal)
    s.appeal_dispatch(actor=p.operator, appeal=appeal, department=water)
    assert sel.appeal_get(actor=water_h, appeal_id=appeal.pk)
    with pytest.raises(NotFound):
        sel.appeal_get(actor=prop_h, appeal_id=appeal.pk)
    s.appeal_return(actor=water_h, appeal=appeal, reason="小区内部管道属物业维修")
    appeal.refresh_from_db()
    assert appeal.status == Status.RETURNED and appeal.returned_count == 1
    assert appeal.assigned_department is None
    assert Notification.objects.filter(user=p.operator, kind="returned").exists()
    s.appeal_dispatch(actor=p.operator, appeal=appeal, department=prop)
    with pytest.raises(NotFound):  # no longer theirs: the water department cannot even see it
        s.appeal_accept(actor=water_h, appeal=appeal)
    s.appeal_accept(actor=prop_h, appeal=appeal)
    s.appeal_handle(actor=prop_h, appeal=appeal, result="物业已更换管道")
    s.appeal_verify(actor=p.operator, appeal=appeal, rating=Rating.SATISFIED, resolved=True)
    s.appeal_close(actor=p.operator, appeal=appeal)
    assert actions(appeal) == [
        "intake",
        "register",
        "dispatch",
        "return",
        "dispatch",
        "accept",
        "handle",
        "verify",
        "close",
    ]
    stats = sel.appeal_stats(actor=p.operator, group_by="department", period="year")
    total = stats["total"]
    assert (total.received, total.closed, total.closure_rate) == (1, 1, 1.0)
    assert [r.label for r in stats["rows"]] == ["物业监管科"]


def test_a3_reminder_overdue_red_supervise_and_on_time_rate_drops(personas, cats, territory):
    p, t = personas, territory
    start = local(2026, 3, 2, 10, 0)  # Monday; deadline Wed 11 Mar 10:00
    with frozen(start):
        late = new_appeal(p.worker_a, cats.sanitation, description="绿化带垃圾")
        quick = new_appeal(
            p.worker_a, cats.sanitation, description="楼道杂物", point=(34.751, 114.351)
        )
        for a in (late, quick):
            s.appeal_register(actor=p.worker_a, appeal=a)
            s.appeal_dispatch(actor=p.worker_a, appeal=a, grid=t.grid_a)
            s.appeal_accept(actor=p.grid_worker, appeal=a)
    with frozen(local(2026, 3, 3, 10, 0)):
        for step in ("handle", "verify", "close"):
            if step == "handle":
                s.appeal_handle(actor=p.grid_worker, appeal=quick, result="已清理")
            elif step == "verify":
                s.appeal_verify(
                    actor=p.worker_a, appeal=quick, rating=Rating.SATISFIED, resolved=True
                )
            else:
                s.appeal_close(actor=p.worker_a, appeal=quick)
    with frozen(local(2026, 3, 10, 10, 30)):
        assert s.appeals_tick()["reminded"] == 1
    assert Notification.objects.filter(user=p.grid_worker, kind="reminder", appeal=late).exists()
    late.refresh_from_db()
    now = local(2026, 3, 11, 11, 0)
    with frozen(now):
        assert s.appeals_tick()["overdue"] == 1
        assert deadline_colour(late, now) == "red"
        red = sel.appeal_list(actor=p.operator, colour="red", now=now)
        assert list(red.values_list("pk", flat=True)) == [late.pk]
        assert [a.pk for a in sel.supervision_queue(actor=p.operator, now=now)] == [late.pk]
        s.appeal_supervise(actor=p.operator, appeal=late, note="已超期，请今日办结")
        s.appeal_handle(actor=p.grid_worker, appeal=late, result="已清理")
        s.appeal_verify(actor=p.worker_a, appeal=late, rating=Rating.BASIC, resolved=True)
        s.appeal_close(actor=p.worker_a, appeal=late)
        stats = sel.appeal_stats(actor=p.operator, period="month", now=now)
    late.refresh_from_db()
    assert late.supervision_count == 1
    assert Notification.objects.filter(user=p.grid_worker, kind="supervised").exists()
    assert stats["total"].on_time_rate == 0.5
    assert deadline_colour(late, now) == "red"  # closed late stays red


def test_a4_twelve_lift_reports_merged_all_told_counted_once(
    personas, cats, territory, django_capture_on_commit_callbacks
):
    p = personas
    start = local(2026, 3, 2, 8, 0)
    reports = []
    for i in range(12):
        with frozen(start + dt.timedelta(hours=4 * i)):  # within two days
            reports.append(
                s.appeal_intake(
                    actor=None,
                    channel=Channel.SELF_SERVICE,
                    category=cats.lift,
                    description=f"3号楼电梯坏了，第{i + 1}次反映",
                    latitude=34.7550 + i * 0.00001,
                    longitude=114.3550,
                    reporter_phone=f"1390000{i:04d}",
                )
            )
    first, rest = reports[0], reports[1:]
    for later in rest:
        assert first.pk in later.duplicate_candidates
    with frozen(start + dt.timedelta(days=2)):
        s.appeal_merge(actor=p.operator, appeal=first, duplicates=rest)
        s.appeal_register(actor=p.operator, appeal=first)
        s.appeal_dispatch(actor=p.operator, appeal=first, grid=territory.grid_a)
        s.appeal_accept(actor=p.grid_worker, appeal=first)
        s.appeal_handle(actor=p.grid_worker, appeal=first, result="电梯已修复")
        s.appeal_verify(actor=p.worker_a, appeal=first, rating=Rating.SATISFIED, resolved=True)
        LoggingChannel.sent.clear()
        with django_capture_on_commit_callbacks(execute=True):
            s.appeal_close(actor=p.worker_a, appeal=first)
    assert Appeal.objects.filter(duplicate_of=first, status=Status.MERGED).count() == 11
    told = {m["recipient"] for m in LoggingChannel.sent if "已办结" in m["text"]}
    assert told == {f"1390000{i:04d}" for i in range(12)}
    outcome = OutboxMessage.objects.filter(dedupe_key__startswith="outcome:")
    assert outcome.count() == 12 and not outcome.filter(sent_at__isnull=True).exists()
    with frozen(start + dt.timedelta(days=2)):
        total = sel.appeal_stats(actor=p.operator, period="month")["total"]
    assert total.received == 1 and total.closed == 1


def test_a_report_merged_into_a_closed_case_hears_its_outcome_once(
    personas, cats, territory, django_capture_on_commit_callbacks
):
    p = personas

    def report(phone: str) -> Appeal:
        return s.appeal_intake(
            actor=None,
            channel=Channel.SELF_SERVICE,
            category=cats.lift,
            description="3号楼电梯坏了",
            latitude=34.7550,
            longitude=114.3550,
            reporter_phone=phone,
        )

    first, early = report("13900000001"), report("13900000002")
    s.appeal_merge(actor=p.operator, appeal=first, duplicates=[early])
    s.appeal_register(actor=p.operator, appeal=first)
    s.appeal_dispatch(actor=p.operator, appeal=first, grid=territory.grid_a)
    s.appeal_accept(actor=p.grid_worker, appeal=first)
    s.appeal_handle(actor=p.grid_worker, appeal=first, result="电梯已修复")
    s.appeal_verify(actor=p.worker_a, appeal=first, rating=Rating.SATISFIED, resolved=True)
    s.appeal_close(actor=p.worker_a, appeal=first)
    late = report("13900000003")
    LoggingChannel.sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        s.appeal_merge(actor=p.operator, appeal=first, duplicates=[late])
    # Only the late reporter is told now; the two told at closure are not told twice.
    told = [m["recipient"] for m in LoggingChannel.sent if "已办结" in m["text"]]
    assert told == ["13900000003"]
    assert OutboxMessage.objects.filter(dedupe_key__startswith="outcome:").count() == 3


def test_a5_anonymous_self_service_track_and_rate(personas, cats, territory):
    p = personas
    appeal = s.appeal_intake(
        actor=None,
        channel=Channel.SELF_SERVICE,
        category=cats.sanitation,
        description="小区门口垃圾满了",
        latitude=POINT_A[0],
        longitude=POINT_A[1],
        reporter_phone="13500001234",
    )
    code = appeal.tracking_code
    sms = OutboxMessage.objects.get(recipient="13500001234")
    assert code in sms.payload["text"]
    followed = sel.appeal_get_by_code(tracking_code=code.lower())
    assert followed.pk == appeal.pk and followed.status == Status.RECEIVED
    with pytest.raises(NotFound):
        sel.appeal_get_by_code(tracking_code="ZZZZZZZZZZ")
    s.appeal_register(actor=p.worker_a, appeal=appeal)
    s.appeal_dispatch(actor=p.worker_a, appeal=appeal, grid=territory.grid_a)
    s.appeal_accept(actor=p.grid_worker, appeal=appeal)
    s.appeal_handle(actor=p.grid_worker, appeal=appeal, result="已清运")
    with pytest.raises(NotFound):  # someone else's code does not open it
        s.appeal_verify(
            actor=None,
            appeal=appeal.pk,
            rating=Rating.SATISFIED,
            resolved=True,
            tracking_code="WRONGCODE2",
        )
    # The code and the number the resident gave: the code alone is read by staff too.
    proof = {"tracking_code": code, "reporter_phone": "13500001234"}
    with pytest.raises(ValidationFailed) as refused:
        s.appeal_verify(
            actor=None, appeal=appeal.pk, rating=Rating.SATISFIED, resolved=True, tracking_code=code
        )
    assert refused.value.field == "reporter_phone"
    s.appeal_verify(
        actor=None, appeal=appeal.pk, rating=Rating.UNSATISFIED, resolved=False, **proof
    )
    s.appeal_reopen(actor=None, appeal=appeal.pk, reason="还有垃圾", **proof)
    s.appeal_handle(actor=p.grid_worker, appeal=appeal, result="已全部清运")
    s.appeal_verify(actor=None, appeal=appeal.pk, rating=Rating.SATISFIED, resolved=True, **proof)
    appeal.refresh_from_db()
    assert appeal.status == Status.VERIFIED and appeal.rating == Rating.SATISFIED
    assert appeal.reopened_count == 1
    with pytest.raises(Conflict):
        s.appeal_withdraw(actor=None, appeal=appeal.pk, tracking_code=code)


def test_escalation_ladder_grid_community_street(personas, cats, territory):
    p, t = personas, territory
    appeal = new_appeal(p.grid_worker, cats.sanitation)
    s.appeal_register(actor=p.grid_worker, appeal=appeal)
    s.appeal_dispatch(actor=p.worker_a, appeal=appeal, grid=t.grid_a)
    s.appeal_accept(actor=p.grid_worker, appeal=appeal)
    s.appeal_escalate(actor=p.grid_worker, appeal=appeal, reason="网格无法解决")
    appeal.refresh_from_db()
    assert (appeal.assigned_level, appeal.assigned_region) == (Level.COMMUNITY, t.comm_a)
    s.appeal_escalate(actor=p.worker_a, appeal=appeal, reason="社区无法解决")
    appeal.refresh_from_db()
    assert (appeal.assigned_level, appeal.assigned_region) == (Level.STREET, t.street)
    with pytest.raises(PermissionDenied):  # community worker is below the street now
        s.appeal_accept(actor=p.worker_a, appeal=appeal)
    s.appeal_accept(actor=p.street_official, appeal=appeal)
    with pytest.raises(Conflict):
        s.appeal_escalate(actor=p.street_official, appeal=appeal, reason="再上报")
    assert actions(appeal).count(Action.ESCALATE) == 2


def test_whistled_department_that_does_not_report_is_flagged_once(personas, cats, territory):
    p, t = personas, territory
    police = Department.objects.create(code="D-POL", name="派出所", region=t.street)
    start = local(2026, 3, 3, 9, 0)
    with frozen(start):
        appeal = new_appeal(p.worker_a, cats.illegal)
        s.appeal_register(actor=p.worker_a, appeal=appeal)
        s.appeal_whistle(actor=p.worker_a, appeal=appeal, departments=[t.dept, police])
    with frozen(start + dt.timedelta(hours=1)):
        s.appeal_accept(actor=p.handler, appeal=appeal)
    with frozen(start + dt.timedelta(hours=3)):
        assert s.appeals_tick()["late_whistles"] == 1
        assert s.appeals_tick()["late_whistles"] == 0
    flagged = AppealWhistle.objects.get(flagged_at__isnull=False)
    assert flagged.department == police
    assert Notification.objects.filter(user=p.worker_a, kind="whistle_late").count() == 1
    assert AppealEvent.objects.filter(appeal=appeal, action=Action.WHISTLE_FLAG).count() == 1


def test_worker_b_cannot_see_or_act_on_community_a_appeals(personas, cats, territory):
    appeal = new_appeal(personas.worker_a, cats.sanitation)
    with pytest.raises(NotFound):
        sel.appeal_get(actor=personas.worker_b, appeal_id=appeal.pk)
    with pytest.raises(NotFound):
        s.appeal_register(actor=personas.worker_b, appeal=appeal)
    assert not sel.appeal_list(actor=personas.worker_b).filter(pk=appeal.pk).exists()
    assert sel.appeal_list(actor=personas.street_official).filter(pk=appeal.pk).exists()
    assert AppealEvent.objects.filter(appeal=appeal).count() == 1
