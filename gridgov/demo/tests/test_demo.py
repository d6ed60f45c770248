"""The demo district: shape, tiling, published counts, determinism, point → grid, and its
ninety days of appeals (states, history, rates, pages)."""

from __future__ import annotations

import datetime as dt
import itertools

import chinese_calendar
import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from shapely.geometry import shape
from shapely.ops import unary_union

from gridgov.accounts.models import Role, User
from gridgov.appeals.deadlines import deadline_colour
from gridgov.appeals.models import (
    FINAL_STATUSES,
    Appeal,
    AppealEvent,
    AppealWhistle,
    Channel,
    ExtensionRequest,
    Priority,
    Status,
)
from gridgov.appeals.selectors import appeal_list, appeal_stats, supervision_queue
from gridgov.core.models import AuditLog, Holiday
from gridgov.demo.appeals import HISTORY_DAYS
from gridgov.demo.generator import BBOX, DEMO_PASSWORD, digest, generate
from gridgov.people.models import (
    House,
    MemberKind,
    PartnerUnit,
    PartyMember,
    PartyOrg,
    PartyOrgKind,
    RoleAssignment,
    RoleKind,
)
from gridgov.territory import geo
from gridgov.territory.models import Facility, FacilityKind, Grid, Region, RegionKind

pytestmark = pytest.mark.django_db

SCALE = 0.05  # one house per building: the shape and the fixed counts, quickly


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker):
    """One build shared by the read-only tests of a class (a build works a few hundred
    appeal service calls), rolled back after the last of them; each test runs in its own
    savepoint inside it. Passwords hashed as in every test (see the root conftest)."""
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), transaction.atomic():
        with fast:
            result = generate(seed=1, scale=SCALE)
        yield result
        transaction.set_rollback(True)
    geo.invalidate()


MAIN_STATES = set(Status) - {Status.VERIFIED}


@pytest.mark.usefixtures("demo")
class TestDemo:
    """Read-only checks on one shared build: the territory, the people, and the appeals."""

    def test_district_shape_and_published_counts(self, demo):
        district = demo.district
        assert (district.code, district.name) == ("410205", "禹王台区")
        subs = Region.objects.filter(parent=district)
        assert sorted(subs.filter(kind=RegionKind.STREET).values_list("name", flat=True)) == sorted(
            ["菜市街道", "三里堡街道", "新门关街道", "繁塔街道", "官坊街道"]
        )
        assert sorted(
            subs.filter(kind=RegionKind.TOWNSHIP).values_list("name", flat=True)
        ) == sorted(["南郊乡", "汪屯乡"])
        assert Region.objects.filter(kind=RegionKind.COMMUNITY).count() == 17
        assert Grid.objects.count() == 104
        assert set(Grid.objects.values_list("level", flat=True)) == {1, 2}
        assert RoleAssignment.objects.filter(kind=RoleKind.BUILDING_HEAD).count() == 229
        assert PartyOrg.objects.filter(kind=PartyOrgKind.HOUSEHOLD).count() == 170
        assert RoleAssignment.objects.filter(kind=RoleKind.PARTY_HOUSEHOLD).count() == 170
        assert PartnerUnit.objects.count() == 49
        assert PartyMember.objects.filter(kind=MemberKind.IN_SERVICE).count() == 1063
        for kind in FacilityKind:
            assert Facility.objects.filter(kind=kind).count() == 17
        # Party tree shadows the territory: every level present and attached to its node.
        branch = PartyOrg.objects.filter(kind=PartyOrgKind.BRANCH).select_related("parent").first()
        assert branch.parent.kind == PartyOrgKind.GRAND_COMMITTEE
        assert branch.parent.parent.kind == PartyOrgKind.WORKING_COMMITTEE
        assert branch.region.kind == RegionKind.COMPOUND
        compounds = list(Region.objects.filter(kind=RegionKind.COMPOUND))
        assert any(c.is_three_no for c in compounds) and not all(c.is_three_no for c in compounds)
        assert Holiday.objects.exists()
        # Every grid has its worker, as owner and as an open role.
        assert not Grid.objects.filter(owner=None).exists()
        assert (
            RoleAssignment.objects.filter(kind=RoleKind.GRID_WORKER, ended_on=None).count() == 104
        )
        # One login per role, with the documented password.
        for role in Role:
            if role == Role.API_CLIENT:  # an API key's service user: no sign-in
                continue
            user = User.objects.get(username=role.value)
            assert user.role == role and user.check_password(DEMO_PASSWORD)

    def test_everything_sits_inside_the_published_box(self, demo):
        west, south, east, north = BBOX
        for g in Grid.objects.all():
            minx, miny, maxx, maxy = shape(g.polygon).bounds
            assert west <= minx and maxx <= east and south <= miny and maxy <= north

    def test_grids_tile_each_community_without_gaps_or_overlaps(self, demo):
        communities = Region.objects.filter(kind=RegionKind.COMMUNITY)
        for comm in communities:
            area = shape(comm.boundary)
            grids = list(Grid.objects.filter(region=comm))
            for level in (1, 2):
                same = [shape(g.polygon) for g in grids if g.level == level]
                for a, b in itertools.combinations(same, 2):
                    assert a.intersection(b).area == pytest.approx(0, abs=1e-14)
            top = unary_union([shape(g.polygon) for g in grids if g.level == 1])
            assert top.area == pytest.approx(area.area, rel=1e-9)
            assert top.symmetric_difference(area).area == pytest.approx(0, abs=1e-14)
            for parent in (g for g in grids if g.level == 1):
                children = [shape(c.polygon) for c in grids if c.parent_id == parent.pk]
                if children:
                    assert unary_union(children).symmetric_difference(
                        shape(parent.polygon)
                    ).area == pytest.approx(0, abs=1e-14)
        # Communities tile the district, and no two communities overlap.
        shapes = [shape(c.boundary) for c in communities]
        for a, b in itertools.combinations(shapes, 2):
            assert a.intersection(b).area == pytest.approx(0, abs=1e-14)
        assert unary_union(shapes).area == pytest.approx(
            shape(demo.district.boundary).area, rel=1e-9
        )

    def test_point_to_grid_on_demo_polygons(self, demo):
        geo.invalidate()
        # Each building's location falls in the grid its houses are registered to.
        for house in House.objects.select_related("region__parent").order_by("pk")[:40]:
            building = house.region.parent
            assert (
                geo.grid_id_for_point(latitude=building.latitude, longitude=building.longitude)
                == house.grid_id
            )
        # A point on an edge shared by two leaf grids: the finer level wins, then the smaller code.
        leaves = {g.code: g for g in Grid.objects.filter(children__isnull=True)}
        done = 0
        for a, b in itertools.combinations(sorted(leaves.values(), key=lambda g: g.code), 2):
            edge = shape(a.polygon).intersection(shape(b.polygon))
            if edge.length == 0:
                continue
            mid = edge.interpolate(0.5, normalized=True)
            assert (
                geo.grid_id_for_point(latitude=mid.y, longitude=mid.x)
                == min(a, b, key=lambda g: (-g.level, g.code)).pk
            )
            done += 1
            if done >= 25:
                break
        assert done >= 25
        # A vertex where grids meet still gets one answer; outside the district, none.
        corner = Grid.objects.filter(level=2).first().polygon["coordinates"][0][2]
        assert geo.grid_id_for_point(latitude=corner[1], longitude=corner[0]) is not None
        assert geo.grid_id_for_point(latitude=34.80, longitude=114.30) is None
        assert geo.grid_id_for_point(latitude=34.7199, longitude=114.35) is None

    def test_command_if_empty_does_nothing_when_a_district_exists(self, demo, capsys):
        before = Region.objects.count()
        call_command("demo", "--seed", "2", "--if-empty")
        assert Region.objects.count() == before
        with pytest.raises(CommandError):
            call_command("demo", "--seed", "2")

    # --- the appeals ----------------------------------------------------------------------------

    def test_appeals_in_every_state_from_many_channels(self, demo):
        assert demo.counts["appeals"] == Appeal.objects.count() >= 50
        statuses = set(Appeal.objects.values_list("status", flat=True))
        assert statuses >= MAIN_STATES
        assert len(set(Appeal.objects.values_list("channel", flat=True))) >= 5
        assert Appeal.objects.filter(status=Status.CLOSED).count() > Appeal.objects.count() / 2
        assert Appeal.objects.exclude(reporter=None).exists()
        assert Appeal.objects.filter(latitude=None).exists()  # a few address-only reports
        # The whole loop happened: rework, returns, escalation, whistles, extensions, 督办.
        actions = set(AppealEvent.objects.values_list("action", flat=True))
        for action in ("reopen", "return", "escalate", "whistle", "extend_decide", "supervise"):
            assert action in actions, action
        assert actions >= {"overdue", "remind"}  # the periodic job ran along
        assert AppealWhistle.objects.exclude(reported_at=None).exists()
        assert ExtensionRequest.objects.filter(approved=True).exists()

    def test_every_history_chains_from_intake_to_the_current_status(self):
        events: dict[int, list[AppealEvent]] = {}
        for event in AppealEvent.objects.order_by("at", "pk"):
            events.setdefault(event.appeal_id, []).append(event)
        for appeal in Appeal.objects.all():
            rows = events[appeal.pk]
            assert rows[0].action == "intake" and rows[0].from_status == ""
            assert rows[0].to_status == Status.RECEIVED
            for before, after in itertools.pairwise(rows):
                assert after.from_status == before.to_status, (appeal.pk, after.action)
            assert rows[-1].to_status == appeal.status

    def test_timestamps_are_in_the_past_and_in_order(self):
        now = timezone.now()
        first = now - dt.timedelta(days=HISTORY_DAYS + 1)
        created = list(Appeal.objects.order_by("pk").values_list("created_at", flat=True))
        assert created == sorted(created)  # made in the order they came in
        assert first < created[0] and created[-1] <= now
        events = list(AppealEvent.objects.order_by("pk").values_list("appeal_id", "at"))
        last_seen: dict[int, dt.datetime] = {}
        for appeal_id, at in events:
            assert first < at <= now
            assert at >= last_seen.get(appeal_id, at)  # written in time order
            last_seen[appeal_id] = at
        for appeal in Appeal.objects.exclude(closed_at=None):
            assert appeal.created_at <= appeal.closed_at <= now
        # One audit row per history row (the audit rows carry the real time of writing).
        audited = AuditLog.objects.filter(
            action__startswith="appeal.", target_type="appeals.appeal"
        )
        assert audited.count() == len(events)

    def test_duplicate_reports_of_one_lift_are_merged_into_the_first(self):
        merged = Appeal.objects.filter(status=Status.MERGED).select_related("duplicate_of")
        assert merged.count() >= 2
        primary = merged[0].duplicate_of
        assert primary.category.code == "facility.lift"
        assert primary.status == Status.CLOSED
        assert all(dup.duplicate_of_id == primary.pk for dup in merged)
        for dup in merged:
            intake = dup.events.get(action="intake")
            assert primary.pk in intake.data["duplicate_candidates"]  # proposed, then merged

    def test_rates_are_sensible(self):
        operator = User.objects.get(username="operator")
        now = timezone.now()
        data = appeal_stats(
            actor=operator, start=now - dt.timedelta(days=HISTORY_DAYS + 1), end=now
        )
        total = data["total"]
        assert total.valid >= 40
        assert total.received - total.valid >= 2  # rejected and withdrawn do not count
        for rate in ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate"):
            assert 0.6 <= getattr(total, rate) <= 1, rate
        assert 0.5 <= total.closure_rate < 1
        assert 0 < total.rework_rate < 0.5
        by_region = appeal_stats(actor=operator, group_by="region", period="quarter")["rows"]
        assert len(by_region) >= 5

    def test_open_cases_show_deadline_colours_and_reach_the_supervisors(self):
        now = timezone.now()
        open_cases = Appeal.objects.exclude(status__in=FINAL_STATUSES)
        colours = {deadline_colour(a, now) for a in open_cases}
        assert colours >= {"green", "amber", "red"}
        operator = User.objects.get(username="operator")
        queue = list(supervision_queue(actor=operator, now=now))
        assert any(a.deadline < now for a in queue) and any(a.deadline >= now for a in queue)
        assert open_cases.filter(supervision_count__gt=0).exists()
        assert open_cases.exclude(overdue_at=None).exists()

    @pytest.mark.parametrize(
        ("username", "pages"),
        [
            ("operator", ["queue", "supervision", "stats", "inbox"]),
            ("community_worker", ["queue", "my_tasks", "inbox"]),
            ("grid_worker", ["queue", "my_tasks"]),
            ("department_handler", ["queue", "my_tasks"]),
            ("street_official", ["queue", "supervision", "stats"]),
        ],
    )
    def test_pages_render_with_the_demo_appeals(self, client, username, pages):
        user = User.objects.get(username=username)
        client.force_login(user)
        for name in pages:
            response = client.get(reverse(f"appeals:{name}"))
            assert response.status_code == 200, name
            if name in ("queue", "supervision") or username == "grid_worker":
                assert response.context["rows"], name  # work waiting for the demo's logins
        # The busiest case the user may see opens too.
        busiest = (
            appeal_list(actor=user)
            .order_by("-reopened_count", "-returned_count", "-supervision_count", "pk")
            .first()
        )
        assert client.get(reverse("appeals:detail", args=[busiest.pk])).status_code == 200

    def test_resident_login_follows_and_can_rate_their_own_report(self, client):
        resident = User.objects.get(username="resident")
        waiting = Appeal.objects.get(reporter_user=resident, status=Status.HANDLED)
        assert waiting.channel == Channel.SELF_SERVICE
        page = client.get(reverse("appeals:track_code", args=[waiting.tracking_code]))
        assert page.status_code == 200
        assert page.context["can_rate"] and len(page.context["steps"]) >= 4


def test_same_seed_gives_same_data_and_other_seed_does_not():
    # A fixed day (the history then ends at 16:00 of it): the digest covers the appeals'
    # times too. Its ninety days reach back to the end of the previous year's National Day
    # holidays (and its adjusted working Saturday), so that year's holidays must be seeded.
    today = dt.date(2026, 1, 5)
    digests = []
    for seed in (7, 7, 8):
        with pytest.raises(_Rollback), transaction.atomic():
            result = generate(seed=seed, scale=SCALE, today=today)
            assert Appeal.objects.count() >= 50
            assert Holiday.objects.filter(date__year=2025).exists()
            # Working-day deadlines land on the official calendar's working days.
            days = Appeal.objects.filter(priority=Priority.NORMAL).exclude(
                category__code="facility.utilities"  # 24 hours round the clock
            )
            assert all(
                chinese_calendar.is_workday(timezone.localtime(a.deadline).date()) for a in days
            )
            digests.append(digest(result.district))
            raise _Rollback
        assert not Region.objects.exists()
    assert digests[0] == digests[1]
    assert digests[0] != digests[2]


class _Rollback(Exception):
    pass


def test_command_rejects_bad_scale(db):
    with pytest.raises(CommandError):
        call_command("demo", "--scale", "0")
    assert not Region.objects.exists()


def test_a_build_ending_at_midnight_has_its_overdue_case_and_every_colour():
    # Ending at 00:00 a history once drew its overdue case as a 2-hour urgent one and found
    # no age for it (so it was green), and planned a staff withdrawal past a deadline.
    end = timezone.make_aware(dt.datetime(2026, 11, 25, 0, 0))
    with pytest.raises(_Rollback), transaction.atomic():
        generate(seed=1, scale=SCALE, end=end)
        now = end + dt.timedelta(minutes=30)
        open_cases = Appeal.objects.exclude(status__in=FINAL_STATUSES)
        assert {deadline_colour(a, now) for a in open_cases} >= {"green", "amber", "red"}
        street = User.objects.get(username="street_official")
        assert {deadline_colour(a, now) for a in supervision_queue(actor=street, now=now)} == {
            "amber",
            "red",
        }
        raise _Rollback
