"""The demo district: Yuwangtai district of Kaifeng (禹王台区, 410205), invented in detail.

Boundaries are invented: each street or township is a rectangle, each community a
rectangle inside it, and the grids a rectangular partition of each community (level-1
strips, some split again into level-2 grids), so grids tile every community exactly.

Everything is drawn from one ``random.Random(seed)`` and one seeded Faker, in a fixed
order, so the same seed gives the same data. Rows are written with ``bulk_create``;
``scale`` multiplies houses, residents and shops (the district's published counts of
heads, party households, partner units, party members and stations stay as they are).
The appeals are the exception: ``demo.appeals`` works them through the appeal services,
from a generator of its own seeded the same way, so that their history, audit rows and
rates are what real use leaves behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from faker import Faker

from gridgov.accounts.models import Role, User
from gridgov.appeals.models import Appeal, AppealEvent
from gridgov.people.models import (
    Business,
    BusinessKind,
    BusinessStatus,
    Gender,
    House,
    Household,
    MemberKind,
    Occupancy,
    OccupancyRole,
    PartnerUnit,
    PartyMember,
    PartyOrg,
    PartyOrgKind,
    Resident,
    RoleAssignment,
    RoleKind,
    Tenure,
)
from gridgov.territory import geo
from gridgov.territory.models import (
    Department,
    Facility,
    FacilityKind,
    Grid,
    PropertyManager,
    Region,
    RegionKind,
)

DEMO_PASSWORD = "gridgov-demo"  # documented demo logins, printed by the command
DISTRICT_CODE = "410205"
DISTRICT_NAME = "禹王台区"
BBOX = (114.33, 34.72, 114.42, 34.79)  # west, south, east, north
NORTH_SOUTH_SPLIT = 34.745  # streets to the north, the two townships to the south

# (code suffix, name, kind, communities)
SUBDISTRICTS: list[tuple[str, str, str, list[str]]] = [
    ("001", "菜市街道", RegionKind.STREET, ["汴京路社区", "东司门社区", "菜市社区"]),
    ("002", "三里堡街道", RegionKind.STREET, ["三里堡社区", "复兴社区", "禹王台社区"]),
    ("003", "新门关街道", RegionKind.STREET, ["新门关社区", "陇海社区", "东郊社区"]),
    ("004", "繁塔街道", RegionKind.STREET, ["繁塔社区", "苹果园社区", "中山路社区"]),
    ("005", "官坊街道", RegionKind.STREET, ["官坊社区", "宋城社区"]),
    ("200", "南郊乡", RegionKind.TOWNSHIP, ["南郊社区", "范村社区"]),
    ("201", "汪屯乡", RegionKind.TOWNSHIP, ["汪屯社区"]),
]
BUILDINGS_TOTAL = 229  # one building head each
PARTY_HOUSEHOLDS = 170
PARTNER_UNITS = 49
IN_SERVICE_MEMBERS = 1063
COMPOUNDS_PER_COMMUNITY = 4
UNITS_PER_BUILDING = 2
HOUSES_PER_BUILDING = 6  # at scale 1: ~1,400 houses, ~3,000 residents
SHOPS_PER_LEAF_GRID = 3
DEPARTMENTS = [
    ("CG", "城市管理局"),
    ("ZJ", "住房和城乡建设局"),
    ("SW", "水务局"),
    ("GD", "供电公司"),
    ("GA", "公安分局"),
    ("SJ", "市场监督管理局"),
    ("HB", "生态环境分局"),
    ("MZ", "民政局"),
    ("WJ", "卫生健康委员会"),
    ("JT", "交通运输局"),
    ("RQ", "燃气公司"),
    ("JY", "教育局"),
]
FACILITY_HOURS = {
    FacilityKind.PARTY_CENTER: "周一至周日 8:30-18:00",
    FacilityKind.PARTY_HOME: "周一至周五 9:00-17:30",
    FacilityKind.REST_STOP: "全天开放",
    FacilityKind.SERVICE_STATION: "周一至周六 8:00-20:00",
    FacilityKind.MUSEUM: "周二至周日 9:00-17:00",
    FacilityKind.DELIBERATION_HALL: "议事日开放",
}
PARTNER_KINDS = ["机关", "事业单位", "国有企业", "学校", "医院", "非公企业"]
PARTNER_NAMES = [
    "禹王台区人民医院",
    "开封市第二十五中学",
    "禹王台区实验小学",
    "国网开封供电公司城东供电所",
    "开封市公安局禹王台分局",
    "禹王台区税务局",
    "开封大学",
    "禹王台区市场监督管理局",
    "中国邮政开封分公司",
    "开封市自来水公司",
    "禹王台区人民法院",
    "禹王台区人民检察院",
]
SHOP_KINDS = [
    "超市",
    "便利店",
    "餐馆",
    "理发店",
    "药店",
    "水果店",
    "五金店",
    "早餐店",
    "面馆",
    "快递驿站",
    "洗衣店",
    "茶叶店",
]
RESIDENT_TAGS = ["独居老人", "低保户", "残疾人", "退役军人", "空巢老人", "留守儿童"]
BASE_DATE = dt.date(2024, 1, 1)


@dataclass
class DemoResult:
    district: Region
    counts: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)


def _rect(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _splits(a: float, b: float, weights: list[float]) -> list[float]:
    """Cut [a, b] into pieces proportional to ``weights``; shared cut points, rounded."""
    total = sum(weights)
    cuts = [a]
    acc = 0.0
    for w in weights[:-1]:
        acc += w
        cuts.append(round(a + (b - a) * acc / total, 6))
    cuts.append(b)
    return cuts


def _split_rect(
    rect: tuple[float, float, float, float], n: int, rng: random.Random, along: str | None = None
) -> list[tuple[float, float, float, float]]:
    """Partition a rectangle into ``n`` strips (across its longer side unless told)."""
    x0, y0, x1, y1 = rect
    if along is None:
        along = "x" if (x1 - x0) >= (y1 - y0) else "y"
    weights = [rng.uniform(0.8, 1.2) for _ in range(n)]
    if along == "x":
        cuts = _splits(x0, x1, weights)
        return [(cuts[i], y0, cuts[i + 1], y1) for i in range(n)]
    cuts = _splits(y0, y1, weights)
    return [(x0, cuts[i], x1, cuts[i + 1]) for i in range(n)]


def _point_in(rect: tuple[float, float, float, float], rng: random.Random) -> tuple[float, float]:
    x0, y0, x1, y1 = rect
    lon = round(rng.uniform(x0 + (x1 - x0) * 0.1, x1 - (x1 - x0) * 0.1), 6)
    lat = round(rng.uniform(y0 + (y1 - y0) * 0.1, y1 - (y1 - y0) * 0.1), 6)
    return lat, lon


class _Builder:
    def __init__(self, *, seed: int, scale: float, today: dt.date) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.scale = scale
        self.today = today
        self.password = make_password(DEMO_PASSWORD, salt=f"gridgovdemo{seed}")

    # --- helpers ---------------------------------------------------------------------------------

    def _region(
        self, *, code: str, name: str, kind: str, parent: Region | None, **extra: Any
    ) -> Region:
        region = Region(code=code, name=name, kind=kind, parent=parent, **extra)
        if parent is None:
            region.path, region.depth = f"/{code}/", 0
        else:
            region.path, region.depth = f"{parent.path}{code}/", parent.depth + 1
            region.district_id = parent.district_id or parent.pk
        return region

    @staticmethod
    def _gov(obj: Any, region: Region) -> Any:
        obj.region = region
        obj.district_id = region.district_id or region.pk
        obj.region_path = region.path
        return obj

    def _date(self, start_year: int, end_year: int) -> dt.date:
        start = dt.date(start_year, 1, 1).toordinal()
        return dt.date.fromordinal(self.rng.randint(start, dt.date(end_year, 12, 28).toordinal()))

    def _user(self, username: str, role: str, scope: Region | None, **extra: Any) -> User:
        return User(
            username=username,
            password=self.password,
            role=role,
            scope_region=scope,
            display_name=extra.pop("display_name", None) or self.fake.name(),
            phone=extra.pop("phone", None) or self.fake.phone_number(),
            **extra,
        )

    # --- the build -------------------------------------------------------------------------------

    def build(self) -> DemoResult:
        rng, fake = self.rng, self.fake
        west, south, east, north = BBOX
        district = self._region(
            code=DISTRICT_CODE,
            name=DISTRICT_NAME,
            kind=RegionKind.DISTRICT,
            parent=None,
            latitude=34.755,
            longitude=114.375,
            boundary=_rect(*BBOX),
        )
        district.save()
        result = DemoResult(district=district)

        # Streets to the north (columns by community count), townships to the south.
        streets = [s for s in SUBDISTRICTS if s[2] == RegionKind.STREET]
        towns = [s for s in SUBDISTRICTS if s[2] == RegionKind.TOWNSHIP]
        rects: dict[str, tuple[float, float, float, float]] = {}
        cuts = _splits(west, east, [len(s[3]) for s in streets])
        for i, s in enumerate(streets):
            rects[s[0]] = (cuts[i], NORTH_SOUTH_SPLIT, cuts[i + 1], north)
        cuts = _splits(west, east, [len(s[3]) for s in towns])
        for i, s in enumerate(towns):
            rects[s[0]] = (cuts[i], south, cuts[i + 1], NORTH_SOUTH_SPLIT)

        subs = []
        for suffix, name, kind, _names in SUBDISTRICTS:
            r = rects[suffix]
            subs.append(
                self._region(
                    code=DISTRICT_CODE + suffix,
                    name=name,
                    kind=kind,
                    parent=district,
                    boundary=_rect(*r),
                    latitude=round((r[1] + r[3]) / 2, 6),
                    longitude=round((r[0] + r[2]) / 2, 6),
                )
            )
        Region.objects.bulk_create(subs)

        communities: list[Region] = []
        comm_rect: dict[str, tuple[float, float, float, float]] = {}
        for sub, (suffix, _n, kind, names) in zip(subs, SUBDISTRICTS, strict=True):
            along = "y" if kind == RegionKind.STREET else "x"
            pieces = _split_rect(rects[suffix], len(names), rng, along=along)
            for j, (cname, r) in enumerate(zip(names, pieces, strict=True)):
                code = f"{sub.code}{j + 1:03d}"
                comm_rect[code] = r
                communities.append(
                    self._region(
                        code=code,
                        name=cname,
                        kind=RegionKind.COMMUNITY,
                        parent=sub,
                        boundary=_rect(*r),
                        latitude=round((r[1] + r[3]) / 2, 6),
                        longitude=round((r[0] + r[2]) / 2, 6),
                    )
                )
        Region.objects.bulk_create(communities)

        # Grids: three level-1 strips per community; the first split into three level-2
        # grids (and, in the first community, the second into two): 17*3 + 17*3 + 2 = 104.
        grid_rows: list[tuple[Grid, tuple[float, float, float, float]]] = []
        leaves: dict[int, list[tuple[Grid, tuple]]] = {}
        level1: list[Grid] = []
        for comm in communities:
            strips = _split_rect(comm_rect[comm.code], 3, rng)
            for gi, r in enumerate(strips):
                g = Grid(
                    code=f"{comm.code}-{gi + 1:02d}",
                    name=f"{comm.name}第{gi + 1}网格",
                    level=1,
                    polygon=_rect(*r),
                )
                self._gov(g, comm)
                level1.append(g)
                grid_rows.append((g, r))
        Grid.objects.bulk_create(level1)
        level2: list[Grid] = []
        l1_by_comm: dict[int, list[tuple[Grid, tuple]]] = {}
        for g, r in grid_rows:
            l1_by_comm.setdefault(g.region.pk, []).append((g, r))
        for ci, comm in enumerate(communities):
            comm_leaves: list[tuple[Grid, tuple]] = []
            for gi, (g, r) in enumerate(l1_by_comm[comm.pk]):
                parts = 3 if gi == 0 else (2 if gi == 1 and ci == 0 else 0)
                if not parts:
                    comm_leaves.append((g, r))
                    continue
                for k, sr in enumerate(_split_rect(r, parts, rng)):
                    child = Grid(
                        code=f"{g.code}-{k + 1:02d}",
                        name=f"{g.name}{k + 1}分格",
                        level=2,
                        parent=g,
                        polygon=_rect(*sr),
                    )
                    self._gov(child, comm)
                    level2.append(child)
                    comm_leaves.append((child, sr))
            leaves[comm.pk] = comm_leaves
        Grid.objects.bulk_create(level2)
        all_grids = level1 + level2

        # Property managers and compounds (some left with nothing: 三无小区, derived).
        managers = [
            PropertyManager(
                district=district,
                name=f"{fake.company_prefix()}物业服务有限公司",
                is_red=rng.random() < 0.4,
                contact_phone=fake.phone_number(),
            )
            for _ in range(12)
        ]
        PropertyManager.objects.bulk_create(managers)
        compounds: list[Region] = []
        compound_leaf: dict[str, tuple] = {}
        for comm in communities:
            for k in range(COMPOUNDS_PER_COMMUNITY):
                roll = rng.random()
                pm = rng.choice(managers) if roll < 0.65 else None
                supervising = "" if pm or roll > 0.8 else f"{rng.choice(PARTNER_NAMES)}"
                leaf_grid, leaf_rect = leaves[comm.pk][k % len(leaves[comm.pk])]
                lat, lon = _point_in(leaf_rect, rng)
                name = rng.choice(
                    [
                        f"{fake.street_name()}{rng.randint(1, 99)}号院",
                        f"{fake.last_name()}家{rng.choice(['花园', '新村', '小区'])}",
                        f"{rng.choice(['幸福', '和谐', '阳光', '康乐', '金桂'])}家园",
                    ]
                )
                c = self._region(
                    code=f"{comm.code}{k + 1:03d}",
                    name=name,
                    kind=RegionKind.COMPOUND,
                    parent=comm,
                    property_manager=pm,
                    has_owners_committee=bool(pm) and rng.random() < 0.6,
                    supervising_unit=supervising,
                    latitude=lat,
                    longitude=lon,
                )
                compounds.append(c)
                compound_leaf[c.code] = (leaf_grid, leaf_rect)
        Region.objects.bulk_create(compounds)
        compounds_by_comm: dict[int, list[Region]] = {}
        for c in compounds:
            compounds_by_comm.setdefault(c.parent.pk, []).append(c)

        # Buildings (229 in all) spread over the communities' leaf grids, two units each.
        buildings: list[Region] = []
        building_grid: dict[str, Grid] = {}
        per_comm = [BUILDINGS_TOTAL // len(communities)] * len(communities)
        for i in range(BUILDINGS_TOTAL - sum(per_comm)):
            per_comm[i] += 1
        for comm, n in zip(communities, per_comm, strict=True):
            comm_compounds = compounds_by_comm[comm.pk]
            for b in range(n):
                leaf_grid, leaf_rect = leaves[comm.pk][b % len(leaves[comm.pk])]
                compound = comm_compounds[b % len(comm_compounds)]
                lat, lon = _point_in(leaf_rect, rng)
                bno = b // len(comm_compounds) + 1
                bld = self._region(
                    code=f"{compound.code}{bno:03d}",
                    name=f"{bno}号楼",
                    kind=RegionKind.BUILDING,
                    parent=compound,
                    latitude=lat,
                    longitude=lon,
                )
                buildings.append(bld)
                building_grid[bld.code] = leaf_grid
        Region.objects.bulk_create(buildings)
        units = [
            self._region(
                code=f"{b.code}{u + 1:02d}",
                name=f"{u + 1}单元",
                kind=RegionKind.UNIT,
                parent=b,
                latitude=b.latitude,
                longitude=b.longitude,
            )
            for b in buildings
            for u in range(UNITS_PER_BUILDING)
        ]
        Region.objects.bulk_create(units)
        units_by_building: dict[int, list[Region]] = {}
        for u in units:
            units_by_building.setdefault(u.parent.pk, []).append(u)

        # Houses, households, residents, occupancy.
        houses_per_building = max(1, round(HOUSES_PER_BUILDING * self.scale))
        houses: list[House] = []
        house_building: list[Region] = []
        for bld in buildings:
            comm_name = bld.parent.parent.name
            for h in range(houses_per_building):
                unit = units_by_building[bld.pk][h % UNITS_PER_BUILDING]
                k = h // UNITS_PER_BUILDING  # the k-th house of its unit, two per floor
                room = f"{k // 2 + 1}{k % 2 + 1:02d}"
                tenure = rng.choices(
                    [Tenure.OWNER_OCCUPIED, Tenure.RENTED, Tenure.VACANT], weights=[70, 20, 10]
                )[0]
                house = House(
                    grid=building_grid[bld.code],
                    room=room,
                    tenure=tenure,
                    address=f"{DISTRICT_NAME}{comm_name}{bld.parent.name}{bld.name}"
                    f"{unit.name}{room}室",
                    area_m2=round(rng.uniform(45, 140), 2),
                )
                houses.append(self._gov(house, unit))
                house_building.append(bld)
        House.objects.bulk_create(houses, batch_size=2000)

        households: list[Household] = []
        hh_house: list[House] = []
        for house in houses:
            if house.tenure == Tenure.VACANT:
                continue
            households.append(self._gov(Household(house=house), house.region))
            hh_house.append(house)
        Household.objects.bulk_create(households, batch_size=2000)

        residents: list[Resident] = []
        occupancies_pending: list[tuple[Resident, House, str]] = []
        heads: list[tuple[Household, Resident]] = []
        for hh, house in zip(households, hh_house, strict=True):
            size = rng.choices([1, 2, 3, 4, 5], weights=[15, 35, 25, 18, 7])[0]
            for k in range(size):
                gender = rng.choice([Gender.MALE, Gender.FEMALE])
                min_age, max_age = (25, 88) if k == 0 else (1, 85)
                id_number = fake.ssn(min_age=min_age, max_age=max_age, area_code=DISTRICT_CODE)
                birth = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
                age = self.today.year - birth.year
                name = fake.name_male() if gender == Gender.MALE else fake.name_female()
                tags = []
                if age >= 70 and size == 1:
                    tags.append("独居老人")
                elif rng.random() < 0.04:
                    tags.append(rng.choice(RESIDENT_TAGS[1:]))
                r = Resident(
                    grid=house.grid,
                    household=hh,
                    name=name,
                    gender=gender,
                    birth_date=birth,
                    id_number=id_number,
                    phone=fake.phone_number() if age >= 16 else "",
                    is_party_member=age >= 20 and rng.random() < 0.07,
                    tags=",".join(tags),
                )
                residents.append(self._gov(r, house.region))
                if house.tenure == Tenure.RENTED:
                    role = OccupancyRole.TENANT
                else:
                    role = OccupancyRole.OWNER if k == 0 else OccupancyRole.FAMILY
                occupancies_pending.append((r, house, role))
                if k == 0:
                    heads.append((hh, r))
        Resident.objects.bulk_create(residents, batch_size=2000)
        for hh, r in heads:
            hh.head = r
        Household.objects.bulk_update([hh for hh, _ in heads], ["head"], batch_size=2000)
        Occupancy.objects.bulk_create(
            [
                Occupancy(house=h, resident=r, role=role, started_on=self._date(2005, 2024))
                for r, h, role in occupancies_pending
            ],
            batch_size=2000,
        )
        residents_by_grid: dict[int, list[Resident]] = {}
        for r in residents:
            residents_by_grid.setdefault(r.grid.pk, []).append(r)
        population: dict[str, int] = {}
        for r in residents:
            comm_code = r.region_path.strip("/").split("/")[2]
            population[comm_code] = population.get(comm_code, 0) + 1
        for comm in communities:
            comm.population = population.get(comm.code, 0)
        Region.objects.bulk_update(communities, ["population"])

        # Shops and enterprises on the leaf grids.
        shops: list[Business] = []
        shops_per_leaf = max(1, round(SHOPS_PER_LEAF_GRID * self.scale))
        for comm in communities:
            for leaf_grid, _r in leaves[comm.pk]:
                for _ in range(shops_per_leaf):
                    closed = rng.random() < 0.1
                    kind = BusinessKind.ENTERPRISE if rng.random() < 0.15 else BusinessKind.SHOP
                    name = (
                        fake.company()
                        if kind == BusinessKind.ENTERPRISE
                        else f"{fake.last_name()}记{rng.choice(SHOP_KINDS)}"
                    )
                    opened = self._date(2010, 2024)
                    shops.append(
                        self._gov(
                            Business(
                                grid=leaf_grid,
                                kind=kind,
                                name=name,
                                address=f"{fake.street_name()}{rng.randint(1, 300)}号",
                                contact_name=fake.name(),
                                contact_phone=fake.phone_number(),
                                status=BusinessStatus.CLOSED if closed else BusinessStatus.OPEN,
                                opened_on=opened,
                                closed_on=opened + dt.timedelta(days=rng.randint(100, 900))
                                if closed
                                else None,
                            ),
                            comm,
                        )
                    )
        Business.objects.bulk_create(shops, batch_size=2000)

        # Departments, facilities, partner units.
        departments = [
            Department(code=f"D-{code}", name=name, region=district, district=district)
            for code, name in DEPARTMENTS
        ]
        Department.objects.bulk_create(departments)
        facilities = []
        for comm in communities:
            for kind in FacilityKind:
                lat, lon = _point_in(comm_rect[comm.code], rng)
                facilities.append(
                    Facility(
                        kind=kind,
                        name=f"{comm.name}{kind.label}",
                        region=comm,
                        district=district,
                        address=f"{comm.name}{fake.street_name()}{rng.randint(1, 200)}号",
                        latitude=lat,
                        longitude=lon,
                        opening_hours=FACILITY_HOURS[kind],
                    )
                )
        Facility.objects.bulk_create(facilities)
        partners = []
        for i in range(PARTNER_UNITS):
            comm = communities[i % len(communities)]
            name = PARTNER_NAMES[i] if i < len(PARTNER_NAMES) else fake.company()
            partners.append(
                self._gov(
                    PartnerUnit(
                        name=name,
                        category=rng.choice(PARTNER_KINDS),
                        has_party_org=rng.random() < 0.9,
                        contact_name=fake.name(),
                        contact_phone=fake.phone_number(),
                        address=f"{fake.street_name()}{rng.randint(1, 300)}号",
                    ),
                    comm,
                )
            )
        PartnerUnit.objects.bulk_create(partners)

        # The party tree: 党工委 → 大党委 → 小区党支部 → 楼栋党小组 → 党员中心户.
        committees = [
            self._gov(
                PartyOrg(
                    kind=PartyOrgKind.WORKING_COMMITTEE,
                    name=f"中共{s.name}工作委员会"
                    if s.kind == RegionKind.STREET
                    else f"中共{s.name}委员会",
                    secretary=fake.name(),
                ),
                s,
            )
            for s in subs
        ]
        PartyOrg.objects.bulk_create(committees)
        committee_by_sub = {c.region.pk: c for c in committees}
        grand = [
            self._gov(
                PartyOrg(
                    kind=PartyOrgKind.GRAND_COMMITTEE,
                    name=f"{c.name}大党委",
                    parent=committee_by_sub[c.parent.pk],
                    secretary=fake.name(),
                ),
                c,
            )
            for c in communities
        ]
        PartyOrg.objects.bulk_create(grand)
        grand_by_comm = {g.region.pk: g for g in grand}
        branches = [
            self._gov(
                PartyOrg(
                    kind=PartyOrgKind.BRANCH,
                    name=f"{c.name}党支部",
                    parent=grand_by_comm[c.parent.pk],
                    secretary=fake.name(),
                ),
                c,
            )
            for c in compounds
        ]
        PartyOrg.objects.bulk_create(branches)
        branch_by_compound = {b.region.pk: b for b in branches}
        groups = [
            self._gov(
                PartyOrg(
                    kind=PartyOrgKind.GROUP,
                    name=f"{b.parent.name}{b.name}党小组",
                    parent=branch_by_compound[b.parent.pk],
                    secretary=fake.name(),
                ),
                b,
            )
            for b in buildings
        ]
        PartyOrg.objects.bulk_create(groups)
        group_by_building = {g.region.pk: g for g in groups}

        houses_by_building: dict[int, list[House]] = {}
        for house, bld in zip(houses, house_building, strict=True):
            houses_by_building.setdefault(bld.pk, []).append(house)
        residents_by_household: dict[int, list[Resident]] = {}
        for r in residents:
            residents_by_household.setdefault(r.household.pk, []).append(r)
        household_by_house = {hh.house.pk: hh for hh in households}
        party_households: list[PartyOrg] = []
        party_household_roles: list[RoleAssignment] = []
        pending_party_flags: list[Resident] = []
        for bld in rng.sample(buildings, PARTY_HOUSEHOLDS):
            occupied = [h for h in houses_by_building[bld.pk] if h.pk in household_by_house]
            if not occupied:
                occupied = houses_by_building[bld.pk]
            house = rng.choice(occupied)
            members = (
                residents_by_household.get(household_by_house[house.pk].pk, [])
                if house.pk in household_by_house
                else []
            )
            person = members[0] if members else None
            if person is not None and not person.is_party_member:
                person.is_party_member = True
                pending_party_flags.append(person)
            person_name = person.name if person else fake.name()
            party_households.append(
                self._gov(
                    PartyOrg(
                        kind=PartyOrgKind.HOUSEHOLD,
                        name=f"{person_name}党员中心户",
                        parent=group_by_building[bld.pk],
                        secretary=person_name,
                        household=house,
                    ),
                    house.region,
                )
            )
            party_household_roles.append(
                self._gov(
                    RoleAssignment(
                        kind=RoleKind.PARTY_HOUSEHOLD,
                        grid=house.grid,
                        person_name=person_name,
                        phone=person.phone if person else "",
                        resident=person,
                        started_on=self._date(2021, 2024),
                    ),
                    house.region,
                )
            )
        PartyOrg.objects.bulk_create(party_households)
        Resident.objects.bulk_update(pending_party_flags, ["is_party_member"], batch_size=2000)

        # Party members: residents who are members (community/retired), and in-service
        # members registered with a community (双报到), working at partner units.
        building_of_unit = {u.pk: u.parent for u in units}
        members: list[PartyMember] = []
        for r in residents:
            if not r.is_party_member:
                continue
            bld = building_of_unit[r.region.pk]
            age = self.today.year - r.birth_date.year
            members.append(
                self._gov(
                    PartyMember(
                        resident=r,
                        name=r.name,
                        phone=r.phone,
                        kind=MemberKind.RETIRED if age >= 60 else MemberKind.COMMUNITY,
                        branch=branch_by_compound[bld.parent.pk],
                        joined_on=self._date(min(max(r.birth_date.year + 19, 1960), 2024), 2024),
                    ),
                    r.region,
                )
            )
        for i in range(IN_SERVICE_MEMBERS):
            comm = communities[rng.randrange(len(communities))]
            members.append(
                self._gov(
                    PartyMember(
                        name=fake.name(),
                        phone=fake.phone_number(),
                        kind=MemberKind.IN_SERVICE,
                        branch=grand_by_comm[comm.pk],
                        workplace=partners[i % len(partners)],
                        joined_on=self._date(1995, 2023),
                    ),
                    comm,
                )
            )
        PartyMember.objects.bulk_create(members, batch_size=2000)

        # Users: a grid worker per grid, and one demo login per role.
        s3 = subs[1]  # 三里堡街道
        comm0 = next(c for c in communities if c.parent.pk == s3.pk)
        login_grid = leaves[comm0.pk][0][0]
        workers: list[User] = []
        for g in all_grids:
            username = "grid_worker" if g is login_grid else f"gw{g.code.replace('-', '')}"
            workers.append(self._user(username, Role.GRID_WORKER, g.region))
        User.objects.bulk_create(workers)
        for g, w in zip(all_grids, workers, strict=True):
            g.owner = w
        Grid.objects.bulk_update(all_grids, ["owner"])
        in_service = [m for m in members if m.kind == MemberKind.IN_SERVICE]
        logins = [
            self._user(
                "district_admin", Role.DISTRICT_ADMIN, district, is_staff=True, is_superuser=True
            ),
            self._user("org_dept", Role.ORG_DEPT, district),
            self._user("operator", Role.OPERATOR, district),
            self._user("street_official", Role.STREET_OFFICIAL, s3),
            self._user("community_worker", Role.COMMUNITY_WORKER, comm0),
            self._user(
                "department_handler", Role.DEPARTMENT_HANDLER, district, department=departments[0]
            ),
            self._user(
                "party_member",
                Role.PARTY_MEMBER,
                in_service[0].region,
                display_name=in_service[0].name,
                phone=in_service[0].phone,
            ),
            self._user(
                "partner_unit", Role.PARTNER_UNIT, partners[0].region, display_name=partners[0].name
            ),
            self._user("resident", Role.RESIDENT, None),
        ]
        User.objects.bulk_create(logins)
        in_service[0].user = logins[6]
        PartyMember.objects.bulk_update([in_service[0]], ["user"])
        by_name = {u.username: u for u in [*logins, workers[all_grids.index(login_grid)]]}
        for role in Role:
            if role == Role.API_CLIENT:  # an API key's service user: no sign-in
                continue
            u = by_name[role.value]
            result.logins.append(
                (u.username, str(role.label), u.scope_region.name if u.scope_region else "—")
            )

        # Roles on grids: grid workers, the five heads, building heads, party households.
        roles: list[RoleAssignment] = list(party_household_roles)
        for g, w in zip(all_grids, workers, strict=True):
            roles.append(
                self._gov(
                    RoleAssignment(
                        kind=RoleKind.GRID_WORKER,
                        grid=g,
                        user=w,
                        person_name=w.display_name,
                        phone=w.phone,
                        started_on=self._date(2020, 2024),
                    ),
                    g.region,
                )
            )
        for comm in communities:
            for leaf_grid, _r in leaves[comm.pk]:
                people = residents_by_grid.get(leaf_grid.pk, [])
                for kind in (
                    RoleKind.GRID_HEAD,
                    RoleKind.STREET_HEAD,
                    RoleKind.PARTY_GROUP_HEAD,
                    RoleKind.UNIT_HEAD,
                ):
                    person = rng.choice(people) if people else None
                    roles.append(
                        self._gov(
                            RoleAssignment(
                                kind=kind,
                                grid=leaf_grid,
                                resident=person,
                                person_name=person.name if person else fake.name(),
                                phone=person.phone if person else fake.phone_number(),
                                started_on=self._date(2021, 2024),
                            ),
                            comm,
                        )
                    )
        for bld in buildings:
            occupants = [
                r
                for h in houses_by_building[bld.pk]
                for r in residents_by_household.get(
                    household_by_house[h.pk].pk if h.pk in household_by_house else -1, []
                )
            ]
            person = rng.choice(occupants) if occupants else None
            roles.append(
                self._gov(
                    RoleAssignment(
                        kind=RoleKind.BUILDING_HEAD,
                        grid=building_grid[bld.code],
                        resident=person,
                        person_name=person.name if person else fake.name(),
                        phone=person.phone if person else fake.phone_number(),
                        started_on=self._date(2021, 2024),
                    ),
                    bld,
                )
            )
        RoleAssignment.objects.bulk_create(roles, batch_size=2000)

        # Staff of every community, street and department (the logins above are one of each),
        # so that the demo's appeals are worked by the people who would work them.
        staff = [
            self._user(f"cw{c.code}", Role.COMMUNITY_WORKER, c)
            for c in communities
            if c is not comm0
        ]
        staff += [
            self._user(f"so{sub.code}", Role.STREET_OFFICIAL, sub) for sub in subs if sub is not s3
        ]
        staff += [
            self._user(
                f"dh{d.code.removeprefix('D-').lower()}",
                Role.DEPARTMENT_HANDLER,
                district,
                department=d,
            )
            for d in departments[1:]
        ]
        User.objects.bulk_create(staff)

        result.counts = {
            "streets": len(subs),
            "communities": len(communities),
            "grids": len(all_grids),
            "compounds": len(compounds),
            "buildings": len(buildings),
            "units": len(units),
            "houses": len(houses),
            "households": len(households),
            "residents": len(residents),
            "businesses": len(shops),
            "party_orgs": len(committees)
            + len(grand)
            + len(branches)
            + len(groups)
            + len(party_households),
            "party_households": len(party_households),
            "party_members": len(members),
            "in_service_members": IN_SERVICE_MEMBERS,
            "partner_units": len(partners),
            "facilities": len(facilities),
            "departments": len(departments),
            "role_assignments": len(roles),
            "building_heads": len(buildings),
            "users": len(workers) + len(logins) + len(staff),
        }
        return result


def generate(
    *,
    seed: int = 1,
    scale: float = 1.0,
    today: dt.date | None = None,
    end: dt.datetime | None = None,
) -> DemoResult:
    """Build the demo district in one transaction; returns the district, counts and logins.

    ``scale`` multiplies houses, residents and shops. Afterwards: holidays from the year the
    appeals' history starts in, and the next ones chinese-calendar knows; the default
    appeal categories; about ``400 × scale`` appeals (50 to 2,000) of the ``HISTORY_DAYS``
    before now (16:00 of ``today`` when that is an earlier day), worked through the appeal
    services (``demo.appeals``); the point → grid index marked stale. ``end`` sets the
    moment the history ends instead (tests pin it: the build must work whatever the hour).
    """
    from django.utils import timezone

    from gridgov.appeals.services import seed_default_categories
    from gridgov.core.workdays import known_holiday_years, seed_holidays
    from gridgov.demo.appeals import HISTORY_DAYS, build_appeals, history_end

    if scale <= 0:
        raise ValueError("scale must be positive")
    today = today or timezone.localdate()
    first_year = (today - dt.timedelta(days=HISTORY_DAYS)).year
    with transaction.atomic():
        result = _Builder(seed=seed, scale=scale, today=today).build()
        result.counts["holidays"] = seed_holidays(known_holiday_years(first_year))
        result.counts["appeal_categories"] = len(seed_default_categories(district=result.district))
        result.counts.update(
            build_appeals(
                district=result.district, seed=seed, scale=scale, end=end or history_end(today)
            )
        )
    # bulk_create sends no signals: mark the point → grid index stale now and, when an outer
    # transaction is still open, again once it commits.
    geo.invalidate()
    transaction.on_commit(geo.invalidate)
    return result


def digest(district: Region) -> str:
    """A digest of the key rows of a district (codes, names, geometry, people, appeals and
    their history), pk-free and without the appeals' tracking codes."""
    h = hashlib.sha256()
    path = district.path
    from gridgov.core.scope import subtree_q

    for row in (
        Region.objects.filter(subtree_q("path", path))
        .order_by("code")
        .values_list(
            "code",
            "name",
            "kind",
            "latitude",
            "longitude",
            "property_manager__name",
            "has_owners_committee",
            "supervising_unit",
            "population",
        )
    ):
        h.update(repr(row).encode())
    for row in (
        Grid.objects.filter(subtree_q("region_path", path))
        .order_by("code")
        .values_list("code", "name", "level", "parent__code", "polygon", "owner__username")
    ):
        h.update(repr(row).encode())
    for model, fields in (
        (Resident, ("region__code", "name", "id_number", "phone", "grid__code", "tags")),
        (House, ("region__code", "room", "tenure", "grid__code")),
        (Business, ("name", "grid__code", "status")),
        (PartyOrg, ("kind", "name", "region__code", "parent__name")),
        (PartyMember, ("name", "kind", "region__code", "branch__name")),
        (RoleAssignment, ("kind", "person_name", "grid__code", "region__code")),
        (PartnerUnit, ("name", "region__code")),
    ):
        rows = sorted(
            repr(r)
            for r in model.objects.filter(subtree_q("region_path", path)).values_list(*fields)
        )
        h.update(f"{model.__name__}:{len(rows)}".encode())
        for r in rows:
            h.update(r.encode())
    # Appeals in the order they were made, each with its history.
    appeals = Appeal.objects.filter(district=district).order_by("created_at", "pk")
    for row in appeals.values_list(
        "category__code",
        "priority",
        "channel",
        "status",
        "description",
        "address",
        "grid__code",
        "reporter_name",
        "rating",
        "result",
        "created_at",
        "deadline",
        "closed_at",
    ):
        h.update(repr(row).encode())
    for row in (
        AppealEvent.objects.filter(appeal__district=district)
        .order_by("appeal__created_at", "appeal_id", "at", "pk")
        .values_list("action", "from_status", "to_status", "note", "at", "actor__username")
    ):
        h.update(repr(row).encode())
    return h.hexdigest()
