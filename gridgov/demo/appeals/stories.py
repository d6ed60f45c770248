"""The stories of the demo's appeals: what is reported, where, by whom, and every step after.

:class:`Planner` draws each appeal's story from one seeded ``random.Random`` and lays it
out as timed steps (:class:`Step`: a service, its actor and arguments); the package's
``build_appeals`` runs them. The planner reads the district but writes nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F
from django.utils import timezone
from faker import Faker

from gridgov.accounts.capabilities import APPEAL_SUPERVISE, has_cap
from gridgov.accounts.models import Role, User
from gridgov.appeals.deadlines import add_limit, time_limit_for
from gridgov.appeals.models import (
    TRANSITIONS,
    Category,
    Channel,
    Priority,
    Rating,
    Status,
    TimeUnit,
)
from gridgov.core import workdays
from gridgov.core.scope import subtree_q
from gridgov.demo.appeals import texts
from gridgov.people.models import Resident
from gridgov.territory import geo
from gridgov.territory.models import Department, Grid, Region, RegionKind

HISTORY_DAYS = 90  # the history ends now and starts this many days before
PER_SCALE = 400  # appeals at scale 1
MINIMUM = 50
# Each appeal is a dozen service calls (about 20 ms on SQLite): a large --scale, meant for
# the registers (residents, houses, shops), would otherwise spend hours here.
MAXIMUM = 2000

# Finished stories: kind → (share of the appeals, at least this many).
FINISHED: dict[str, tuple[float, int]] = {
    "closed": (0.60, 12),
    "reworked": (0.06, 2),  # 返工: unsatisfied, reopened, handled again
    "returned": (0.05, 2),  # 退单: a department returns a wrong dispatch; re-dispatched
    "extended": (0.03, 1),  # 延期 asked for and (mostly) approved
    "late": (0.04, 2),  # overdue, supervised (督办), closed late
    "rejected": (0.03, 1),
    "withdrawn": (0.03, 1),
}


@dataclass(frozen=True)
class OpenKind:
    share: float
    least: int
    story: str  # the finished story it is the beginning of
    stop: str  # the status it has reached by the end
    used: tuple[float, float]  # share of its time limit used by the end (deadline colour)


# The recent tail, still open at the end.
OPEN: dict[str, OpenKind] = {
    "received": OpenKind(0.01, 1, "closed", Status.RECEIVED, (0.02, 0.3)),
    "registered": OpenKind(0.01, 1, "closed", Status.REGISTERED, (0.05, 0.4)),
    "dispatched": OpenKind(0.015, 1, "closed", Status.DISPATCHED, (0.1, 0.5)),
    "accepted": OpenKind(0.02, 1, "closed", Status.ACCEPTED, (0.2, 0.7)),
    "amber": OpenKind(0.01, 1, "closed", Status.ACCEPTED, (0.84, 0.94)),
    "overdue": OpenKind(0.015, 1, "late", Status.ACCEPTED, (1.15, 2.0)),
    "extension": OpenKind(0.005, 1, "extended", Status.ACCEPTED, (0.72, 0.9)),
    "returned": OpenKind(0.005, 1, "returned", Status.RETURNED, (0.15, 0.6)),
    "handled": OpenKind(0.015, 1, "closed", Status.HANDLED, (0.35, 0.78)),
    "verified": OpenKind(0.005, 1, "closed", Status.VERIFIED, (0.45, 0.8)),
}

# When each channel's reports come in (local hours, from–to).
CHANNEL_HOURS: dict[str, tuple[float, float]] = {
    Channel.HOTLINE: (7, 23),
    Channel.SELF_SERVICE: (6.5, 23.5),
    Channel.API: (0, 24),
    Channel.DOORSTEP: (8.5, 18),
    Channel.GRID_PATROL: (8, 18),
    Channel.MEETING: (9, 17),
    Channel.REPRESENTATIVE: (9, 17),
}
# Which channels bring which problems: by who ends up handling them.
CHANNEL_WEIGHTS: dict[str, dict[str, int]] = {
    "grid": {
        Channel.GRID_PATROL: 40,
        Channel.DOORSTEP: 20,
        Channel.HOTLINE: 20,
        Channel.SELF_SERVICE: 12,
        Channel.MEETING: 4,
        Channel.REPRESENTATIVE: 4,
    },
    "community": {
        Channel.DOORSTEP: 35,
        Channel.HOTLINE: 25,
        Channel.SELF_SERVICE: 15,
        Channel.MEETING: 10,
        Channel.REPRESENTATIVE: 10,
        Channel.GRID_PATROL: 5,
    },
    "department": {
        Channel.HOTLINE: 45,
        Channel.SELF_SERVICE: 15,
        Channel.GRID_PATROL: 15,
        Channel.DOORSTEP: 12,
        Channel.API: 8,
        Channel.REPRESENTATIVE: 5,
    },
}
# Routes: small matters end in the grid or community, some go up the ladder; a department's
# matter is dispatched to it, or the community (or the street, above it) whistles.
ROUTES: dict[str, dict[str, int]] = {
    "grid": {"grid": 80, "escalate": 20},
    "community": {"community": 85, "escalate": 15},
    "department": {"department": 70, "whistle": 22, "street": 8},
}
ONLINE = frozenset({Channel.HOTLINE, Channel.SELF_SERVICE, Channel.API})


@dataclass
class Step:
    at: dt.datetime
    action: str
    actor: User | None
    kwargs: dict[str, Any]
    by_code: bool = False  # the reporter acts with the tracking code


@dataclass
class Case:
    kind: str
    category: Category
    priority: str
    channel: str
    route: str
    community: Region
    grid: Grid
    departments: list[Department]
    intake: dict[str, Any]
    result: str
    reporter_acts: bool  # the reporter rates (and withdraws) it themselves
    placed_later: bool  # reported online without a place: the operator places it
    intake_actor: User | None  # None: a resident online without an account
    registrar: User
    desk: User  # dispatches, decides, closes
    verifier: User | None  # None: the reporter with the tracking code
    start: dt.datetime | None = None
    deadline: dt.datetime | None = None
    round_the_clock: bool = False
    steps: list[Step] = field(default_factory=list)
    pk: int | None = None
    code: str = ""

    def add(
        self, at: dt.datetime, action: str, actor: User | None, *, by_code: bool = False, **kw: Any
    ) -> dt.datetime:
        self.steps.append(Step(at, action, actor, kw, by_code))
        return at


def _minutes(lo: float, hi: float, rng: random.Random) -> dt.timedelta:
    return dt.timedelta(seconds=round(rng.uniform(lo, hi) * 60))


def _at(day: dt.date, hours: float) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(0))) + dt.timedelta(hours=hours)


class Planner:
    """Plans the appeals of one district: ``plan()`` answers the cases, each with its steps."""

    def __init__(self, *, district: Region, seed: int, scale: float, end: dt.datetime) -> None:
        self.rng = random.Random(f"gridgov-demo-appeals:{seed}")
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed + 7919)
        self.scale = scale
        self.end = end
        self.start = end - dt.timedelta(days=HISTORY_DAYS)
        self.limits: dict[tuple[int, str], tuple[int, str]] = {}
        self.login_waiting = False
        self.opened = 0
        self.made_address_only = False
        # The open kinds whose first case went to the demo's logins' grid (the supervision
        # page of the street-official login shows an amber and an overdue case).
        self.shown_to_logins: set[str] = set()
        self._load(district)

    # --- the district as the generator left it -----------------------------------------------

    def _load(self, district: Region) -> None:
        self.categories = {
            c.code: c
            for c in Category.objects.filter(
                district=district, parent__isnull=False, is_active=True
            ).select_related("parent")
        }
        self.books = [code for code in texts.PLAYBOOKS if code in self.categories]
        self.departments = {
            d.code.removeprefix("D-"): d
            for d in Department.objects.filter(district=district, is_active=True).order_by("code")
        }
        grids = list(
            Grid.objects.filter(district=district)
            .select_related("region", "owner")
            .order_by("code")
        )
        self.grids = {g.pk: g for g in grids}
        parents = {g.parent_id for g in grids}
        self.leaf_grids = [g for g in grids if g.pk not in parents and g.polygon and g.owner_id]
        self.buildings = list(
            Region.objects.filter(district=district, kind=RegionKind.BUILDING)
            .exclude(latitude=None)
            .select_related("parent")
            .order_by("code")
        )
        self.buildings_in: dict[int, list[Region]] = {}
        for b in self.buildings:
            grid_id = geo.grid_id_for_point(latitude=b.latitude, longitude=b.longitude)
            self.buildings_in.setdefault(grid_id or 0, []).append(b)
        # The grid of the demo's grid-worker login (in the community-worker login's community).
        self.login_grid = next(
            (g for g in self.leaf_grids if g.owner.username == Role.GRID_WORKER), None
        )
        self.residents: dict[int, list[Resident]] = {}
        for r in (
            Resident.objects.filter(district=district, is_active=True)
            .exclude(phone="")
            .annotate(building_id=F("region__parent_id"))
            .only("name", "phone", "district")
            .order_by("pk")
        ):
            self.residents.setdefault(r.building_id, []).append(r)
        users = list(
            User.objects.filter(subtree_q("scope_region__path", district.path), is_active=True)
            .select_related("scope_region")
            .order_by("username")
        )
        self.community_workers: dict[int, User] = {}
        self.street_officials: dict[int, User] = {}
        self.handlers: dict[int, User] = {}
        self.operator = None
        for u in users:
            if u.role == Role.COMMUNITY_WORKER:
                self.community_workers.setdefault(u.scope_region_id, u)
            elif u.role == Role.STREET_OFFICIAL:
                self.street_officials.setdefault(u.scope_region_id, u)
            elif u.role == Role.DEPARTMENT_HANDLER and u.department_id:
                self.handlers.setdefault(u.department_id, u)
            elif u.role == Role.OPERATOR and self.operator is None:
                self.operator = u
        self.resident_login = (
            User.objects.filter(role=Role.RESIDENT, is_active=True).order_by("username").first()
        )

    def _limit(self, category: Category, priority: str) -> tuple[int, str]:
        """The time limit the services will apply (read once per category and priority)."""
        key = (category.pk, priority)
        if key not in self.limits:
            self.limits[key] = time_limit_for(category, priority)
        return self.limits[key]

    # --- choosing -----------------------------------------------------------------------------

    def _weighted(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _problem(self, *, needs_department: bool) -> tuple[str, texts.Problem]:
        rng = self.rng
        while True:
            code = rng.choices(self.books, [texts.PLAYBOOKS[c].weight for c in self.books])[0]
            problems = [
                p
                for p in texts.PLAYBOOKS[code].problems
                if not needs_department or self._handled_by_department(p.handler)
            ]
            if problems:
                return code, rng.choice(problems)

    def _handled_by_department(self, handler: str) -> bool:
        return handler not in ("grid", "community") and all(
            code in self.departments and self.departments[code].pk in self.handlers
            for code in handler.split(",")
        )

    def _spot(
        self, outdoor: bool, within: Grid | None = None
    ) -> tuple[tuple[float, float], Region, Grid]:
        """A point (at a building, or on a street inside a grid), the leaf grid it falls in,
        and a building there (on a street: one of the grid's community); ``within`` that
        grid when given."""
        rng = self.rng
        while True:
            at_home = self.buildings_in.get(within.pk, []) if within else self.buildings
            if outdoor or not at_home:
                grid = within or rng.choice(self.leaf_grids)
                ring = grid.polygon["coordinates"][0]
                xs, ys = [p[0] for p in ring], [p[1] for p in ring]
                x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
                lon = round(rng.uniform(x0 + (x1 - x0) * 0.15, x1 - (x1 - x0) * 0.15), 6)
                lat = round(rng.uniform(y0 + (y1 - y0) * 0.15, y1 - (y1 - y0) * 0.15), 6)
                building = None
            else:
                building = rng.choice(at_home)
                lat = round(building.latitude + rng.uniform(-0.0002, 0.0002), 6)
                lon = round(building.longitude + rng.uniform(-0.0002, 0.0002), 6)
            grid = self.grids.get(geo.grid_id_for_point(latitude=lat, longitude=lon) or 0)
            if grid is None or not grid.owner_id or grid.region.pk not in self.community_workers:
                continue
            if within is not None and grid != within:
                continue
            if building is None:
                nearby = [b for b in self.buildings if b.path.startswith(grid.region.path)]
                building = rng.choice(nearby or self.buildings)
            return (lat, lon), building, grid

    def _values(self, building: Region) -> dict[str, Any]:
        """What fills a text's placeholders (see ``texts``)."""
        return {
            "place": f"{building.parent.name}{building.name}",
            "compound": building.parent.name,
            "building": building.name,
            "road": self.rng.choice(texts.ROADS),
            "floor": self.rng.randint(2, 11),
        }

    def _reporter(
        self,
        channel: str,
        building: Region,
        *,
        outdoor: bool,
        worker: User,
        staff: bool,
        resident_login: bool,
    ) -> tuple[bool, dict[str, Any]]:
        """The reporter fields of an intake, and whether the demo's resident login reports
        it (from their account: they are then the intake's actor too)."""
        rng, fake = self.rng, self.fake
        if channel == Channel.GRID_PATROL:
            return False, {"reporter_name": worker.display_name}
        if channel == Channel.MEETING:
            return False, {"reporter_name": f"{building.parent.name}居民议事会"}
        if channel == Channel.REPRESENTATIVE:
            title = rng.choice(["区人大代表", "区政协委员", "区党代表"])
            return False, {
                "reporter_name": f"{title}{fake.name()}",
                "reporter_phone": fake.phone_number(),
            }
        login = self.resident_login
        if channel == Channel.SELF_SERVICE and login and (resident_login or rng.random() < 0.08):
            return True, {"reporter_name": login.display_name, "reporter_phone": login.phone}
        people = self.residents.get(building.pk, [])
        if people and not outdoor and rng.random() < 0.55:
            person = rng.choice(people)
            fields: dict[str, Any] = {"reporter_name": person.name, "reporter_phone": person.phone}
            if staff:
                fields["reporter"] = person  # staff look the resident up
            return False, fields
        name = fake.name()
        if channel == Channel.HOTLINE and rng.random() < 0.5:
            name = f"{fake.last_name()}{rng.choice(['先生', '女士'])}"
        if rng.random() < 0.12:
            name = ""  # 匿名
        return False, {"reporter_name": name, "reporter_phone": fake.phone_number()}

    def _case(
        self,
        kind: str,
        *,
        code: str | None = None,
        problem: texts.Problem | None = None,
        route: str | None = None,
        channel: str | None = None,
        spot: tuple[tuple[float, float], Region, Grid] | None = None,
        values: dict[str, Any] | None = None,
        resident_login: bool = False,
        within: Grid | None = None,
    ) -> Case:
        """A new case of ``kind``: what, where, who reports it and who works it."""
        rng = self.rng
        if problem is None:
            code, problem = self._problem(needs_department=kind == "returned")
        assert code is not None
        category = self.categories[code]
        owner = problem.handler if problem.handler in ("grid", "community") else "department"
        if not self._handled_by_department(problem.handler) and owner == "department":
            owner = "community"
        route = route or ("department" if kind == "returned" else self._weighted(ROUTES[owner]))
        if resident_login:
            channel = Channel.SELF_SERVICE
        if channel is None:
            weights = CHANNEL_WEIGHTS[owner]
            if kind in ("rejected", "withdrawn"):
                weights = {c: w for c, w in weights.items() if c in ONLINE or c == Channel.DOORSTEP}
            channel = self._weighted(weights)
        outdoor = "{road}" in problem.text
        point, building, grid = spot or self._spot(outdoor, within)
        community, compound = grid.region, building.parent
        values = values or self._values(building)
        if outdoor:
            address = (
                f"{values['road']}{rng.choice(['附近', '路口', f'{rng.randint(1, 300)}号附近'])}"
            )
        else:
            address = f"{compound.name}{building.name}"
        priority = category.default_priority
        if (
            priority == Priority.NORMAL
            and owner == "department"
            and self._limit(category, priority)[1] == TimeUnit.WORKING_DAYS
            and rng.random() < 0.08
        ):
            priority = Priority.COMPLEX  # corrected when the case is registered
        intake: dict[str, Any] = {
            "channel": channel,
            "category": category,
            "description": problem.text.format(**values),
            "address": address,
            "latitude": point[0],
            "longitude": point[1],
        }
        placed_later = False
        if spot is None and channel not in (Channel.GRID_PATROL, Channel.API) and not outdoor:
            # An address, no point on the map: now and then, and surely once (a small build).
            if rng.random() < 0.06 or not self.made_address_only:
                self.made_address_only = True
                intake.update(latitude=None, longitude=None)
                if channel == Channel.SELF_SERVICE:
                    placed_later = True  # the operator places it when registering
                else:
                    intake["region"] = community
        cw = self.community_workers[community.pk]
        worker = grid.owner
        reporter_acts = channel == Channel.SELF_SERVICE
        intake_actor = {
            Channel.HOTLINE: self.operator,
            Channel.GRID_PATROL: worker,
            Channel.SELF_SERVICE: None,
            Channel.API: None,
        }.get(channel, cw)
        by_login, reporter = self._reporter(
            channel,
            building,
            outdoor=outdoor,
            worker=worker,
            staff=intake_actor is not None,
            resident_login=resident_login,
        )
        intake.update(reporter)
        if by_login:
            intake_actor = self.resident_login
        desk = self.operator if channel in ONLINE else cw
        if reporter_acts:
            verifier = intake_actor  # the reporter: their account, or the code
        elif channel in ONLINE:
            verifier = self.operator  # 回访 by the command centre
        elif channel == Channel.GRID_PATROL or rng.random() < 0.5:
            verifier = worker
        else:
            verifier = cw
        return Case(
            kind=kind,
            category=category,
            priority=priority,
            channel=channel,
            route=route,
            community=community,
            grid=grid,
            departments=[
                self.departments[c] for c in problem.handler.split(",") if owner == "department"
            ],
            intake=intake,
            result=problem.result.format(**values),
            reporter_acts=reporter_acts,
            placed_later=placed_later,
            intake_actor=intake_actor,
            registrar=worker if channel == Channel.GRID_PATROL else desk,
            desk=desk,
            verifier=verifier,
        )

    # --- timing -------------------------------------------------------------------------------

    def _shift(
        self, case: Case, t: dt.datetime, actor: User | None, *, on_duty: bool = False
    ) -> dt.datetime:
        """Move ``t`` into the hours ``actor`` works: the command centre and urgent cases
        round the clock, departments on working days (their duty staff sign for new cases
        every day), everyone else in the daytime."""
        if case.round_the_clock or (actor is not None and actor is self.operator):
            return t
        local = timezone.localtime(t)
        office = actor is not None and bool(actor.department_id) and not on_duty
        first, last = (9, 18) if office else (8, 20)
        if first <= local.hour < last and (not office or workdays.is_working_day(local.date())):
            return t
        day = local.date() if local.hour < first else local.date() + dt.timedelta(days=1)
        while office and not workdays.is_working_day(day):
            day += dt.timedelta(days=1)
        return _at(day, first) + _minutes(5, 100, self.rng)

    def _after(
        self, case: Case, t: dt.datetime, actor: User | None, lo: float, hi: float
    ) -> dt.datetime:
        """A moment ``lo``–``hi`` minutes after ``t`` (quicker when urgent), in ``actor``'s
        hours."""
        if case.priority == Priority.URGENT:
            lo, hi = lo / 6, hi / 6
        return self._shift(case, t + _minutes(lo, hi, self.rng), actor)

    def _accept_at(self, case: Case, t: dt.datetime, actor: User) -> dt.datetime:
        """When ``actor`` signs for the case: mostly within hours, now and then a day late."""
        rng = self.rng
        if case.round_the_clock:
            return self._after(case, t, actor, 5, 90)
        slow = rng.random() < 0.05
        delay = _minutes(26 * 60, 50 * 60, rng) if slow else _minutes(10, 300, rng)
        return self._shift(case, t + delay, actor, on_duty=True)

    # --- one story ----------------------------------------------------------------------------

    def _story(self, case: Case, start: dt.datetime, *, handle_from: float = 0.12) -> None:
        """Fill ``case.steps`` with the whole story of its kind, from ``start``."""
        rng = self.rng
        case.steps = []
        case.start = start
        amount, unit = self._limit(case.category, case.priority)
        case.deadline = add_limit(start, amount, unit)
        case.round_the_clock = unit == TimeUnit.CALENDAR_HOURS
        case.add(start, "intake", case.intake_actor, **case.intake)
        desk = case.desk
        t = start
        if case.kind != "rejected" or rng.random() < 0.4:
            t = self._register(case, t)
        if case.kind == "rejected":
            t = self._after(case, t, desk, 10, 240)
            case.add(t, "reject", desk, reason=rng.choice(texts.REJECT_REASONS))
            return
        if case.kind == "withdrawn":
            if rng.random() < 0.4:
                t = self._after(case, t, desk, 5, 90)
                case.add(t, "dispatch", desk, region=case.community)
            t = self._after(case, t, None, 60, 30 * 60)
            reason = rng.choice(texts.WITHDRAW_REASONS)
            if case.reporter_acts:
                case.add(t, "withdraw", case.intake_actor, by_code=True, reason=reason)
            elif t >= case.deadline:
                # Staff may not withdraw a case past its deadline: the reporter does, by code.
                case.add(t, "withdraw", None, by_code=True, reason=reason)
            else:
                case.add(t, "withdraw", desk, reason=f"反映人来电撤回：{reason}")
            return
        handler, t = self._route(case, t)
        self._handling(case, t, handler, handle_from)

    def _register(self, case: Case, t: dt.datetime) -> dt.datetime:
        """立案, placing an online report without a place and correcting the priority."""
        registrar = case.registrar
        lo, hi = (1, 20) if registrar is self.operator else (5, 120)
        t = self._after(case, t, registrar, lo, hi)
        kwargs: dict[str, Any] = {"note": self.rng.choice(texts.REGISTER_NOTES)}
        if case.placed_later:
            kwargs["region"] = case.community
        if case.priority != case.category.default_priority:
            kwargs.update(priority=case.priority, note=texts.COMPLEX_NOTE)
        return case.add(t, "register", registrar, **kwargs)

    def _route(self, case: Case, t: dt.datetime) -> tuple[User, dt.datetime]:
        """Dispatch, return, escalate or whistle until someone accepts; (handler, time)."""
        rng, desk, cw = self.rng, case.desk, self.community_workers[case.community.pk]
        if case.route in ("grid", "escalate"):
            t = case.add(self._after(case, t, desk, 2, 90), "dispatch", desk, grid=case.grid)
            worker = case.grid.owner
            t = case.add(self._accept_at(case, t, worker), "accept", worker)
            if case.route == "grid":
                return worker, t
            t = self._after(case, t, worker, 60, 24 * 60)
            case.add(t, "escalate", worker, reason=rng.choice(texts.ESCALATE_REASONS))
            return cw, case.add(self._accept_at(case, t, cw), "accept", cw)
        if case.route == "community":
            t = self._after(case, t, desk, 2, 90)
            case.add(t, "dispatch", desk, region=case.community)
            return cw, case.add(self._accept_at(case, t, cw), "accept", cw)
        first = case.departments[0]
        if case.route == "department":
            if case.kind == "returned":
                staffed = [d for d in self.departments.values() if d.pk in self.handlers]
                near = texts.MISDIRECTED.get(first.code.removeprefix("D-"), ())
                wrong = rng.choice(
                    [d for d in staffed if d.code.removeprefix("D-") in near]
                    or [d for d in staffed if d != first]
                )
                wrong_handler = self.handlers[wrong.pk]
                t = self._after(case, t, desk, 2, 60)
                case.add(t, "dispatch", desk, department=wrong)
                if rng.random() < 0.5:
                    t = case.add(self._accept_at(case, t, wrong_handler), "accept", wrong_handler)
                t = self._after(case, t, wrong_handler, 30, 480)
                reason = rng.choice(texts.RETURN_REASONS).format(right=first.name)
                case.add(t, "return", wrong_handler, reason=reason)
                note = rng.choice(texts.REDISPATCH_NOTES).format(right=first.name)
                t = self._after(case, t, desk, 5, 120)
                case.add(t, "dispatch", desk, department=first, note=note)
            else:
                t = self._after(case, t, desk, 2, 60)
                case.add(t, "dispatch", desk, department=first)
            handler = self.handlers[first.pk]
            return handler, case.add(self._accept_at(case, t, handler), "accept", handler)
        # 吹哨: the community (or, above it, the street) calls the departments in.
        whistler = cw
        if desk is not cw or case.route == "street":
            t = self._after(case, t, desk, 2, 90)
            case.add(t, "dispatch", desk, region=case.community)
            t = case.add(self._accept_at(case, t, cw), "accept", cw)
        if case.route == "street":
            whistler = self.street_officials[case.community.parent_id]
            t = self._after(case, t, cw, 60, 24 * 60)
            case.add(t, "escalate", cw, reason=rng.choice(texts.STREET_REASONS))
            t = case.add(self._accept_at(case, t, whistler), "accept", whistler)
        t = self._after(case, t, whistler, 10, 180)
        note = rng.choice(texts.WHISTLE_NOTES)
        case.add(t, "whistle", whistler, departments=case.departments, note=note)
        handler = None
        for dept in case.departments:  # the first to report handles; the others report
            if case.round_the_clock:
                t += _minutes(5, 40, rng)
            else:
                late = rng.random() < 0.15
                hours = rng.uniform(2.3, 5) if late and handler is None else rng.uniform(0.2, 1.8)
                t = workdays.add_working_hours(t, hours).replace(microsecond=0)
            reporter = self.handlers[dept.pk]
            case.add(t, "accept", reporter)
            handler = handler or reporter
        assert handler is not None
        return handler, t

    def _handling(self, case: Case, t: dt.datetime, handler: User, handle_from: float) -> None:
        """Handle, verify and close (with rework, extension or supervision by kind)."""
        rng, desk = self.rng, case.desk
        assert case.start is not None and case.deadline is not None
        start, deadline = case.start, case.deadline
        if case.verifier is handler:
            # Never the handler's own 回访: the community worker calls back on what the grid
            # worker settled, the grid worker on what the community worker did.
            cw = self.community_workers[case.community.pk]
            case.verifier = cw if handler is not cw else case.grid.owner
        span = deadline - start
        if case.kind == "extended":
            request_at = start + span * rng.uniform(0.45, 0.7)
            t = self._shift(case, max(t + dt.timedelta(minutes=30), request_at), handler)
            days = rng.choice([2, 3, 5])
            case.add(
                t,
                "extend_request",
                handler,
                working_days=days,
                reason=rng.choice(texts.EXTENSION_REASONS),
            )
            approve = rng.random() < 0.8
            # Never the handler's own decision: the street decides when the desk handles.
            decider = self.street_officials[case.community.parent_id] if desk is handler else desk
            t = self._after(case, t, decider, 30, 360)
            note = "" if approve else texts.EXTENSION_REFUSED
            case.add(t, "extend_decide", decider, approve=approve, note=note)
            if approve:
                deadline = workdays.add_working_days(deadline, days)
            handle_at = start + (deadline - start) * rng.uniform(
                *((0.75, 0.92) if approve else (1.05, 1.3))
            )
        elif case.kind == "late":
            handle_at = start + span * rng.uniform(1.15, 1.8)
            supervisor = rng.choice(
                [self.operator, self.street_officials[case.community.parent_id]]
            )
            for share in sorted(rng.uniform(0.05, 0.6) for _ in range(rng.choice([1, 1, 2]))):
                at = self._shift(case, deadline + (handle_at - deadline) * share, supervisor)
                if t < at < handle_at:
                    t = case.add(
                        at, "supervise", supervisor, note=rng.choice(texts.SUPERVISE_NOTES)
                    )
        else:
            late = rng.random() < 0.06
            handle_at = start + span * rng.uniform(
                *((1.05, 1.4) if late else (max(handle_from, 0.12), 0.7))
            )
        t = self._shift(case, max(t + dt.timedelta(minutes=20), handle_at), handler)
        case.add(t, "handle", handler, result=case.result)
        if case.kind == "reworked":
            t = self._verify(case, t, deadline, Rating.UNSATISFIED, False)
            t = self._after(case, t, desk, 10, 180)
            case.add(t, "reopen", desk, reason=rng.choice(texts.REOPEN_REASONS))
            t = self._after(case, t, handler, 180, 72 * 60)
            case.add(t, "handle", handler, result=rng.choice(texts.REWORK_RESULTS))
        rating = rng.choices(
            [Rating.SATISFIED, Rating.BASIC, Rating.UNSATISFIED],
            weights=[78, 16, 0 if case.kind == "reworked" else 6],
        )[0]
        resolved = rating == Rating.SATISFIED or (rating == Rating.BASIC and rng.random() < 0.9)
        t = self._verify(case, t, deadline, rating, resolved)
        if t < deadline:
            t += min(_minutes(5, 180, rng), (deadline - t) * rng.uniform(0.05, 0.4))
        else:
            t += _minutes(5, 180, rng)
        t = self._shift(case, t, desk)
        note = rng.choice(texts.CLOSE_NOTES) if resolved else texts.CLOSE_UNRESOLVED_NOTE
        closer = desk
        if rating == Rating.UNSATISFIED and not has_cap(desk, APPEAL_SUPERVISE):
            # An unsatisfied case is closed as it is only by a supervisor (审核办结).
            closer = self.street_officials[case.community.parent_id]
        case.add(t, "close", closer, note=note)

    def _verify(
        self, case: Case, t: dt.datetime, deadline: dt.datetime, rating: str, resolved: bool
    ) -> dt.datetime:
        """回访: within the time left when there is some, else a day or so after handling."""
        rng = self.rng
        if t < deadline:
            t += min(_minutes(20, 24 * 60, rng), (deadline - t) * rng.uniform(0.1, 0.5))
        else:
            t += _minutes(60, 30 * 60, rng)
        t = self._shift(case, t, case.verifier)
        comments = {
            Rating.SATISFIED: texts.SATISFIED_COMMENTS,
            Rating.BASIC: texts.BASIC_COMMENTS,
            Rating.UNSATISFIED: texts.UNSATISFIED_COMMENTS,
        }[rating]
        return case.add(
            t,
            "verify",
            case.verifier,
            by_code=case.reporter_acts,
            rating=rating,
            resolved=resolved,
            comment=rng.choice(comments),
        )

    # --- the whole plan -----------------------------------------------------------------------

    def _intake_time(self, channel: str, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
        """A moment in [lo, hi] when ``channel`` takes reports; fewer at weekends."""
        rng = self.rng
        first, last = CHANNEL_HOURS[channel]
        for _ in range(1000):
            day = timezone.localtime(lo).date() + dt.timedelta(
                days=rng.randint(0, max(0, (hi - lo).days))
            )
            if day.weekday() >= 5 and rng.random() < 0.4:
                continue
            at = _at(day, rng.uniform(first, last)).replace(microsecond=0)
            if lo <= at <= hi:
                return at
        return hi

    def _finished(self, case: Case) -> Case:
        """A finished story, moved earlier until it ends before the history does."""
        floor = self.start + dt.timedelta(hours=1)
        start = self._intake_time(case.channel, floor, self.end - dt.timedelta(days=3))
        for _ in range(6):
            self._story(case, start)
            overrun = case.steps[-1].at - (self.end - dt.timedelta(minutes=30))
            if overrun <= dt.timedelta(0) or start == floor:
                break
            start = max(floor, start - overrun - dt.timedelta(days=1))
        case.steps = [s for s in case.steps if s.at <= self.end]
        return case

    def _open(self, name: str, spec: OpenKind) -> Case:
        """A recent case that has reached ``spec.stop`` and used ``spec.used`` of its time."""
        rng = self.rng
        # The demo's resident login has one case waiting for their rating.
        waiting = name == "handled" and not self.login_waiting
        self.login_waiting = self.login_waiting or waiting
        # Every third lies in the grid of the demo's grid-worker login, so that the demo's
        # logins find work waiting for them.
        first = name in ("amber", "overdue") and name not in self.shown_to_logins
        self.shown_to_logins.add(name)
        within = self.login_grid if self.opened % 3 == 0 or first else None
        self.opened += 1
        case = self._case(spec.story, resident_login=waiting, within=within)
        amount, unit = self._limit(case.category, case.priority)
        start = self.end - dt.timedelta(hours=1)
        # Ages up to 2.5 times the limit's length (at most 40 days): a 2-hour limit is found
        # in its window as surely as a 15-working-day one, whatever hour the history ends.
        longest = min(2.5 * (add_limit(self.end, amount, unit) - self.end), dt.timedelta(days=40))
        for _ in range(400):
            age = dt.timedelta(minutes=rng.uniform(5, longest / dt.timedelta(minutes=1)))
            candidate = (self.end - age).replace(microsecond=0)
            share = age / (add_limit(candidate, amount, unit) - candidate)
            if spec.used[0] <= share <= spec.used[1]:
                start = candidate
                break
        self._story(case, start)
        status, kept = Status.RECEIVED, case.steps[:1]
        for step in case.steps[1:]:
            after = leads_to(step.action, status)
            if status == spec.stop and after is not None:
                break
            kept.append(step)
            status = after or status
        if status != spec.stop:
            raise AssertionError(f"the {spec.story} story never reaches {spec.stop}")
        kept = [s for s in kept if s.action != "extend_decide"]
        # Squeeze the steps that change the state in before the end; drop the others after it.
        last = self.end - dt.timedelta(minutes=3)
        moving = [s for s in kept[1:] if leads_to(s.action, None) is not None]
        if moving and moving[-1].at > last:
            ratio = (last - start) / (moving[-1].at - start)
            for s in moving:
                s.at = (start + (s.at - start) * ratio).replace(microsecond=0)
        kept = [s for s in kept if s.at <= last]
        extra = {"overdue": "supervise", "extension": "extend_request"}.get(name)
        if extra and not any(s.action == extra for s in kept):
            at = kept[-1].at + (last - kept[-1].at) * rng.uniform(0.3, 0.8)
            actor = self.operator if extra == "supervise" else kept[-1].actor
            if extra == "supervise":
                kwargs: dict[str, Any] = {"note": rng.choice(texts.SUPERVISE_NOTES)}
            else:
                kwargs = {"working_days": 3, "reason": rng.choice(texts.EXTENSION_REASONS)}
            kept.append(Step(at.replace(microsecond=0), extra, actor, kwargs))
        for before, step in itertools.pairwise(kept):
            step.at = max(step.at, before.at + dt.timedelta(seconds=1))
        case.steps = kept
        return case

    def _cluster(self, cluster: texts.Cluster, size: int) -> list[Case]:
        """One problem reported ``size`` times within two days, merged by the operator (A4)."""
        rng = self.rng
        point, building, grid = self._spot("{road}" in cluster.reports[0])
        values = self._values(building)  # one place, one road, one floor for every report
        problem = texts.Problem(cluster.reports[0], cluster.result, cluster.handler)
        primary = self._case(
            "closed",
            code=cluster.category,
            problem=problem,
            route="department",
            channel=Channel.HOTLINE,
            spot=(point, building, grid),
            values=values,
        )
        lo = self.end - dt.timedelta(days=HISTORY_DAYS - 10)
        start = self._intake_time(Channel.HOTLINE, lo, self.end - dt.timedelta(days=25))
        self._story(primary, start, handle_from=0.5)
        duplicates, t = [], start
        reports = list(cluster.reports[1:])
        rng.shuffle(reports)
        for i in range(size - 1):
            t = min(t + _minutes(10, 300, rng), start + dt.timedelta(hours=40))
            lat = round(point[0] + rng.uniform(-0.0002, 0.0002), 6)
            lon = round(point[1] + rng.uniform(-0.0002, 0.0002), 6)
            text = texts.Problem(reports[i % len(reports)], cluster.result, cluster.handler)
            dup = self._case(
                "merged",
                code=cluster.category,
                problem=text,
                route="department",
                channel=rng.choice([Channel.HOTLINE, Channel.SELF_SERVICE, Channel.DOORSTEP]),
                spot=((lat, lon), building, grid),
                values=values,
            )
            dup.add(t, "intake", dup.intake_actor, **dup.intake)
            duplicates.append(dup)
        merge_at = t + _minutes(20, 180, rng)
        merge = Step(
            merge_at,
            "merge",
            self.operator,
            {"duplicates": duplicates, "note": cluster.note},
        )
        index = next(i for i, s in enumerate(primary.steps) if s.at > merge_at)
        if any(s.action == "handle" for s in primary.steps[:index]):
            raise AssertionError("the duplicates must be merged before the case is handled")
        primary.steps.insert(index, merge)
        return [primary, *duplicates]

    def plan(self) -> list[Case]:
        """Every case of the district's history, finished and open, with its steps."""
        n = min(MAXIMUM, max(MINIMUM, round(PER_SCALE * self.scale)))
        cases = []
        for kind, (share, least) in FINISHED.items():
            cases += [self._finished(self._case(kind)) for _ in range(max(least, round(share * n)))]
        for name, spec in OPEN.items():
            cases += [self._open(name, spec) for _ in range(max(spec.least, round(spec.share * n)))]
        cases += self._cluster(texts.LIFT, min(12, max(3, round(11 * n / PER_SCALE))))
        if n >= PER_SCALE // 2:
            for cluster in texts.STREET_CLUSTERS:
                cases += self._cluster(cluster, self.rng.randint(2, 4))
        return cases


def leads_to(action: str, status: str | None) -> str | None:
    """The state a planned step leads to (``models.TRANSITIONS``), None when unchanged: a
    second whistled department's report, the primary's side of a merge, supervision..."""
    if action == "merge" or (action == "accept" and status == Status.ACCEPTED):
        return None
    return TRANSITIONS[action][1] if action in TRANSITIONS else None
