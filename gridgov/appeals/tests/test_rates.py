"""Rates on a small fixture, computed by hand and compared."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest

from gridgov.appeals import selectors as sel
from gridgov.appeals import services as s
from gridgov.appeals.models import RateSettings, Rating
from gridgov.appeals.tests.helpers import frozen, local, new_appeal


@pytest.fixture
def fixture_cases(personas, cats, territory):
    """Six appeals in March 2026 (deadline 7 working days from 2 Mar 10:00 = 11 Mar 10:00):

    a1 accepted after 1 h, satisfied + resolved, closed 3 Mar 10:00 (on time, 24 h)
    a2 accepted after 30 h, basic + resolved, closed 12 Mar 10:00 (late, 240 h)
    a3 accepted after 2 h, unsatisfied → reopened → satisfied + resolved, closed 5 Mar 10:00
       (on time, 72 h, reworked)
    a4 rejected;  a5 merged into a1;  a6 accepted after 1 h, still open
    """
    p, t = personas, territory
    t0 = local(2026, 3, 2, 10, 0)
    point = (34.752, 114.352)

    def walk(appeal, accept_after):
        with frozen(t0):
            s.appeal_register(actor=p.worker_a, appeal=appeal)
            s.appeal_dispatch(actor=p.worker_a, appeal=appeal, grid=t.grid_a)
        with frozen(t0 + accept_after):
            s.appeal_accept(actor=p.grid_worker, appeal=appeal)

    with frozen(t0):
        a = [
            new_appeal(p.worker_a, cats.sanitation, description=f"第{i}件", point=point)
            for i in range(1, 7)
        ]
    walk(a[0], dt.timedelta(hours=1))
    walk(a[1], dt.timedelta(hours=30))
    walk(a[2], dt.timedelta(hours=2))
    walk(a[5], dt.timedelta(hours=1))
    with frozen(t0 + dt.timedelta(hours=2)):
        s.appeal_handle(actor=p.grid_worker, appeal=a[0], result="好")
        s.appeal_verify(actor=p.worker_a, appeal=a[0], rating=Rating.SATISFIED, resolved=True)
        s.appeal_handle(actor=p.grid_worker, appeal=a[2], result="好")
        s.appeal_verify(actor=p.worker_a, appeal=a[2], rating=Rating.UNSATISFIED, resolved=False)
        s.appeal_reopen(actor=p.worker_a, appeal=a[2], reason="不满意")
        s.appeal_reject(actor=p.worker_a, appeal=a[3], reason="重复无效")
        s.appeal_merge(actor=p.worker_a, appeal=a[0], duplicates=[a[4]])
    with frozen(t0 + dt.timedelta(hours=24)):
        s.appeal_close(actor=p.worker_a, appeal=a[0])
    with frozen(t0 + dt.timedelta(hours=72)):
        s.appeal_handle(actor=p.grid_worker, appeal=a[2], result="再办")
        s.appeal_verify(actor=p.worker_a, appeal=a[2], rating=Rating.SATISFIED, resolved=True)
        s.appeal_close(actor=p.worker_a, appeal=a[2])
    with frozen(t0 + dt.timedelta(hours=240)):
        s.appeal_handle(actor=p.grid_worker, appeal=a[1], result="好")
        s.appeal_verify(actor=p.worker_a, appeal=a[1], rating=Rating.BASIC, resolved=True)
        s.appeal_close(actor=p.worker_a, appeal=a[1])
    return a


def test_rates_match_hand_computation(personas, fixture_cases, territory):
    now = local(2026, 3, 20, 12, 0)
    total = sel.appeal_stats(actor=personas.street_official, period="month", now=now)["total"]
    # received: a1 a2 a3 a4 a6 (a5 merged excluded); valid: minus rejected a4
    assert (total.received, total.valid) == (5, 4)
    assert total.response_rate == 0.75  # a1, a3, a6 within 24 h; a2 after 30 h
    assert total.resolution_rate == 1.0  # 3 rated, all resolved in the end
    assert total.satisfaction_rate == round((2 + 0.8) / 3, 4)
    assert total.on_time_rate == round(2 / 3, 4)  # a2 closed after 11 Mar 10:00
    assert total.closure_rate == 0.75
    assert total.rework_rate == round(1 / 3, 4)  # a3 of the three handled
    assert total.median_hours == statistics.median([24, 240, 72])
    assert total.score == round(0.75 * 0.2 + 1.0 * 0.4 + round(2.8 / 3, 4) * 0.4, 4)


def test_basic_value_and_weights_are_configurable(personas, fixture_cases, territory):
    RateSettings.objects.create(
        district=territory.district,
        basic_value=0.5,
        response_hours=48,
        weight_response=0.0,
        weight_resolution=0.5,
        weight_satisfaction=0.5,
    )
    now = local(2026, 3, 20, 12, 0)
    total = sel.appeal_stats(actor=personas.street_official, period="month", now=now)["total"]
    assert total.satisfaction_rate == 0.8333  # (2 + 0.5) / 3
    assert total.response_rate == 1.0  # 30 h is inside 48 h
    assert total.score == round(0.5 * 1.0 + 0.5 * 0.8333, 4)


def test_rates_grouped_and_scoped(personas, fixture_cases, territory):
    now = local(2026, 3, 20, 12, 0)
    by_region = sel.appeal_stats(
        actor=personas.street_official, group_by="region", period="month", now=now
    )["rows"]
    assert [(r.label, r.received) for r in by_region] == [("A社区", 5)]
    empty = sel.appeal_stats(actor=personas.worker_b, period="month", now=now)["total"]
    assert empty.received == 0 and empty.response_rate is None


def test_rates_agree_with_history_rows(personas, fixture_cases):
    """The appeal fields the rates read are the ones the history rows record."""
    from gridgov.appeals.models import Action, AppealEvent

    for appeal in fixture_cases:
        appeal.refresh_from_db()
        accept = (
            AppealEvent.objects.filter(appeal=appeal, action=Action.ACCEPT).order_by("at").first()
        )
        assert appeal.responded_at == (accept.at if accept else None)
        close = AppealEvent.objects.filter(appeal=appeal, action=Action.CLOSE).first()
        assert appeal.closed_at == (close.at if close else appeal.closed_at)
        reopens = AppealEvent.objects.filter(appeal=appeal, action=Action.REOPEN).count()
        assert appeal.reopened_count == reopens
