"""Rates on a small fixture, computed by hand and compared."""

from __future__ import annotations

import datetime as dt
import random
import statistics

import pytest
from django.utils import timezone

from gridgov.appeals import selectors as sel
from gridgov.appeals import services as s
from gridgov.appeals.models import (
    CLOCK_STATUSES,
    Appeal,
    Category,
    Channel,
    RateSettings,
    Rating,
    Status,
)
from gridgov.appeals.tests.helpers import frozen, local, new_appeal, spot, superuser
from gridgov.territory.models import Region, RegionKind


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
    # a1, a3 on time; a2 closed after 11 Mar 10:00; a6 open past it
    assert total.on_time_rate == 0.5
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
    result = sel.appeal_stats(actor=personas.street_official, period="month", now=now)
    total = result["total"]
    assert total.satisfaction_rate == 0.8333  # (2 + 0.5) / 3
    assert total.response_rate == 1.0  # 30 h is inside 48 h
    assert total.score == round(0.5 * 1.0 + 0.5 * 0.8333, 4)
    # The formulas shown beside the rates say the district's own figures.
    assert "48 小时" in result["formulas"]["response_rate"]
    assert "基本满意件数 × 0.5" in result["formulas"]["satisfaction_rate"]
    assert "响应率 × 0 + 解决率 × 0.5 + 满意率 × 0.5" in result["formulas"]["score"]


def test_on_time_rate_counts_open_cases_past_their_deadline(client, personas, cats, territory):
    """Scenario A3 by hand: of seven cases received in March, 3 closed on time (one only
    thanks to an approved extension), 1 closed late, 2 still open past their deadline and 1
    open within it: the on-time rate is 3 ÷ (4 closed + 2 overdue) = 0.5, not 3 ÷ 4."""
    from gridgov.accounts.tokens import token_create

    p, t = personas, territory
    t0 = local(2026, 3, 2, 10, 0)  # Monday: 7 working days end Wed 11 Mar 10:00

    def opened(at):
        with frozen(at):
            appeal = new_appeal(p.worker_a, cats.sanitation, point=spot())
            s.appeal_register(actor=p.worker_a, appeal=appeal)
            s.appeal_dispatch(actor=p.worker_a, appeal=appeal, grid=t.grid_a)
            s.appeal_accept(actor=p.grid_worker, appeal=appeal)
        return appeal

    def close(appeal, at):
        with frozen(at):
            s.appeal_handle(actor=p.grid_worker, appeal=appeal, result="已清理")
            s.appeal_verify(actor=p.worker_a, appeal=appeal, rating=Rating.SATISFIED, resolved=True)
            s.appeal_close(actor=p.worker_a, appeal=appeal)

    on_time = [opened(t0), opened(t0)]
    extended, late = opened(t0), opened(t0)
    overdue = [opened(t0), opened(t0)]
    within = opened(local(2026, 3, 18, 10, 0))  # deadline Fri 27 Mar 10:00
    for appeal in on_time:
        close(appeal, local(2026, 3, 5, 10, 0))
    with frozen(local(2026, 3, 9, 10, 0)):
        s.appeal_extend_request(
            actor=p.grid_worker, appeal=extended, working_days=2, reason="需协调"
        )
        s.appeal_extend_decide(actor=p.worker_a, appeal=extended, approve=True)
    close(extended, local(2026, 3, 12, 10, 0))  # after 11 Mar, before 13 Mar 10:00
    close(late, local(2026, 3, 12, 10, 0))
    now = local(2026, 3, 20, 12, 0)
    assert all(a.deadline < now for a in overdue) and within.deadline > now

    result = sel.appeal_stats(actor=p.street_official, period="month", now=now)
    total = result["total"]
    assert (total.closed, total.closed_on_time, total.overdue_open) == (4, 3, 2)
    assert total.on_time_rate == 0.5
    assert "未结案但已超过办理时限的件数" in result["formulas"]["on_time_rate"]
    # The API's total says the same, with the overdue count the rate now depends on.
    _, token = token_create(user=p.street_official, name="test")
    with frozen(now):
        body = client.get("/api/v1/appeals/stats", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert (body["total"]["on_time_rate"], body["total"]["overdue_open"]) == (0.5, 2)


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


def reference_counts(rows, group_by, now, response_hours):
    """The rates' counters (and the on-time rate, the one that mixes closed and open
    cases) by walking the rows one by one: the definition in FORMULAS, written the plain
    way, for the database's GROUP BY to be held to."""
    groups: dict = {}
    for a in rows:
        if a.status == Status.MERGED:
            continue
        if group_by == "region":
            key = a.region_id
        elif group_by == "department":
            key = a.assigned_department_id
        elif group_by == "category":
            key = a.category.parent_id or a.category_id
        elif group_by == "month":
            key = f"{timezone.localtime(a.created_at):%Y-%m}"
        else:
            key = None
        c = groups.setdefault(key, {"hours": []} | dict.fromkeys(COUNTERS, 0))
        c["received"] += 1
        if a.status in (Status.REJECTED, Status.WITHDRAWN):
            continue
        c["valid"] += 1
        limit = dt.timedelta(hours=response_hours.get(a.district_id, 24))
        if a.responded_at is not None and a.responded_at - a.created_at <= limit:
            c["responded"] += 1
        if a.rating:
            c["rated"] += 1
            c["resolved"] += bool(a.resolved)
            c["satisfied"] += a.rating == Rating.SATISFIED
            c["basic"] += a.rating == Rating.BASIC
            c["unsatisfied"] += a.rating == Rating.UNSATISFIED
        if a.status == Status.CLOSED and a.closed_at is not None:
            c["closed"] += 1
            # On time: handled (处置) within the limit; the clock stops there.
            c["closed_on_time"] += a.deadline is None or (a.handled_at or a.closed_at) <= a.deadline
            c["hours"].append((a.closed_at - a.created_at).total_seconds() / 3600)
        elif a.deadline is not None and (
            (a.status in CLOCK_STATUSES and a.deadline < now)
            or (
                a.status in (Status.HANDLED, Status.VERIFIED)
                and a.handled_at is not None
                and a.handled_at > a.deadline
            )
        ):
            c["overdue_open"] += 1
        if a.handled_at is not None:
            c["handled"] += 1
            c["reworked"] += a.reopened_count > 0
    out = {}
    for key, c in groups.items():
        late_or_closed = c["closed"] + c["overdue_open"]
        out[key] = {k: v for k, v in c.items() if k != "hours"} | {
            "median_hours": round(statistics.median(c["hours"]), 2) if c["hours"] else None,
            "on_time_rate": round(c["closed_on_time"] / late_or_closed, 4)
            if late_or_closed
            else None,
        }
    return out


COUNTERS = (
    *("received", "valid", "responded", "rated", "resolved", "satisfied", "basic"),
    *("unsatisfied", "closed", "closed_on_time", "handled", "reworked", "overdue_open"),
)


def test_counts_in_the_database_match_a_row_by_row_walk(territory, cats):
    """Random cases over two districts, one with a 48-hour response limit: every grouping
    and the total agree with the plain walk."""
    rng = random.Random(7)
    other = Region.objects.create(code="410211", name="祥符区", kind=RegionKind.DISTRICT)
    other_comm = Region.objects.create(
        code="410211001001", name="祥符社区", kind=RegionKind.COMMUNITY, parent=other
    )
    RateSettings.objects.create(district=other, response_hours=48)
    regions = [territory.comm_a, territory.comm_b, territory.comm_c, other_comm]
    categories = list(Category.objects.filter(district=territory.district))
    t0 = local(2026, 3, 1, 0, 0)
    now = local(2026, 4, 20, 12, 0)
    rows = []
    for i in range(160):
        created = t0 + dt.timedelta(minutes=rng.randrange(60 * 24 * 45))
        status = rng.choice(Status.values)
        hours = lambda: dt.timedelta(hours=rng.uniform(0.5, 300))  # noqa: E731
        a = Appeal(
            region=rng.choice(regions),
            category=rng.choice(categories),
            channel=Channel.HOTLINE,
            description=f"第{i}件",
            status=status,
            created_at=created,
            deadline=rng.choice([None, created + hours()]),
            responded_at=rng.choice([None, created + dt.timedelta(hours=rng.uniform(0, 60))]),
            closed_at=created + hours() if status == Status.CLOSED else None,
            handled_at=rng.choice([None, created + hours()]),
            rating=rng.choice(["", *Rating.values]),
            resolved=rng.choice([None, True, False]),
            reopened_count=rng.choice([0, 0, 1, 2]),
            assigned_department=rng.choice([None, territory.dept]),
        )
        a.fill_derived()
        a.save()
        rows.append(a)
    actor = superuser()
    hours_by_district = {other.pk: 48}
    for group_by in ("none", "region", "department", "category", "month"):
        result = sel.appeal_stats(
            actor=actor, group_by=group_by, start=t0, end=now, now=now, period=None
        )
        expected = reference_counts(rows, group_by, now, hours_by_district)
        got = {
            (None if group_by == "none" else r.key): {
                k: getattr(r, k) for k in (*COUNTERS, "median_hours", "on_time_rate")
            }
            for r in (result["rows"] if group_by != "none" else [result["total"]])
        }
        assert got == expected, group_by
        total = reference_counts(rows, "none", now, hours_by_district)[None]
        assert {k: getattr(result["total"], k) for k in total} == total
