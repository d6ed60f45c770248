"""Time limits across holidays and adjusted working days; colours and reminders under frozen time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridgov.appeals import notify
from gridgov.appeals import services as s
from gridgov.appeals.channels import LoggingChannel
from gridgov.appeals.deadlines import deadline_colour, reminder_due_at
from gridgov.appeals.models import (
    Action,
    AppealEvent,
    Notification,
    OutboxMessage,
    Priority,
    Status,
    TimeLimit,
    TimeUnit,
)
from gridgov.appeals.notify import deliver_due
from gridgov.appeals.tests.helpers import frozen, local, new_appeal
from gridgov.core.notice import Notice
from gridgov.core.workdays import seed_holidays


@pytest.fixture
def holidays_2025(db):
    seed_holidays([2025])


def test_seven_working_days_across_national_day_and_adjusted_sunday(holidays_2025, personas, cats):
    # Fri 26 Sep 2025 10:00. Working: Sun 28 Sep (调休), 29, 30 Sep; 1–8 Oct holiday;
    # 9, 10 Oct; Sat 11 Oct (调休); Mon 13 Oct is the seventh working day.
    with frozen(local(2025, 9, 26, 10, 0)):
        appeal = new_appeal(personas.grid_worker, cats.sanitation)
    assert appeal.priority == Priority.NORMAL
    assert appeal.deadline == local(2025, 10, 13, 10, 0)


def test_adjusted_working_sunday_counts_for_a_one_day_limit(holidays_2025, personas, cats):
    TimeLimit.objects.update_or_create(
        category=cats.sanitation,
        priority=Priority.NORMAL,
        defaults={"amount": 1, "unit": TimeUnit.WORKING_DAYS},
    )
    with frozen(local(2025, 9, 26, 15, 0)):  # Friday afternoon
        appeal = new_appeal(personas.grid_worker, cats.sanitation)
    assert appeal.deadline == local(2025, 9, 28, 15, 0)  # the working Sunday


def test_urgent_is_two_hours_and_utilities_are_24_hours(personas, cats):
    start = local(2026, 3, 6, 17, 0)
    with frozen(start):
        urgent = new_appeal(personas.grid_worker, cats.sanitation, priority=Priority.URGENT)
        water = new_appeal(personas.grid_worker, cats.utilities, description="停水")
        complex_ = new_appeal(personas.grid_worker, cats.sanitation, priority=Priority.COMPLEX)
    assert urgent.deadline == start + dt.timedelta(hours=2)
    assert water.deadline == start + dt.timedelta(hours=24)
    assert complex_.deadline > start + dt.timedelta(days=20)  # 15 working days


def test_time_limits_are_configurable_rows(personas, cats):
    TimeLimit.objects.filter(category=cats.utilities, priority=Priority.NORMAL).update(amount=12)
    start = local(2026, 3, 6, 9, 0)
    with frozen(start):
        water = new_appeal(personas.grid_worker, cats.utilities, description="停水")
    assert water.deadline == start + dt.timedelta(hours=12)


def test_colours_green_amber_red_under_frozen_time(personas, cats):
    start = local(2026, 3, 6, 9, 0)
    with frozen(start):
        appeal = new_appeal(personas.grid_worker, cats.sanitation, priority=Priority.URGENT)
    assert deadline_colour(appeal, start + dt.timedelta(minutes=95)) == "green"
    assert deadline_colour(appeal, start + dt.timedelta(minutes=96)) == "amber"  # 80 %
    assert deadline_colour(appeal, start + dt.timedelta(minutes=121)) == "red"
    assert appeal.amber_at == start + dt.timedelta(minutes=96)


def test_reminder_one_day_before_and_overdue_marked_once(personas, cats, territory):
    start = local(2026, 3, 2, 10, 0)  # Monday; 7 working days → Wed 11 Mar 10:00
    with frozen(start):
        appeal = new_appeal(personas.worker_a, cats.sanitation)
        s.appeal_register(actor=personas.worker_a, appeal=appeal)
        s.appeal_dispatch(actor=personas.worker_a, appeal=appeal, grid=territory.grid_a)
    appeal.refresh_from_db()
    assert appeal.deadline == local(2026, 3, 11, 10, 0)
    assert reminder_due_at(appeal) == local(2026, 3, 10, 10, 0)
    with frozen(local(2026, 3, 10, 9, 0)):
        assert s.appeals_tick()["reminded"] == 0
    with frozen(local(2026, 3, 10, 10, 5)):
        assert s.appeals_tick()["reminded"] == 1
        assert s.appeals_tick()["reminded"] == 0  # once per case and deadline
    reminder = Notification.objects.get(kind="reminder")
    assert reminder.user == personas.grid_worker
    with frozen(local(2026, 3, 11, 10, 1)):
        first = s.appeals_tick()
        second = s.appeals_tick()
    assert first["overdue"] == 1 and second["overdue"] == 0
    assert AppealEvent.objects.filter(appeal=appeal, action=Action.OVERDUE).count() == 1
    overdue_users = set(
        Notification.objects.filter(kind="overdue").values_list("user__username", flat=True)
    )
    assert {"operator", "street_s", "district_admin"} <= overdue_users
    # Supervisors are asked to supervise; the handler (the grid's worker) to deal with it.
    told = dict(Notification.objects.filter(kind="overdue").values_list("user__username", "text"))
    assert told["street_s"].endswith("已超期，请督办")
    assert told["grid_a"].endswith("已超期，请尽快办理")
    appeal.refresh_from_db()
    assert deadline_colour(appeal, local(2026, 3, 11, 10, 1)) == "red"


def test_approved_extension_moves_deadline_by_working_days(personas, cats, territory):
    with frozen(local(2026, 3, 2, 10, 0)):
        appeal = new_appeal(personas.worker_a, cats.sanitation)
        s.appeal_register(actor=personas.worker_a, appeal=appeal)
        s.appeal_dispatch(actor=personas.worker_a, appeal=appeal, grid=territory.grid_a)
        s.appeal_accept(actor=personas.grid_worker, appeal=appeal)
        s.appeal_extend_request(
            actor=personas.grid_worker, appeal=appeal, working_days=3, reason="等待配件"
        )
        s.appeal_extend_decide(actor=personas.worker_a, appeal=appeal, approve=True)
    appeal.refresh_from_db()
    assert appeal.deadline == local(2026, 3, 16, 10, 0)  # Wed 11 + 3 working days
    assert appeal.extension_count == 1
    assert appeal.status == Status.ACCEPTED


def test_outbox_retries_with_backoff_until_sent(personas, cats, settings):
    settings.GRIDGOV_SMS_BACKEND = "gridgov.appeals.channels.FailingChannel"
    start = local(2026, 3, 2, 10, 0)
    with frozen(start):
        s.appeal_intake(
            actor=personas.operator,
            channel="hotline",
            category=cats.sewer,
            description="污水外溢",
            region=personas.worker_a.scope_region,
            reporter_phone="13700001111",
        )
        assert deliver_due() == 0
    msg = OutboxMessage.objects.get()
    assert msg.attempts == 1 and msg.sent_at is None and "ConnectionError" in msg.last_error
    assert msg.next_attempt_at == start + dt.timedelta(minutes=1)
    with frozen(start + dt.timedelta(seconds=30)):
        assert deliver_due() == 0  # not due yet
    msg.refresh_from_db()
    assert msg.attempts == 1
    settings.GRIDGOV_SMS_BACKEND = "gridgov.appeals.channels.LoggingChannel"
    with frozen(start + dt.timedelta(minutes=2)):
        assert s.appeals_tick()["sent"] == 1
    msg.refresh_from_db()
    assert msg.sent_at is not None and msg.attempts == 2


@pytest.mark.django_db
def test_sms_and_wechat_each_go_to_their_own_backend(settings):
    # WeChat has its own backend: here it fails while SMS is sent, and the WeChat message
    # waits for its retry.
    settings.GRIDGOV_WECHAT_BACKEND = "gridgov.appeals.channels.FailingChannel"
    sms = notify.notify_phone(phone="13700001111", text=Notice("短信"))
    wechat = notify.notify_phone(
        phone="o6_bmjrPTlm6_2sgVt7hMZOPfL2M", text=Notice("微信"), channel="wechat"
    )
    notify.deliver_due()
    sms.refresh_from_db()
    wechat.refresh_from_db()
    assert sms.sent_at is not None
    assert wechat.sent_at is None and "ConnectionError" in wechat.last_error
    assert [m["text"] for m in LoggingChannel.sent] == ["短信"]
    settings.GRIDGOV_WECHAT_BACKEND = "gridgov.appeals.channels.LoggingChannel"
    with frozen(timezone.now() + dt.timedelta(minutes=2)):
        notify.deliver_due()
    wechat.refresh_from_db()
    assert wechat.sent_at is not None
    assert LoggingChannel.sent[-1]["recipient"] == "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
