"""The ledger kinds: their Chinese columns, row validation, bulk writes and exports.

Each kind validates every row before anything is written (problems go to the
context), then ``write`` inserts everything with bulk operations inside the
caller's transaction. Exports yield clear values; the caller masks them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from shapely.geometry import shape

from gridgov.core.db import valid_pk
from gridgov.core.errors import ValidationFailed
from gridgov.core.pii import mask_address, mask_id_number, mask_name, mask_phone
from gridgov.core.scope import scope_queryset
from gridgov.ledgers.base import (
    CODE_RE,
    Column,
    Context,
    Row,
    chunks,
    labels,
    parse_choice,
    parse_date,
    yes_no,
)
from gridgov.ledgers.tables import size_problem
from gridgov.people.models import (
    PARTY_CHILDREN,
    Business,
    BusinessKind,
    BusinessStatus,
    Gender,
    House,
    MemberKind,
    Occupancy,
    OccupancyRole,
    PartnerUnit,
    PartyMember,
    PartyOrg,
    PartyOrgKind,
    Resident,
    Tenure,
)
from gridgov.people.services import PARTY_REGION_KINDS
from gridgov.people.validators import (
    birth_date_from_id,
    gender_from_id,
    id_number_error,
    past_date_error,
    phone_error,
)
from gridgov.territory.models import ALLOWED_CHILDREN, Grid, Region, RegionKind

BATCH = 2000
MAX_GRID_LEVEL = 5


def _mask_date(value: str) -> str:
    return value[:4] + "-**-**" if value else ""


def _exists(msg: str) -> str:
    return _("%(v0)s不存在或不在您的辖区内") % {"v0": msg}


class Kind:
    key: ClassVar[str]
    label: ClassVar[str]  # in the files' language (Chinese): file and sheet names, the log
    columns: ClassVar[list[Column]]
    notes: ClassVar[list[str]] = []

    @property
    def title(self) -> str:
        """The label in the reader's language, for the page."""
        return _(self.label)

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def row_key(self, row: Row) -> tuple[str, ...] | None:
        """The key that must be unique within one file (None: not checked)."""
        return None

    def key_label(self, row: Row) -> str:
        return "、".join(self.key_headers(row))

    def key_headers(self, row: Row) -> list[str]:
        return [self.columns[0].header]

    def parse(self, rows: list[Row], ctx: Context) -> list[Any]:
        raise NotImplementedError

    def write(self, items: list[Any], ctx: Context) -> dict[str, int]:
        raise NotImplementedError

    def export(self, actor: Any) -> Iterator[list[str]]:
        raise NotImplementedError


# ── territory ───────────────────────────────────────────────────────────────


class RegionsKind(Kind):
    key = "regions"
    label = gettext_noop("辖区")
    columns = [
        Column(
            "编码",
            True,
            "410205001001001",
            gettext_noop("唯一编码，只含数字、字母、-、_"),
            text=True,
            max_length=32,
        ),
        Column("名称", True, "47.49号院", max_length=128),
        Column("层级", True, "小区/院落", gettext_noop("可填：%(choices)s"), choices=RegionKind),
        Column(
            "上级编码",
            False,
            "410205001001",
            gettext_noop("上级辖区的编码（区县可不填）"),
            text=True,
        ),
        Column("纬度", False, "34.75"),
        Column("经度", False, "114.35"),
    ]

    def row_key(self, row: Row) -> tuple[str, ...] | None:
        return (row.get("编码"),) if row.get("编码") else None

    def parse(self, rows: list[Row], ctx: Context) -> list[dict[str, Any]]:
        ctx.load_regions([r.get("编码") for r in rows] + [r.get("上级编码") for r in rows])
        by_code: dict[str, dict[str, Any]] = {}
        items = []
        for i, row in enumerate(rows, 1):
            ctx.tick("校验", i, len(rows))
            code, kind_text = row.get("编码"), row.get("层级")
            item: dict[str, Any] = {
                "row": row,
                "code": code,
                "name": row.get("名称"),
                "parent_item": None,
                "parent_region": None,
            }
            if code and not CODE_RE.match(code):
                ctx.err(row, "编码", _("编码只能包含数字、字母、-、_，最长40位"))
            elif code and code in ctx._regions and ctx._regions[code] is not None:
                ctx.err(row, "编码", (_("编码 %(v0)s 已存在于系统中") % {"v0": code}))
            kind = parse_choice(kind_text, RegionKind) if kind_text else None
            if kind_text and kind is None:
                ctx.err(
                    row,
                    "层级",
                    (
                        _("层级“%(v0)s”无效，可填：%(v1)s")
                        % {"v0": kind_text, "v1": labels(RegionKind)}
                    ),
                )
            item["kind"] = kind
            for header, lo, hi, key in (
                ("纬度", -90, 90, "latitude"),
                ("经度", -180, 180, "longitude"),
            ):
                item[key] = _float(row, header, lo, hi, ctx)
            item["parent_code"] = row.get("上级编码")
            items.append(item)
            if code:
                by_code.setdefault(code, item)
        for item in items:
            row, kind, parent_code = item["row"], item["kind"], item["parent_code"]
            if not parent_code:
                if kind and kind != RegionKind.DISTRICT:
                    ctx.err(row, "上级编码", _("除区县外须填写上级编码"))
                elif kind == RegionKind.DISTRICT and ctx.scope != "":
                    ctx.err(row, "上级编码", _("只有系统管理员可以导入区县"))
                continue
            parent_item = by_code.get(parent_code)
            parent_region = None if parent_item else ctx.region(parent_code)
            if parent_item is None and parent_region is None:
                ctx.err(row, "上级编码", _exists(_("上级编码 %(v0)s ") % {"v0": parent_code}))
                continue
            parent_kind = parent_item["kind"] if parent_item else parent_region.kind  # type: ignore[union-attr]
            if kind and parent_kind and kind not in ALLOWED_CHILDREN[parent_kind]:
                ctx.err(
                    row,
                    "层级",
                    (
                        _("%(v0)s下不能设%(v1)s")
                        % {"v0": RegionKind(parent_kind).label, "v1": RegionKind(kind).label}
                    ),
                )
            item["parent_item"], item["parent_region"] = parent_item, parent_region
        _depths(items, "parent_item", ctx, "上级编码")
        return items

    def write(self, items: list[dict[str, Any]], ctx: Context) -> dict[str, int]:
        created = 0
        for depth in sorted({i["depth"] for i in items}):
            level = [i for i in items if i["depth"] == depth]
            objs = []
            for item in level:
                parent = item.get("parent_region") or (item["parent_item"] or {}).get("obj")
                region = Region(
                    code=item["code"],
                    name=item["name"],
                    kind=item["kind"],
                    latitude=item["latitude"],
                    longitude=item["longitude"],
                    parent=parent,
                )
                region.build_path()
                item["obj"] = region
                objs.append(region)
            Region.objects.bulk_create(objs, batch_size=BATCH)
            created += len(objs)
            ctx.tick("写入", created, len(items))
        return {"regions": created}

    def export(self, actor: Any) -> Iterator[list[str]]:
        qs = scope_queryset(Region.objects.select_related("parent"), actor, field="path")
        for r in qs.order_by("path").iterator(chunk_size=BATCH):
            yield [
                r.code,
                r.name,
                str(r.get_kind_display()),
                r.parent.code if r.parent_id else "",
                _num(r.latitude),
                _num(r.longitude),
            ]


def _num(value: float | None) -> str:
    return "" if value is None else repr(value)


def _float(row: Row, header: str, lo: float, hi: float, ctx: Context) -> float | None:
    text = row.get(header)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        ctx.err(row, header, (_("%(v0)s应为数字") % {"v0": header}))
        return None
    if not lo <= value <= hi:
        ctx.err(
            row,
            header,
            (_("%(v0)s应在 %(v1)s 到 %(v2)s 之间") % {"v0": header, "v1": lo, "v2": hi}),
        )
        return None
    return value


def _depths(items: list[dict[str, Any]], parent_key: str, ctx: Context, column: str) -> None:
    """Give each item its depth in the in-file tree; a cycle is a problem."""
    for item in items:
        seen, node, depth = set(), item, 0
        while node.get(parent_key) is not None:
            if id(node) in seen:
                ctx.err(item["row"], column, _("上级关系形成循环"))
                break
            seen.add(id(node))
            node, depth = node[parent_key], depth + 1
        item["depth"] = depth


class GridsKind(Kind):
    key = "grids"
    label = gettext_noop("网格")
    columns = [
        Column(
            "网格编码", True, "410205001001-01", gettext_noop("唯一编码"), text=True, max_length=40
        ),
        Column("网格名称", True, "A社区第一网格", max_length=128),
        Column("网格层级", True, "1", gettext_noop("1 到 5；二级及以下须填上级网格编码")),
        Column("所属社区编码", True, "410205001001", gettext_noop("网格所在社区的编码"), text=True),
        Column(
            "上级网格编码", False, "", gettext_noop("上级网格须在同一社区、层级少一级"), text=True
        ),
    ]
    notes = [
        "网格范围（多边形）用单独的 GeoJSON 文件上传：FeatureCollection，每个要素的 "
        "properties 中以“网格编码”（或 code）对应本表。"
    ]

    def row_key(self, row: Row) -> tuple[str, ...] | None:
        return (row.get("网格编码"),) if row.get("网格编码") else None

    def parse(self, rows: list[Row], ctx: Context) -> list[dict[str, Any]]:
        from gridgov.territory.services import validate_polygon

        ctx.load_regions(r.get("所属社区编码") for r in rows)
        ctx.load_grids([r.get("网格编码") for r in rows] + [r.get("上级网格编码") for r in rows])
        by_code: dict[str, dict[str, Any]] = {}
        items = []
        for i, row in enumerate(rows, 1):
            ctx.tick("校验", i, len(rows))
            code = row.get("网格编码")
            item: dict[str, Any] = {
                "row": row,
                "code": code,
                "name": row.get("网格名称"),
                "polygon": None,
            }
            if code and not CODE_RE.match(code):
                ctx.err(row, "网格编码", _("编码只能包含数字、字母、-、_，最长40位"))
            elif code and ctx._grids.get(code) is not None:
                ctx.err(row, "网格编码", (_("网格编码 %(v0)s 已存在于系统中") % {"v0": code}))
            level_text = row.get("网格层级")
            item["level"] = None
            if level_text:
                try:
                    level = int(float(level_text))
                    if not 1 <= level <= MAX_GRID_LEVEL:
                        raise ValueError
                    item["level"] = level
                except ValueError:
                    ctx.err(row, "网格层级", _("网格层级应为 1 到 5 的整数"))
            community_code = row.get("所属社区编码")
            community = ctx.region(community_code) if community_code else None
            if community_code and community is None:
                ctx.err(
                    row, "所属社区编码", _exists(_("社区编码 %(v0)s ") % {"v0": community_code})
                )
            elif community is not None and community.kind != RegionKind.COMMUNITY:
                ctx.err(
                    row,
                    "所属社区编码",
                    (_("%(v0)s 不是社区：网格只能建在社区之下") % {"v0": community_code}),
                )
                community = None
            item["community"] = community
            items.append(item)
            if code:
                by_code.setdefault(code, item)
        polygons = ctx.geojson or {}
        for code in polygons:
            if code not in by_code:
                ctx.err(
                    None, "GeoJSON", (_("GeoJSON 中的网格编码 %(v0)s 不在本表中") % {"v0": code})
                )
        for item in items:
            row, level = item["row"], item["level"]
            parent_code = row.get("上级网格编码")
            item["parent_item"] = item["parent_grid"] = None
            if parent_code:
                parent_item = by_code.get(parent_code)
                parent_grid = None if parent_item else ctx.grid(parent_code)
                if parent_item is None and parent_grid is None:
                    ctx.err(
                        row, "上级网格编码", _exists(_("上级网格 %(v0)s ") % {"v0": parent_code})
                    )
                else:
                    p_level = parent_item["level"] if parent_item else parent_grid.level  # type: ignore[union-attr]
                    p_comm = parent_item["community"] if parent_item else parent_grid.region  # type: ignore[union-attr]
                    if level and p_level and level != p_level + 1:
                        ctx.err(
                            row,
                            "网格层级",
                            (
                                _("上级网格为%(v0)s级，本网格应为%(v1)s级")
                                % {"v0": p_level, "v1": p_level + 1}
                            ),
                        )
                    if item["community"] and p_comm and p_comm.pk != item["community"].pk:
                        ctx.err(row, "上级网格编码", _("上级网格须属于同一社区"))
                    item["parent_item"], item["parent_grid"] = parent_item, parent_grid
            elif level and level > 1:
                ctx.err(row, "上级网格编码", _("二级及以下网格须填写上级网格编码"))
            if item["code"] in polygons:
                try:
                    item["polygon"] = validate_polygon(polygons[item["code"]])
                except ValidationFailed as exc:
                    ctx.err(
                        row,
                        "GeoJSON",
                        (
                            _("网格 %(v0)s 的范围无效：%(v1)s")
                            % {"v0": item["code"], "v1": exc.message}
                        ),
                    )
        for item in items:  # a child's polygon lies inside its parent's
            parent_poly = (item["parent_item"] or {}).get("polygon") or (
                item["parent_grid"].polygon if item["parent_grid"] else None
            )
            if item["polygon"] and parent_poly:
                if not shape(parent_poly).buffer(1e-9).covers(shape(item["polygon"])):
                    ctx.err(
                        item["row"],
                        "GeoJSON",
                        (_("网格 %(v0)s 的范围超出上级网格范围") % {"v0": item["code"]}),
                    )
        _depths(items, "parent_item", ctx, "上级网格编码")
        return items

    def write(self, items: list[dict[str, Any]], ctx: Context) -> dict[str, int]:
        from gridgov.territory import geo

        created = 0
        for depth in sorted({i["depth"] for i in items}):
            objs = []
            for item in (i for i in items if i["depth"] == depth):
                parent = item["parent_grid"] or (item["parent_item"] or {}).get("obj")
                community = item["community"]
                grid = Grid(
                    code=item["code"],
                    name=item["name"],
                    level=item["level"],
                    region=community,
                    parent=parent,
                    polygon=item["polygon"],
                    region_path=community.path,
                    district_id=community.district_id or community.pk,
                )
                item["obj"] = grid
                objs.append(grid)
            Grid.objects.bulk_create(objs, batch_size=BATCH)
            created += len(objs)
            ctx.tick("写入", created, len(items))
        transaction.on_commit(geo.invalidate)  # bulk_create sends no post_save
        return {"grids": created, "polygons": sum(1 for i in items if i["polygon"])}

    def export(self, actor: Any) -> Iterator[list[str]]:
        qs = scope_queryset(
            Grid.objects.select_related("region", "parent"), actor, field="region_path"
        )
        for g in qs.order_by("level", "code").iterator(chunk_size=BATCH):
            yield [
                g.code,
                g.name,
                str(g.level),
                g.region.code,
                g.parent.code if g.parent_id else "",
            ]

    @staticmethod
    def export_geojson(actor: Any) -> bytes:
        qs = scope_queryset(Grid.objects.exclude(polygon=None), actor, field="region_path")
        features = [
            {
                "type": "Feature",
                "properties": {"网格编码": g.code, "网格名称": g.name, "网格层级": g.level},
                "geometry": g.polygon,
            }
            for g in qs.order_by("level", "code").iterator(chunk_size=BATCH)
        ]
        return json.dumps(
            {"type": "FeatureCollection", "features": features}, ensure_ascii=False
        ).encode("utf-8")


def parse_geojson(data: bytes, ctx: Context) -> dict[str, Any]:
    """Polygons keyed by grid code from a FeatureCollection; problems name the feature."""
    if problem := size_problem(len(data)):
        ctx.err(None, "GeoJSON", problem)
        return {}
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        ctx.err(None, "GeoJSON", (_("GeoJSON 文件无法解析：%(v0)s") % {"v0": exc}))
        return {}
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "FeatureCollection"
        or not isinstance(doc.get("features"), list)
    ):
        ctx.err(None, "GeoJSON", _("GeoJSON 须为 FeatureCollection"))
        return {}
    out: dict[str, Any] = {}
    for n, feature in enumerate(doc["features"], 1):
        props = (feature or {}).get("properties") or {}
        code = str(props.get("网格编码") or props.get("code") or props.get("grid_code") or "")
        code = code.strip()
        if not code:
            ctx.err(None, "GeoJSON", (_("第 %(v0)s 个要素缺少“网格编码”属性") % {"v0": n}))
            continue
        if code in out:
            ctx.err(
                None,
                "GeoJSON",
                (_("第 %(v0)s 个要素的网格编码 %(v1)s 重复") % {"v0": n, "v1": code}),
            )
            continue
        out[code] = feature.get("geometry")
    return out


# ── houses and residents ────────────────────────────────────────────────────


class _GridResolver:
    """The grid for a region: a given code (checked) or the community's only grid."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._only: dict[str, Grid | None] = {}

    def resolve(self, row: Row, header: str, region: Region) -> Grid | None:
        code = row.get(header)
        if code:
            grid = self.ctx.grid(code)
            if grid is None:
                self.ctx.err(row, header, _exists(_("网格编码 %(v0)s ") % {"v0": code}))
            elif not region.path.startswith(grid.region_path):
                self.ctx.err(row, header, (_("网格 %(v0)s 不在该辖区所在社区") % {"v0": code}))
                grid = None
            return grid
        parts = [p for p in region.path.split("/") if p]
        ancestors = ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
        key = "|".join(ancestors)
        if key not in self._only:
            found = list(Grid.objects.filter(region_path__in=ancestors)[:2])
            self._only[key] = found[0] if len(found) == 1 else None
        return self._only[key]


HOUSE_REGION_KINDS = {
    RegionKind.COMMUNITY,
    RegionKind.COMPOUND,
    RegionKind.BUILDING,
    RegionKind.UNIT,
}


class HousesKind(Kind):
    key = "houses"
    label = gettext_noop("房屋")
    columns = [
        Column(
            "楼栋编码",
            True,
            "410205001001001001",
            gettext_noop("房屋所在楼栋（或单元、小区）的编码"),
            text=True,
        ),
        Column("房号", True, "1-101", text=True, max_length=32),
        Column("详细地址", False, "47.49号院1号楼1-101", mask=mask_address, max_length=255),
        Column("面积", False, "86.5", gettext_noop("平方米")),
        Column(
            "居住类型", False, "自住", gettext_noop("可填：%(choices)s；不填为自住"), choices=Tenure
        ),
        Column("网格编码", False, "", gettext_noop("不填时取社区唯一的网格"), text=True),
    ]

    def row_key(self, row: Row) -> tuple[str, ...] | None:
        return (row.get("楼栋编码"), row.get("房号"))

    def key_headers(self, row: Row) -> list[str]:
        return ["楼栋编码", "房号"]

    def parse(self, rows: list[Row], ctx: Context) -> list[dict[str, Any]]:
        ctx.load_regions(r.get("楼栋编码") for r in rows)
        ctx.load_grids(r.get("网格编码") for r in rows)
        grids = _GridResolver(ctx)
        existing = _existing_houses(ctx, {(r.get("楼栋编码"), r.get("房号")) for r in rows})
        items = []
        for i, row in enumerate(rows, 1):
            ctx.tick("校验", i, len(rows))
            code, room = row.get("楼栋编码"), row.get("房号")
            region = ctx.region(code) if code else None
            if code and region is None:
                ctx.err(row, "楼栋编码", _exists(_("楼栋编码 %(v0)s ") % {"v0": code}))
            elif region is not None and region.kind not in HOUSE_REGION_KINDS:
                ctx.err(row, "楼栋编码", _("房屋应属于社区、小区、楼栋或单元"))
                region = None
            if (code, room) in existing:
                ctx.err(row, "房号", (_("%(v0)s %(v1)s 已存在于系统中") % {"v0": code, "v1": room}))
            tenure_text = row.get("居住类型")
            tenure = parse_choice(tenure_text, Tenure) if tenure_text else Tenure.OWNER_OCCUPIED
            if tenure is None:
                ctx.err(
                    row,
                    "居住类型",
                    (
                        _("居住类型“%(v0)s”无效，可填：%(v1)s")
                        % {"v0": tenure_text, "v1": labels(Tenure)}
                    ),
                )
            area = None
            if row.get("面积"):
                try:
                    area = Decimal(row.get("面积")).quantize(Decimal("0.01"))
                    if area <= 0 or area >= Decimal("1000000"):
                        raise InvalidOperation
                except InvalidOperation:
                    ctx.err(row, "面积", _("面积应为大于0的数字（平方米）"))
            grid = grids.resolve(row, "网格编码", region) if region else None
            items.append(
                {
                    "row": row,
                    "region": region,
                    "room": room,
                    "tenure": tenure,
                    "area": area,
                    "grid": grid,
                    "address": row.get("详细地址"),
                }
            )
        return items

    def write(self, items: list[dict[str, Any]], ctx: Context) -> dict[str, int]:
        objs = [
            _house(i["region"], i["room"], i["tenure"], i["grid"], i["area"], i["address"])
            for i in items
        ]
        for n, batch in enumerate(chunks(objs, BATCH), 1):
            House.objects.bulk_create(batch)
            ctx.tick("写入", min(n * BATCH, len(objs)), len(objs))
        return {"houses": len(objs)}

    def export(self, actor: Any) -> Iterator[list[str]]:
        qs = scope_queryset(
            House.objects.select_related("region", "grid"), actor, field="region_path"
        )
        for h in qs.order_by("pk").iterator(chunk_size=BATCH):
            yield [
                h.region.code,
                h.room,
                h.address,
                "" if h.area_m2 is None else str(h.area_m2),
                str(h.get_tenure_display()),
                h.grid.code if h.grid_id else "",
            ]


def _house(
    region: Region, room: str, tenure: str, grid: Grid | None, area: Any = None, address: str = ""
) -> House:
    return House(
        region=region,
        room=room,
        tenure=tenure,
        grid=grid,
        area_m2=area,
        address=address or f"{region.name}{room}",
        region_path=region.path,
        district_id=region.district_id or region.pk,
    )


def _existing_houses(ctx: Context, keys: set[tuple[str, str]]) -> dict[tuple[str, str], House]:
    codes = sorted({c for c, _ in keys if c})
    out: dict[tuple[str, str], House] = {}
    for chunk in chunks(codes, 500):
        for h in House.objects.filter(region__code__in=chunk).select_related("region", "grid"):
            if (h.region.code, h.room) in keys:
                out[(h.region.code, h.room)] = h
    return out


class ResidentsKind(Kind):
    key = "residents"
    label = gettext_noop("居民")
    columns = [
        Column("姓名", True, "王建国", mask=mask_name, max_length=64),
        Column("性别", False, "男", gettext_noop("男/女；不填时按身份证号")),
        Column(
            "身份证号",
            False,
            "11010519491231002X",
            gettext_noop("18位，按 GB 11643 校验"),
            mask=mask_id_number,
            text=True,
        ),
        Column(
            "联系电话",
            False,
            "13812345678",
            gettext_noop("11位手机号或带区号的固定电话"),
            mask=mask_phone,
            text=True,
        ),
        Column("出生日期", False, "1949-12-31", gettext_noop("不填时按身份证号"), mask=_mask_date),
        Column(
            "所属社区",
            True,
            "410205001001",
            gettext_noop("社区编码（或辖区内唯一的社区名称）"),
            text=True,
        ),
        Column("网格编码", False, "", gettext_noop("不填时按房屋或社区确定"), text=True),
        Column(
            "楼栋",
            False,
            "410205001001001001",
            gettext_noop("楼栋编码（或社区内唯一的楼栋名称）"),
            text=True,
        ),
        Column(
            "房号",
            False,
            "1-101",
            gettext_noop("有楼栋和房号时登记居住关系；房屋不存在时自动建立"),
            text=True,
        ),
        Column(
            "居住关系", False, "产权人", gettext_noop("可填：%(choices)s"), choices=OccupancyRole
        ),
        Column("党员", False, "否", gettext_noop("是/否")),
        Column("标签", False, "独居老人", gettext_noop("多个用逗号分隔"), max_length=255),
    ]

    def row_key(self, row: Row) -> tuple[str, ...] | None:
        return (row.get("身份证号").upper(),) if row.get("身份证号") else None

    def key_headers(self, row: Row) -> list[str]:
        return ["身份证号"]

    def parse(self, rows: list[Row], ctx: Context) -> list[dict[str, Any]]:
        codes = {r.get("所属社区") for r in rows} | {r.get("楼栋") for r in rows}
        ctx.load_regions(codes)
        ctx.load_grids(r.get("网格编码") for r in rows)
        names = _NameIndex(ctx)
        grids = _GridResolver(ctx)
        house_keys: set[tuple[str, str]] = set()
        ids = {r.get("身份证号").upper() for r in rows if r.get("身份证号")}
        taken: set[str] = set()
        for chunk in chunks(sorted(ids), 900):
            taken.update(
                Resident.objects.filter(id_number__in=chunk).values_list("id_number", flat=True)
            )
        items = []
        for i, row in enumerate(rows, 1):
            ctx.tick("校验", i, len(rows))
            item: dict[str, Any] = {"row": row, "name": row.get("姓名")}
            id_number = row.get("身份证号").upper()
            id_ok = bool(id_number) and id_number_error(id_number) is None
            if id_number and not id_ok:
                err = id_number_error(id_number) or ""
                ctx.err(
                    row,
                    "身份证号",
                    err + (_("（请将该列设为文本格式）") if "E+" in id_number else ""),
                )
            elif id_number in taken:
                ctx.err(row, "身份证号", _("系统中已有此身份证号的居民"))
            item["id_number"] = id_number
            gender_text = row.get("性别")
            gender = parse_choice(gender_text, Gender) if gender_text else ""
            if gender is None:
                ctx.err(row, "性别", _("性别应填“男”或“女”"))
            elif id_ok:
                derived = gender_from_id(id_number)
                if gender and gender != derived:
                    ctx.err(row, "性别", _("性别与身份证号不符"))
                gender = gender or derived
            item["gender"] = gender or ""
            phone = row.get("联系电话").replace(" ", "")
            if phone and (err := phone_error(phone)):
                ctx.err(row, "联系电话", err)
            item["phone"] = phone
            birth = None
            if row.get("出生日期"):
                birth = parse_date(row.get("出生日期"))
                if birth is None or birth > dt.date.today() or birth.year < 1900:
                    ctx.err(row, "出生日期", _("出生日期无效（格式如 1990-01-31）"))
            elif id_ok:
                birth = birth_date_from_id(id_number)
            item["birth_date"] = birth
            community = names.community(row, "所属社区")
            building = names.building(row, "楼栋", community) if community else None
            region = building or community
            item["region"] = region
            room = row.get("房号")
            if room and not row.get("楼栋"):
                ctx.err(row, "楼栋", _("填写房号时须填写楼栋"))
            item["house_key"] = (building.code, room) if building and room else None
            if item["house_key"]:
                house_keys.add(item["house_key"])
            role_text = row.get("居住关系")
            role = parse_choice(role_text, OccupancyRole) if role_text else None
            if role_text and role is None:
                ctx.err(
                    row,
                    "居住关系",
                    (
                        _("居住关系“%(v0)s”无效，可填：%(v1)s")
                        % {"v0": role_text, "v1": labels(OccupancyRole)}
                    ),
                )
            item["role"] = role or OccupancyRole.OWNER
            party = yes_no(row.get("党员"))
            if party is None:
                ctx.err(row, "党员", _("党员一列应填“是”或“否”"))
            item["party"] = bool(party)
            item["tags"] = ",".join(
                t.strip() for t in row.get("标签").replace("，", ",").split(",") if t.strip()
            )
            item["grid"] = grids.resolve(row, "网格编码", region) if region else None
            items.append(item)
        ctx.extra["houses"] = _existing_houses(ctx, house_keys)
        return items

    def write(self, items: list[dict[str, Any]], ctx: Context) -> dict[str, int]:
        houses = ctx.extra["houses"]
        new_houses: list[House] = []
        for item in items:
            key = item["house_key"]
            if key and key not in houses:
                tenure = (
                    Tenure.RENTED if item["role"] == OccupancyRole.TENANT else Tenure.OWNER_OCCUPIED
                )
                house = _house(item["region"], key[1], tenure, item["grid"])
                houses[key] = house
                new_houses.append(house)
        House.objects.bulk_create(new_houses, batch_size=BATCH)
        residents = []
        for item in items:
            region = item["region"]
            house = houses.get(item["house_key"]) if item["house_key"] else None
            grid = item["grid"] or (house.grid if house is not None else None)
            residents.append(
                Resident(
                    region=region,
                    region_path=region.path,
                    district_id=region.district_id or region.pk,
                    grid=grid,
                    name=item["name"],
                    gender=item["gender"],
                    birth_date=item["birth_date"],
                    id_number=item["id_number"],
                    phone=item["phone"],
                    is_party_member=item["party"],
                    tags=item["tags"],
                )
            )
        done = 0
        for batch in chunks(residents, BATCH):
            Resident.objects.bulk_create(batch)
            done += len(batch)
            ctx.tick("写入", done, len(residents))
        occupancies = [
            Occupancy(house=houses[i["house_key"]], resident=r, role=i["role"])
            for i, r in zip(items, residents, strict=True)
            if i["house_key"]
        ]
        Occupancy.objects.bulk_create(occupancies, batch_size=BATCH)
        return {
            "residents": len(residents),
            "houses": len(new_houses),
            "occupancies": len(occupancies),
        }

    def export(self, actor: Any) -> Iterator[list[str]]:
        qs = scope_queryset(
            Resident.objects.select_related("region", "grid"), actor, field="region_path"
        ).filter(is_active=True)
        community_codes = _community_codes(actor)
        for batch in _batched(qs.order_by("pk")):
            current = {
                o.resident_id: o
                for o in Occupancy.objects.filter(resident__in=batch, ended_on=None).select_related(
                    "house__region"
                )
            }
            for r in batch:
                occ = current.get(r.pk)
                community = _community_of(r.region, community_codes)
                if occ:
                    building, room = occ.house.region.code, occ.house.room
                    role = str(occ.get_role_display())
                else:
                    building = r.region.code if r.region.kind != RegionKind.COMMUNITY else ""
                    room, role = "", ""
                yield [
                    r.name,
                    str(r.get_gender_display()) if r.gender else "",
                    r.id_number,
                    r.phone,
                    r.birth_date.isoformat() if r.birth_date else "",
                    community,
                    r.grid.code if r.grid_id else "",
                    building,
                    room,
                    role,
                    "是" if r.is_party_member else "否",
                    r.tags,
                ]


def _batched(qs: Any, size: int = BATCH) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for obj in qs.iterator(chunk_size=size):
        batch.append(obj)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _community_codes(actor: Any) -> dict[str, str]:
    """path → code of every community the actor can see (to name a resident's community)."""
    qs = scope_queryset(Region.objects.filter(kind=RegionKind.COMMUNITY), actor, field="path")
    out = dict(qs.values_list("path", "code"))
    if not out:  # a user scoped below community level: look up the ancestor
        out = dict(Region.objects.filter(kind=RegionKind.COMMUNITY).values_list("path", "code"))
    return out


def _community_of(region: Region, communities: dict[str, str]) -> str:
    parts = [p for p in region.path.split("/") if p]
    for i in range(len(parts), 0, -1):
        path = "/" + "/".join(parts[:i]) + "/"
        if path in communities:
            return communities[path]
    return region.code


class _NameIndex:
    """Resolve a community or building given by code or, failing that, by a unique name."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._by_name: dict[tuple[str, str], list[Region]] = {}

    def _named(self, kind_set: set[str], name: str, under: str) -> list[Region]:
        key = (under + "|" + ",".join(sorted(kind_set)), name)
        if key not in self._by_name:
            qs = scope_queryset(
                Region.objects.filter(kind__in=kind_set, name=name), self.ctx.actor, field="path"
            )
            self._by_name[key] = [r for r in qs[:3] if r.path.startswith(under)]
        return self._by_name[key]

    def community(self, row: Row, header: str) -> Region | None:
        value = row.get(header)
        if not value:
            return None
        region = self.ctx.region(value)
        if region is None:
            found = self._named({RegionKind.COMMUNITY}, value, "")
            region = found[0] if len(found) == 1 else None
        if region is None or region.kind != RegionKind.COMMUNITY:
            self.ctx.err(row, header, _exists(_("社区编码 %(v0)s ") % {"v0": value}))
            return None
        return region

    def building(self, row: Row, header: str, community: Region) -> Region | None:
        value = row.get(header)
        if not value:
            return None
        region = self.ctx.region(value)
        if region is None:
            found = self._named(
                {RegionKind.BUILDING, RegionKind.UNIT, RegionKind.COMPOUND}, value, community.path
            )
            region = found[0] if len(found) == 1 else None
        if region is None or region.kind not in HOUSE_REGION_KINDS:
            self.ctx.err(row, header, _exists(_("楼栋 %(v0)s ") % {"v0": value}))
            return None
        if not region.path.startswith(community.path):
            self.ctx.err(row, header, (_("楼栋 %(v0)s 不在所属社区内") % {"v0": value}))
            return None
        return region


# ── businesses ──────────────────────────────────────────────────────────────

_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_error(value: str) -> str | None:
    """GB 32100 unified social credit code: 18 characters with a check character."""
    if len(value) != 18 or any(c not in _CREDIT_ALPHABET for c in value):
        return _("统一社会信用代码应为18位数字或大写字母（不含 I、O、Z、S、V）")
    total = sum(_CREDIT_ALPHABET.index(c) * w for c, w in zip(value, _CREDIT_WEIGHTS, strict=False))
    check = (31 - total % 31) % 31
    if _CREDIT_ALPHABET[check] != value[17]:
        return _("统一社会信用代码校验位不正确")
    return None


class BusinessesKind(Kind):
    key = "businesses"
    label = gettext_noop("商铺企业")
    columns = [
        Column("名称", True, "老王面馆", max_length=128),
        Column(
            "类型",
            False,
            "商铺",
            gettext_noop("可填：%(choices)s；不填为商铺"),
            choices=BusinessKind,
        ),
        Column("统一社会信用代码", False, "", gettext_noop("18位，按 GB 32100 校验"), text=True),
        Column("所属辖区编码", True, "410205001001", text=True),
        Column("网格编码", False, "", gettext_noop("不填时取社区唯一的网格"), text=True),
        Column("地址", False, "A社区临街3号", max_length=255),
        Column("联系人", False, "王建国", mask=mask_name, max_length=64),
        Column("联系电话", False, "13812345678", mask=mask_phone, text=True),
        Column(
            "状态",
            False,
            "营业",
            gettext_noop("可填：%(choices)s；不填为营业"),
            choices=BusinessStatus,
        ),
        Column("开业日期", False, "2024-05-01"),
        Column("关闭日期", False, "", gettext_noop("状态为已关闭时必填")),
    ]

    def row_key(self, row: Row) -> tuple[str, ...] | None:
        if row.get("统一社会信用代码"):
            return ("credit", row.get("统一社会信用代码").upper())
        return ("name", row.get("名称"), row.get("所属辖区编码"))

    def key_headers(self, row: Row) -> list[str]:
        return ["统一社会信用代码"] if row.get("统一社会信用代码") else ["名称", "所属辖区编码"]

    def parse(self, rows: list[Row], ctx: Context) -> list[dict[str, Any]]:
        ctx.load_regions(r.get("所属辖区编码") for r in rows)
        ctx.load_grids(r.get("网格编码") for r in rows)
        grids = _GridResolver(ctx)
        credits = {r.get("统一社会信用代码").upper() for r in rows if r.get("统一社会信用代码")}
        taken = (
            set(
                Business.objects.filter(credit_code__in=credits).values_list(
                    "credit_code", flat=True
                )
            )
            if credits
            else set()
        )
        items = []
        for i, row in enumerate(rows, 1):
            ctx.tick("校验", i, len(rows))
            code = row.get("所属辖区编码")
            region = ctx.region(code) if code else None
            if code and region is None:
                ctx.err(row, "所属辖区编码", _exists(_("辖区编码 %(v0)s ") % {"v0": code}))
            kind_text = row.get("类型")
            kind = parse_choice(kind_text, BusinessKind) if kind_text else BusinessKind.SHOP
            if kind is None:
                ctx.err(
                    row,
                    "类型",
                    (
                        _("类型“%(v0)s”无效，可填：%(v1)s")
                        % {"v0": kind_text, "v1": labels(BusinessKind)}
                    ),
                )
            credit = row.get("统一社会信用代码").upper()
            if credit and (err := credit_code_error(credit)):
                ctx.err(row, "统一社会信用代码", err)
            elif credit in taken:
                ctx.err(row, "统一社会信用代码", _("系统中已有此统一社会信用代码"))
            phone = row.get("联系电话").replace(" ", "")
            if phone and (err := phone_error(phone)):
                ctx.err(row, "联系电话", err)
            status_text = row.get("状态")
            status = (
                parse_choice(status_text, BusinessStatus) if status_text else BusinessStatus.OPEN
            )
            if status is None:
                ctx.err(
                    row,
                    "状态",
                    (
                        _("状态“%(v0)s”无效，可填：%(v1)s")
                        % {"v0": status_text, "v1": labels(BusinessStatus)}
                    ),
                )
            dates = {}
            for header in ("开业日期", "关闭日期"):
                dates[header] = parse_date(row.get(header)) if row.get(header) else None
                if row.get(header) and dates[header] is None:
                    ctx.err(row, header, (_("%(v0)s无效（格式如 2024-05-01）") % {"v0": header}))
                elif dates[header] and (error := past_date_error(dates[header], header)):
                    ctx.err(row, header, error)
                    dates[header] = None
            if status == BusinessStatus.CLOSED and not row.get("关闭日期"):
                ctx.err(row, "关闭日期", _("状态为已关闭时须填写关闭日期"))
            if status == BusinessStatus.OPEN and dates["关闭日期"]:
                ctx.err(row, "关闭日期", _("营业中的商铺不应有关闭日期"))
            if dates["开业日期"] and dates["关闭日期"] and dates["关闭日期"] < dates["开业日期"]:
                ctx.err(row, "关闭日期", _("关闭日期早于开业日期"))
            items.append(
                {
                    "row": row,
                    "region": region,
                    "kind": kind,
                    "credit": credit,
                    "phone": phone,
                    "status": status,
                    "opened": dates["开业日期"],
                    "closed": dates["关闭日期"],
                    "grid": grids.resolve(row, "网格编码", region) if region else None,
                }
            )
        return items

    def write(self, items: list[dict[str, Any]], ctx: Context) -> dict[str, int]:
        objs = []
        for i in items:
            row, region = i["row"], i["region"]
            objs.append(
                Business(
                    region=region,
                    region_path=region.path,
                    district_id=region.district_id or region.pk,
                    grid=i["grid"],
                    kind=i["kind"],
                    name=row.get("名称"),
                    credit_code=i["credit"],
                    address=row.get("地址"),
                    contact_name=row.get("联系人"),
                    contact_phone=i["phone"],
                    status=i["status"],
                    opened_on=i["opened"],
                    closed_on=i["closed"],
                )
            )
        Business.objects.bulk_create(objs, batch_size=BATCH)
        ctx.tick("写入", len(objs), len(objs))
        return {"businesses": len(objs)}

    def export(self, actor: Any) -> Iterator[list[str]]:
        qs = scope_queryset(
            Business.objects.select_related("region", "grid"), actor, field="region_path"
        )
        for b in qs.order_by("pk").iterator(chunk_size=BATCH):
            yield [
                b.name,
                str(b.get_kind_display()),
                b.credit_code,
                b.region.code,
                b.grid.code if b.grid_id else "",
                b.address,
                b.contact_name,
                b.contact_phone,
                str(b.get_status_display()),
                b.opened_on.isoformat() if b.opened_on else "",
                b.closed_on.isoformat() if b.closed_on else "",
            ]


# ── party organisations and members ─────────────────────────────────────────


def party_code(org: PartyOrg) -> str:
    return org.code or f"P{org.pk}"


def _party_orgs_by_code(ctx: Context, codes: set[str]) -> dict[str, PartyOrg]:
    codes = {c for c in codes if c}
    out: dict[str, PartyOrg] = {}
    for org in PartyOrg.objects.filter(code__in=codes).select_related("region"):
        out[org.code] = org
    by_pk: dict[int, str] = {}
    for c in codes:
        digits = c[1:] if c.startswith("P") and c[1:].isascii() and c[1:].isdigit() else ""
        if (pk := valid_pk(digits)) is not None:
            by_pk[pk] = c
    for org in PartyOrg.objects.filter(pk__in=by_pk, code="").select_related("region"):
        out[by_pk[org.pk]] = org
    return {c: o for c, o in out.items() if ctx.in_scope(o.region_path)}


class PartyOrgsKind(Kind):
    key = "party_orgs"
    label = gettext_noop("党组织")
    columns = [
        Column(
            "组织编码",
            True,
            "DZ-410205001001",
            gettext_noop("唯一编码，下级用它指明上级"),
            text=True,
            max_length=40,
        ),
        Column("组织名称", True, "A社区大党委", max_length=128),
        Column(
            "组织类型", True, "社区大党委", gettext_noop("可填：%(choices)s"), choices=PartyOrgKind
        ),
        Column("上级组织编码", False, "DZ-410205001", gettext_noop("街道党工委可不填"), text=True),
        Column("所属辖区编码", True, "410205001001", gettext_noop("组织对应的辖区"), text=True),
        Column("书记", False, "", max_length=64),
    ]

    def row_key(self, row: Row) -> tuple[str, ...] | None:
        return (row.get("组织编码"),) if row.get("组织编码") else None

    def parse(self, rows: list[Row], ctx: Context) -> list[dict[str, Any]]:
        ctx.load_regions(r.get("所属辖区编码") for r in rows)
        known = _party_orgs_by_code(
            ctx, {r.get("组织编码") for r in rows} | {r.get("上级组织编码") for r in rows}
        )
        taken = set(
            PartyOrg.objects.filter(code__in=[r.get("组织编码") for r in rows]).values_list(
                "code", flat=True
            )
        )
        by_code: dict[str, dict[str, Any]] = {}
        items = []
        for i, row in enumerate(rows, 1):
            ctx.tick("校验", i, len(rows))
            code = row.get("组织编码")
            if code and not CODE_RE.match(code):
                ctx.err(row, "组织编码", _("编码只能包含数字、字母、-、_，最长40位"))
            elif code in taken or (code in known and known[code].code == ""):
                ctx.err(row, "组织编码", (_("组织编码 %(v0)s 已存在于系统中") % {"v0": code}))
            kind_text = row.get("组织类型")
            kind = parse_choice(kind_text, PartyOrgKind) if kind_text else None
            if kind_text and kind is None:
                ctx.err(
                    row,
                    "组织类型",
                    (
                        _("组织类型“%(v0)s”无效，可填：%(v1)s")
                        % {"v0": kind_text, "v1": labels(PartyOrgKind)}
                    ),
                )
            region_code = row.get("所属辖区编码")
            region = ctx.region(region_code) if region_code else None
            if region_code and region is None:
                ctx.err(row, "所属辖区编码", _exists(_("辖区编码 %(v0)s ") % {"v0": region_code}))
            elif region is not None and kind and region.kind not in PARTY_REGION_KINDS[kind]:
                ctx.err(
                    row,
                    "所属辖区编码",
                    (
                        _("%(v0)s不能挂在“%(v1)s”一级")
                        % {"v0": PartyOrgKind(kind).label, "v1": region.get_kind_display()}
                    ),
                )
            item = {
                "row": row,
                "code": code,
                "kind": kind,
                "region": region,
                "parent_item": None,
                "parent_org": None,
            }
            items.append(item)
            if code:
                by_code.setdefault(code, item)
        for item in items:
            row, kind, region = item["row"], item["kind"], item["region"]
            parent_code = row.get("上级组织编码")
            if not parent_code:
                if kind and kind != PartyOrgKind.WORKING_COMMITTEE:
                    ctx.err(row, "上级组织编码", _("只有街道党工委可以没有上级组织"))
                continue
            parent_item = by_code.get(parent_code)
            parent_org = None if parent_item else known.get(parent_code)
            if parent_item is None and parent_org is None:
                ctx.err(row, "上级组织编码", _exists(_("上级组织 %(v0)s ") % {"v0": parent_code}))
                continue
            p_kind = parent_item["kind"] if parent_item else parent_org.kind  # type: ignore[union-attr]
            p_region = parent_item["region"] if parent_item else parent_org.region  # type: ignore[union-attr]
            if kind and p_kind and kind not in PARTY_CHILDREN[p_kind]:
                ctx.err(
                    row,
                    "组织类型",
                    (
                        _("%(v0)s下不能设立%(v1)s")
                        % {"v0": PartyOrgKind(p_kind).label, "v1": PartyOrgKind(kind).label}
                    ),
                )
            if region and p_region and not region.path.startswith(p_region.path):
                ctx.err(row, "所属辖区编码", _("所属辖区须在上级组织的辖区之内"))
            item["parent_item"], item["parent_org"] = parent_item, parent_org
        _depths(items, "parent_item", ctx, "上级组织编码")
        return items

    def write(self, items: list[dict[str, Any]], ctx: Context) -> dict[str, int]:
        created = 0
        for depth in sorted({i["depth"] for i in items}):
            objs = []
            for item in (i for i in items if i["depth"] == depth):
                region, row = item["region"], item["row"]
                parent = item["parent_org"] or (item["parent_item"] or {}).get("obj")
                org = PartyOrg(
                    kind=item["kind"],
                    code=item["code"],
                    name=row.get("组织名称"),
                    parent=parent,
                    secretary=row.get("书记"),
                    region=region,
                    region_path=region.path,
                    district_id=region.district_id or region.pk,
                )
                item["obj"] = org
                objs.append(org)
            PartyOrg.objects.bulk_create(objs, batch_size=BATCH)
            created += len(objs)
        return {"party_orgs": created}

    def export(self, actor: Any) -> Iterator[list[str]]:
        qs = scope_queryset(
            PartyOrg.objects.select_related("region", "parent"), actor, field="region_path"
        )
        orgs = list(qs.order_by("pk"))
        depth: dict[int, int] = {}
        by_pk = {o.pk: o for o in orgs}

        def level(o: PartyOrg) -> int:
            if o.pk not in depth:
                parent = by_pk.get(o.parent_id) if o.parent_id else None
                depth[o.pk] = 0 if parent is None else level(parent) + 1
            return depth[o.pk]

        for o in sorted(orgs, key=lambda o: (level(o), o.pk)):
            yield [
                party_code(o),
                o.name,
                str(o.get_kind_display()),
                party_code(o.parent) if o.parent_id else "",
                o.region.code,
                o.secretary,
            ]


class PartyMembersKind(Kind):
    key = "party_members"
    label = gettext_noop("党员")
    columns = [
        Column("姓名", True, "张红", mask=mask_name, max_length=64),
        Column(
            "身份证号",
            False,
            "",
            gettext_noop("填写时关联到同号的居民"),
            mask=mask_id_number,
            text=True,
        ),
        Column("联系电话", False, "13912345678", mask=mask_phone, text=True),
        Column("党员类型", True, "社区党员", gettext_noop("可填：%(choices)s"), choices=MemberKind),
        Column("所在党组织编码", True, "DZ-410205001001", text=True),
        Column("居住社区编码", True, "410205001001", text=True),
        Column(
            "工作单位",
            False,
            "",
            gettext_noop("在职党员必填；系统中没有的单位将登记为共建单位"),
            max_length=128,
        ),
        Column("入党日期", False, "2001-07-01"),
    ]

    def row_key(self, row: Row) -> tuple[str, ...] | None:
        if row.get("身份证号"):
            return ("id", row.get("身份证号").upper())
        return ("name", row.get("姓名"), row.get("联系电话"))

    def key_headers(self, row: Row) -> list[str]:
        return ["身份证号"] if row.get("身份证号") else ["姓名", "联系电话"]

    def parse(self, rows: list[Row], ctx: Context) -> list[dict[str, Any]]:
        ctx.load_regions(r.get("居住社区编码") for r in rows)
        orgs = _party_orgs_by_code(ctx, {r.get("所在党组织编码") for r in rows})
        ids = {r.get("身份证号").upper() for r in rows if r.get("身份证号")}
        residents: dict[str, Resident] = {}
        for chunk in chunks(sorted(ids), 900):
            for res in Resident.objects.filter(id_number__in=chunk):
                if ctx.in_scope(res.region_path):
                    residents[res.id_number] = res
        linked = (
            set(
                PartyMember.objects.filter(resident__in=list(residents.values())).values_list(
                    "resident__id_number", flat=True
                )
            )
            if residents
            else set()
        )
        units = {
            u.name: u
            for u in scope_queryset(PartnerUnit.objects.all(), ctx.actor, field="region_path")
        }
        ctx.extra["units"] = units
        items = []
        for i, row in enumerate(rows, 1):
            ctx.tick("校验", i, len(rows))
            kind_text = row.get("党员类型")
            kind = parse_choice(kind_text, MemberKind) if kind_text else None
            if kind_text and kind is None:
                ctx.err(
                    row,
                    "党员类型",
                    (
                        _("党员类型“%(v0)s”无效，可填：%(v1)s")
                        % {"v0": kind_text, "v1": labels(MemberKind)}
                    ),
                )
            org_code = row.get("所在党组织编码")
            branch = orgs.get(org_code) if org_code else None
            if org_code and branch is None:
                ctx.err(row, "所在党组织编码", _exists(_("党组织 %(v0)s ") % {"v0": org_code}))
            elif branch is not None and branch.kind in (
                PartyOrgKind.WORKING_COMMITTEE,
                PartyOrgKind.HOUSEHOLD,
            ):
                ctx.err(row, "所在党组织编码", _("党员应编入党支部、大党委或党小组"))
            code = row.get("居住社区编码")
            community = ctx.region(code) if code else None
            if code and (community is None or community.kind != RegionKind.COMMUNITY):
                ctx.err(row, "居住社区编码", _exists(_("社区编码 %(v0)s ") % {"v0": code}))
                community = None
            id_number = row.get("身份证号").upper()
            resident = None
            if id_number:
                if err := id_number_error(id_number):
                    ctx.err(row, "身份证号", err)
                elif id_number in linked:
                    ctx.err(row, "身份证号", _("该居民已登记为党员"))
                else:
                    resident = residents.get(id_number)
            phone = row.get("联系电话").replace(" ", "")
            if phone and (err := phone_error(phone)):
                ctx.err(row, "联系电话", err)
            workplace = row.get("工作单位")
            if kind == MemberKind.IN_SERVICE and not workplace:
                ctx.err(row, "工作单位", _("在职党员须填写工作单位"))
            joined = parse_date(row.get("入党日期")) if row.get("入党日期") else None
            if row.get("入党日期") and (joined is None or joined > dt.date.today()):
                ctx.err(row, "入党日期", _("入党日期无效（格式如 2001-07-01，且不晚于今天）"))
            items.append(
                {
                    "row": row,
                    "kind": kind,
                    "branch": branch,
                    "community": community,
                    "resident": resident,
                    "phone": phone,
                    "workplace": workplace,
                    "joined": joined,
                }
            )
        return items

    def write(self, items: list[dict[str, Any]], ctx: Context) -> dict[str, int]:
        units = ctx.extra["units"]
        new_units = []
        for i in items:
            name = i["workplace"]
            if name and name not in units:
                c = i["community"]
                unit = PartnerUnit(
                    name=name, region=c, region_path=c.path, district_id=c.district_id or c.pk
                )
                units[name] = unit
                new_units.append(unit)
        PartnerUnit.objects.bulk_create(new_units, batch_size=BATCH)
        members = []
        for i in items:
            c = i["community"]
            members.append(
                PartyMember(
                    name=i["row"].get("姓名"),
                    phone=i["phone"],
                    kind=i["kind"],
                    branch=i["branch"],
                    region=c,
                    region_path=c.path,
                    district_id=c.district_id or c.pk,
                    resident=i["resident"],
                    workplace=units.get(i["workplace"]) if i["workplace"] else None,
                    joined_on=i["joined"],
                )
            )
        PartyMember.objects.bulk_create(members, batch_size=BATCH)
        resident_ids = [i["resident"].pk for i in items if i["resident"] is not None]
        for chunk in chunks(resident_ids, 900):
            Resident.objects.filter(pk__in=chunk).update(is_party_member=True)
        ctx.tick("写入", len(members), len(members))
        if new_units:
            ctx.notes.append(_("新登记共建单位 %(v0)s 个") % {"v0": len(new_units)})
        return {"party_members": len(members), "partner_units": len(new_units)}

    def export(self, actor: Any) -> Iterator[list[str]]:
        qs = scope_queryset(
            PartyMember.objects.select_related("branch", "region", "resident", "workplace"),
            actor,
            field="region_path",
        )
        for m in qs.order_by("pk").iterator(chunk_size=BATCH):
            yield [
                m.name,
                m.resident.id_number if m.resident_id else "",
                m.phone,
                str(m.get_kind_display()),
                party_code(m.branch),
                m.region.code,
                m.workplace.name if m.workplace_id else "",
                m.joined_on.isoformat() if m.joined_on else "",
            ]


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        RegionsKind(),
        GridsKind(),
        HousesKind(),
        ResidentsKind(),
        BusinessesKind(),
        PartyOrgsKind(),
        PartyMembersKind(),
    )
}
