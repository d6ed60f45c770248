"""The deadline clock runs from intake until the handler records the result (处置); a
handled case waits for the resident, not its handler. 返工 starts a new clock, and a
pending extension lapses when the case leaves its requester's unit."""

from __future__ import annotations

import datetime as dt

import pytest

from gridgov.appeals import selectors as sel
from gridgov.appeals import services as s
from gridgov.appeals.deadlines import deadline_colour, reminder_due_at
from gridgov.appeals.models import Action, AppealEvent, ExtensionRequest, Rating, Status
from gridgov.appeals.tests.helpers import frozen, local, new_appeal, spot, staff_client
from gridgov.core.errors import Conflict

START = local(2026, 3, 2, 10, 0)  # Monday: 7 working days end Wed 11 Mar 10:00
DEADLINE = local(2026, 3, 11, 10, 0)


@pytest.fixture
def accepted(personas, cats, territory):
    with frozen(START):
        appeal = new_appeal(personas.worker_a, cats.sanitation, point=spot())
        s.appeal_register(actor=personas.worker_a, appeal=appeal)
        s.appeal_dispatch(actor=personas.worker_a, appeal=appeal, grid=territory.grid_a)
        s.appeal_accept(actor=personas.grid_worker, appeal=appeal)
    appeal.refresh_from_db()
    assert appeal.deadline == DEADLINE
    return appeal


def handle(personas, appeal, at):
    with frozen(at):
        s.appeal_handle(actor=personas.grid_worker, appeal=appeal, result="已清理")
    appeal.refresh_from_db()
    return appeal


def red_ids(actor, now):
    return set(sel.appeal_list(actor=actor, colour="red", now=now).values_list("pk", flat=True))


def test_a_case_handled_in_time_is_not_overdue_while_it_awaits_verification(personas, accepted):
    appeal = handle(personas, accepted, local(2026, 3, 10, 16, 0))  # before the deadline
    after = local(2026, 3, 13, 10, 0)
    with frozen(after):
        assert s.appeals_tick()["overdue"] == 0
    appeal.refresh_from_db()
    assert appeal.overdue_at is None
    assert not AppealEvent.objects.filter(appeal=appeal, action=Action.OVERDUE).exists()
    # Handled at 94 % of its time: amber it was, amber it stays.
    assert deadline_colour(appeal, after) == "amber"
    assert appeal.pk not in red_ids(personas.street_official, after)
    assert appeal.pk in set(
        sel.appeal_list(actor=personas.street_official, colour="amber", now=after).values_list(
            "pk", flat=True
        )
    )
    assert appeal not in sel.supervision_queue(actor=personas.operator, now=after)
    # Verified and closed after the deadline: on time all the same.
    with frozen(after):
        s.appeal_verify(
            actor=personas.worker_a, appeal=appeal, rating=Rating.SATISFIED, resolved=True
        )
        s.appeal_close(actor=personas.worker_a, appeal=appeal)
    close = AppealEvent.objects.get(appeal=appeal, action=Action.CLOSE)
    assert close.data["on_time"] is True
    total = sel.appeal_stats(actor=personas.street_official, period="month", now=after)["total"]
    assert (total.closed, total.closed_on_time, total.overdue_open) == (1, 1, 0)
    appeal.refresh_from_db()
    assert deadline_colour(appeal, after) == "amber"


def test_a_case_handled_late_stays_red_and_counts_late_before_it_closes(personas, accepted):
    late = local(2026, 3, 12, 10, 0)
    appeal = handle(personas, accepted, late)
    later = local(2026, 3, 16, 10, 0)
    assert deadline_colour(appeal, later) == "red"
    assert appeal.pk in red_ids(personas.street_official, later)
    # Nothing left for the handler to do: not on the supervisor's list.
    assert appeal not in sel.supervision_queue(actor=personas.operator, now=later)
    total = sel.appeal_stats(actor=personas.street_official, period="month", now=later)["total"]
    assert (total.closed, total.overdue_open, total.on_time_rate) == (0, 1, 0.0)


def test_an_overdue_case_not_yet_registered_can_be_supervised(personas, cats):
    with frozen(START):
        appeal = new_appeal(personas.worker_a, cats.sanitation, point=spot())
    after = local(2026, 3, 12, 10, 0)
    with frozen(after):
        assert s.appeals_tick()["overdue"] == 1
        assert appeal in sel.supervision_queue(actor=personas.operator, now=after)
        s.appeal_supervise(actor=personas.operator, appeal=appeal, note="请尽快立案派遣")
    appeal.refresh_from_db()
    assert (appeal.status, appeal.supervision_count) == (Status.RECEIVED, 1)


def test_rework_is_timed_afresh(personas, accepted):
    appeal = handle(personas, accepted, local(2026, 3, 10, 16, 0))
    with frozen(local(2026, 3, 10, 17, 0)):
        s.appeal_verify(
            actor=personas.worker_a, appeal=appeal, rating=Rating.UNSATISFIED, resolved=False
        )
    reopened_at = local(2026, 3, 16, 9, 0)  # Monday, after the first deadline
    with frozen(reopened_at):
        s.appeal_reopen(actor=personas.worker_a, appeal=appeal, reason="垃圾又堆起来了")
    appeal.refresh_from_db()
    # Seven working days from the rework: Wed 25 Mar 09:00.
    assert appeal.status == Status.ACCEPTED
    assert (appeal.clock_started_at, appeal.deadline) == (reopened_at, local(2026, 3, 25, 9, 0))
    assert appeal.amber_at == reopened_at + (appeal.deadline - reopened_at) * 0.8
    assert deadline_colour(appeal, reopened_at + dt.timedelta(hours=1)) == "green"
    assert reminder_due_at(appeal) == local(2026, 3, 24, 9, 0)
    event = AppealEvent.objects.get(appeal=appeal, action=Action.REOPEN)
    assert dt.datetime.fromisoformat(event.data["old_deadline"]) == DEADLINE
    assert dt.datetime.fromisoformat(event.data["deadline"]) == appeal.deadline
    # Reminded and marked overdue against the new deadline.
    with frozen(local(2026, 3, 24, 9, 30)):
        assert s.appeals_tick()["reminded"] == 1
    with frozen(local(2026, 3, 25, 9, 30)):
        assert s.appeals_tick()["overdue"] == 1
    appeal.refresh_from_db()
    assert appeal.overdue_at == local(2026, 3, 25, 9, 30)


def test_rework_clears_an_earlier_overdue_mark(personas, accepted):
    with frozen(local(2026, 3, 12, 10, 0)):
        assert s.appeals_tick()["overdue"] == 1
    appeal = handle(personas, accepted, local(2026, 3, 12, 11, 0))
    with frozen(local(2026, 3, 12, 12, 0)):
        s.appeal_verify(
            actor=personas.worker_a, appeal=appeal, rating=Rating.UNSATISFIED, resolved=False
        )
        s.appeal_reopen(actor=personas.worker_a, appeal=appeal, reason="没有修好")
    appeal.refresh_from_db()
    assert appeal.overdue_at is None and appeal.deadline > local(2026, 3, 12, 12, 0)
    assert appeal not in sel.supervision_queue(
        actor=personas.operator, now=local(2026, 3, 12, 13, 0)
    )


def test_a_pending_extension_lapses_when_the_case_is_returned(personas, accepted, territory):
    with frozen(local(2026, 3, 9, 10, 0)):
        s.appeal_extend_request(
            actor=personas.grid_worker, appeal=accepted, working_days=3, reason="等待配件"
        )
        s.appeal_return(actor=personas.grid_worker, appeal=accepted, reason="不属于本网格")
        s.appeal_dispatch(actor=personas.worker_a, appeal=accepted, grid=territory.grid_a)
        # Nothing left to approve: the old request does not move the new handler's deadline.
        with pytest.raises(Conflict):
            s.appeal_extend_decide(actor=personas.street_official, appeal=accepted, approve=True)
    request = ExtensionRequest.objects.get(appeal=accepted)
    assert (request.approved, request.decided_by, request.lapsed) == (False, None, True)
    returned = AppealEvent.objects.get(appeal=accepted, action=Action.RETURN)
    assert returned.data["extension_lapsed"] == request.pk
    accepted.refresh_from_db()
    assert accepted.deadline == DEADLINE and accepted.extension_count == 0
    page = staff_client(personas.worker_a).get(f"/appeals/{accepted.pk}/")
    assert "已作废（承办单位已变更）" in page.content.decode()


def test_a_pending_extension_lapses_when_the_case_is_escalated(personas, accepted):
    with frozen(local(2026, 3, 9, 10, 0)):
        s.appeal_extend_request(
            actor=personas.grid_worker, appeal=accepted, working_days=3, reason="需要社区协调"
        )
        s.appeal_escalate(actor=personas.grid_worker, appeal=accepted, reason="网格解决不了")
    assert ExtensionRequest.objects.get(appeal=accepted).lapsed
    event = AppealEvent.objects.get(appeal=accepted, action=Action.ESCALATE)
    assert event.data["extension_lapsed"] is not None


def test_supervisors_get_one_digest_for_many_overdue_cases(personas, cats):
    from gridgov.appeals.models import Notification, OutboxMessage

    personas.operator.email = "operator@example.cn"
    personas.operator.save(update_fields=["email"])
    with frozen(START):
        appeals = [new_appeal(personas.worker_a, cats.sanitation, point=spot()) for _ in range(7)]
    with frozen(local(2026, 3, 12, 10, 0)):
        assert s.appeals_tick()["overdue"] == 7
    told = Notification.objects.filter(user=personas.operator, kind="overdue")
    assert told.count() == 1
    digest = told.get()
    assert digest.appeal is None
    assert digest.text.startswith("7 件诉求已超期，请督办：") and digest.text.endswith(" 等")
    assert sum(a.tracking_code in digest.text for a in appeals) == 5
    assert OutboxMessage.objects.filter(recipient="operator@example.cn").count() == 1
    page = staff_client(personas.operator).get("/appeals/inbox/")
    assert 'href="/appeals/supervision/"' in page.content.decode()


def test_one_overdue_case_is_named_to_the_supervisor_with_its_link(personas, cats):
    from gridgov.appeals.models import Notification

    with frozen(START):
        appeal = new_appeal(personas.worker_a, cats.sanitation, point=spot())
    with frozen(local(2026, 3, 12, 10, 0)):
        s.appeals_tick()
    told = Notification.objects.get(user=personas.operator, kind="overdue")
    assert told.appeal == appeal and told.text.endswith("已超期，请督办")
