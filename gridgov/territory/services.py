"""Writes on the territory: regions, grids, grid workers and heads, facilities.

Every function takes the acting user, checks the capability and the jurisdiction,
changes the rows in one transaction and writes an audit row.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import shapely
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.geometry import shape

from gridgov.accounts import capabilities as caps
from gridgov.accounts.models import Role
from gridgov.core.audit import audit
from gridgov.core.errors import NotFound, PermissionDenied, ValidationFailed
from gridgov.core.scope import in_scope
from gridgov.territory.models import (
    ALLOWED_CHILDREN,
    Facility,
    FacilityKind,
    Grid,
    Region,
    RegionKind,
)

MAX_GRID_LEVEL = 5
CODE_RE = re.compile(r"^[0-9A-Za-z]{1,32}$")


# --- helpers -------------------------------------------------------------------------------------


def _require_edit(actor: Any, path: str) -> None:
    caps.require_cap(actor, caps.EDIT_REGISTRY)
    if not in_scope(actor, path):
        # Outside the actor's jurisdiction looks the same as missing.
        raise NotFound(_("未找到该辖区"))


def validate_polygon(polygon: Any, *, field: str = "polygon") -> dict:
    """Return ``polygon`` if it is a valid GeoJSON Polygon/MultiPolygon in lon/lat degrees.

    Raises ValidationFailed naming ``field`` otherwise.
    """
    if not isinstance(polygon, dict):
        raise ValidationFailed(_("范围须为 GeoJSON 对象"), field=field)
    if polygon.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValidationFailed(_("范围须为 GeoJSON Polygon 或 MultiPolygon"), field=field)
    try:
        geom = shape(polygon)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise ValidationFailed(_("范围坐标格式错误：%(err)s") % {"err": exc}, field=field) from exc
    if geom.is_empty:
        raise ValidationFailed(_("范围不能为空"), field=field)
    minx, miny, maxx, maxy = geom.bounds
    if (
        not all(math.isfinite(v) for v in geom.bounds)
        or minx < -180
        or maxx > 180
        or (miny < -90 or maxy > 90)
    ):
        raise ValidationFailed(_("范围坐标须为经纬度（经度 -180～180，纬度 -90～90）"), field=field)
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise ValidationFailed(
            _("范围不是有效的多边形：%(reason)s") % {"reason": reason}, field=field
        )
    if geom.area <= 0:
        raise ValidationFailed(_("范围面积须大于零"), field=field)
    return polygon


# --- regions -------------------------------------------------------------------------------------


@transaction.atomic
def region_create(
    *,
    actor: Any,
    kind: str,
    code: str,
    name: str,
    parent: Region | None,
    latitude: float | None = None,
    longitude: float | None = None,
    **compound_fields: Any,
) -> Region:
    """Add a node to the territory tree under ``parent``.

    Preconditions: ``kind`` may hang under the parent's kind (ALLOWED_CHILDREN); the code
    is unique; the actor may edit the registry inside the parent's subtree (a district,
    which has no parent, only a superuser). Effects: the row with its materialised path;
    an audit row. Errors: ValidationFailed (field kind/code/name/parent), NotFound, 403.
    """
    code = (code or "").strip()
    name = (name or "").strip()
    if kind not in RegionKind.values:
        raise ValidationFailed(_("未知的辖区层级"), field="kind")
    if parent is None:
        if kind != RegionKind.DISTRICT:
            raise ValidationFailed(_("只有区/县可以没有上级"), field="parent")
        if not getattr(actor, "is_superuser", False):
            raise PermissionDenied(_("只有系统管理员可以新建区/县"))
    else:
        parent = Region.objects.select_for_update().get(pk=parent.pk)
        _require_edit(actor, parent.path)
        if kind not in ALLOWED_CHILDREN.get(parent.kind, set()):
            raise ValidationFailed(
                _("%(child)s不能直接隶属于%(parent)s")
                % {"child": RegionKind(kind).label, "parent": RegionKind(parent.kind).label},
                field="kind",
            )
    if not CODE_RE.match(code):
        raise ValidationFailed(_("编码只能由字母和数字组成，最长 32 位"), field="code")
    if not name:
        raise ValidationFailed(_("名称不能为空"), field="name")
    if Region.objects.filter(code=code).exists():
        raise ValidationFailed(_("编码 %(code)s 已被使用") % {"code": code}, field="code")
    allowed_extra = {
        "property_manager",
        "has_owners_committee",
        "supervising_unit",
        "population",
        "boundary",
    }
    unknown = set(compound_fields) - allowed_extra
    if unknown:
        raise ValidationFailed(_("未知字段"), field=sorted(unknown)[0])
    region = Region(
        kind=kind,
        code=code,
        name=name,
        parent=parent,
        latitude=latitude,
        longitude=longitude,
        **compound_fields,
    )
    region.save()  # builds path, depth and district
    audit(
        actor=actor,
        action="region.create",
        target=region,
        region_path=region.path,
        data={"code": code, "kind": kind},
    )
    return region


# --- grids ---------------------------------------------------------------------------------------


def _next_grid_number(prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"(\d+)$")
    numbers = [
        int(m.group(1))
        for c in Grid.objects.filter(code__startswith=prefix).values_list("code", flat=True)
        if (m := pattern.match(c))
    ]
    return max(numbers, default=0) + 1


def _check_within_parent(polygon: dict, parent: Grid | None) -> None:
    if parent is None or not parent.polygon:
        return
    child, outer = shape(polygon), shape(parent.polygon)
    if not outer.buffer(1e-9).covers(child):
        raise ValidationFailed(_("下级网格的范围须在上级网格范围之内"), field="polygon")


@transaction.atomic
def grid_create(
    *,
    actor: Any,
    community: Region,
    name: str,
    polygon: dict | None,
    parent: Grid | None = None,
    number: int | None = None,
) -> Grid:
    """Create a grid of level 1 (no parent) or parent.level + 1 inside ``community``.

    The code is stable: the community's code (district + street + community) followed by
    the grid number, e.g. ``410205001001-03``; a child grid extends its parent's code
    (``410205001001-03-02``). Errors: ValidationFailed naming community/parent/name/
    polygon/number; NotFound outside the actor's jurisdiction.
    """
    community = Region.objects.get(pk=community.pk)
    _require_edit(actor, community.path)
    if community.kind != RegionKind.COMMUNITY:
        raise ValidationFailed(
            _("网格只能建在社区之下，不能直接挂在街道或其他层级"), field="community"
        )
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("名称不能为空"), field="name")
    if parent is not None:
        parent = Grid.objects.select_for_update().get(pk=parent.pk)
        if parent.region_id != community.pk:
            raise ValidationFailed(_("上级网格须属于同一社区"), field="parent")
        if parent.level >= MAX_GRID_LEVEL:
            raise ValidationFailed(_("网格最多五级"), field="parent")
        level, prefix = parent.level + 1, f"{parent.code}-"
    else:
        level, prefix = 1, f"{community.code}-"
    if polygon is not None:
        validate_polygon(polygon)
        _check_within_parent(polygon, parent)
    if number is None:
        number = _next_grid_number(prefix)
    if not isinstance(number, int) or number < 1 or number > 99:
        raise ValidationFailed(_("网格序号须在 1 到 99 之间"), field="number")
    code = f"{prefix}{number:02d}"
    if Grid.objects.filter(code=code).exists():
        raise ValidationFailed(_("网格编码 %(code)s 已存在") % {"code": code}, field="number")
    grid = Grid(code=code, name=name, level=level, region=community, parent=parent, polygon=polygon)
    grid.save()  # the post_save signal marks the point→grid index stale
    audit(
        actor=actor,
        action="grid.create",
        target=grid,
        region_path=grid.region_path,
        data={"code": code, "level": level},
    )
    return grid


@transaction.atomic
def grid_update(
    *, actor: Any, grid: Grid, name: str | None = None, polygon: dict | None = None
) -> Grid:
    """Rename a grid or redraw its polygon; the code and place in the tree stay.

    Effects: the point→grid index is rebuilt on next use; an audit row with the changed
    fields. Errors: ValidationFailed (name/polygon), NotFound outside jurisdiction.
    """
    grid = Grid.objects.select_for_update().select_related("region").get(pk=grid.pk)
    _require_edit(actor, grid.region_path)
    changed: list[str] = []
    if name is not None:
        name = name.strip()
        if not name:
            raise ValidationFailed(_("名称不能为空"), field="name")
        if name != grid.name:
            grid.name = name
            changed.append("name")
    if polygon is not None:
        validate_polygon(polygon)
        _check_within_parent(polygon, grid.parent)
        if polygon != grid.polygon:
            grid.polygon = polygon
            changed.append("polygon")
    if changed:
        grid.save(update_fields=[*changed, "region_path", "district"])
        audit(
            actor=actor,
            action="grid.update",
            target=grid,
            region_path=grid.region_path,
            data={"fields": changed},
        )
    return grid


def _end_roles(qs: Any, day: dt.date) -> int:
    return qs.filter(ended_on__isnull=True).update(ended_on=day, updated_at=timezone.now())


@transaction.atomic
def grid_assign_owner(*, actor: Any, grid: Grid, owner: Any | None) -> Grid:
    """Make ``owner`` (a user) the grid worker of ``grid``; ``None`` leaves it vacant.

    The owner must be a grid or community worker whose jurisdiction covers the grid.
    Effects: Grid.owner; the previous grid_worker RoleAssignment is ended today and a new
    one started; an audit row. Errors: ValidationFailed (owner), NotFound.
    """
    from gridgov.people.models import RoleAssignment, RoleKind

    grid = Grid.objects.select_for_update().select_related("region").get(pk=grid.pk)
    _require_edit(actor, grid.region_path)
    if owner is not None:
        if owner.role not in (Role.GRID_WORKER, Role.COMMUNITY_WORKER) or not owner.is_active:
            raise ValidationFailed(_("网格员须是在岗的网格员或社区工作者账号"), field="owner")
        scope = owner.scope_region.path if owner.scope_region_id else None
        if scope is None or not grid.region_path.startswith(scope):
            raise ValidationFailed(_("该账号的管辖范围不包含此网格"), field="owner")
    if (owner.pk if owner else None) == grid.owner_id:
        return grid
    today = timezone.localdate()
    _end_roles(RoleAssignment.objects.filter(grid=grid, kind=RoleKind.GRID_WORKER), today)
    grid.owner = owner
    grid.save(update_fields=["owner"])
    if owner is not None:
        RoleAssignment.objects.create(
            kind=RoleKind.GRID_WORKER,
            grid=grid,
            region=grid.region,
            user=owner,
            person_name=owner.display_name or owner.username,
            phone=owner.phone,
            started_on=today,
        )
    audit(
        actor=actor,
        action="grid.assign_owner",
        target=grid,
        region_path=grid.region_path,
        data={"owner": owner.pk if owner else None},
    )
    return grid


@transaction.atomic
def grid_assign_head(
    *,
    actor: Any,
    grid: Grid,
    kind: str,
    person_name: str,
    phone: str = "",
    resident: Any | None = None,
    user: Any | None = None,
    replace: bool = True,
) -> Any:
    """Appoint one of the five heads (网格长, 街长, 党小组长, 楼栋长, 单元长) on ``grid``.

    With ``replace`` (the default) the current holder of that head role on the grid is
    ended today; building and unit heads of a grid with several buildings pass
    ``replace=False``. Returns the new RoleAssignment; writes an audit row.
    Errors: ValidationFailed (kind/person_name/resident), NotFound.
    """
    from gridgov.people.models import FIVE_HEADS, RoleAssignment

    grid = Grid.objects.select_for_update().select_related("region").get(pk=grid.pk)
    _require_edit(actor, grid.region_path)
    if kind not in FIVE_HEADS:
        raise ValidationFailed(_("只能任命“五长”之一"), field="kind")
    person_name = (person_name or "").strip()
    if resident is not None:
        if not resident.region_path.startswith(grid.region_path):
            raise ValidationFailed(_("该居民不在此网格所属社区"), field="resident")
        person_name = person_name or resident.name
        phone = phone or resident.phone
    if not person_name:
        raise ValidationFailed(_("姓名不能为空"), field="person_name")
    today = timezone.localdate()
    if replace:
        _end_roles(RoleAssignment.objects.filter(grid=grid, kind=kind), today)
    role = RoleAssignment.objects.create(
        kind=kind,
        grid=grid,
        region=grid.region,
        person_name=person_name,
        phone=phone or "",
        resident=resident,
        user=user,
        started_on=today,
    )
    audit(
        actor=actor,
        action="grid.assign_head",
        target=grid,
        region_path=grid.region_path,
        data={"kind": kind, "role_assignment": role.pk},
    )
    return role


# --- facilities ----------------------------------------------------------------------------------


@transaction.atomic
def facility_create(
    *,
    actor: Any,
    kind: str,
    name: str,
    region: Region,
    address: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    opening_hours: str = "",
) -> Facility:
    """Register a service venue (党群服务中心, 暖心驿站 …) in ``region``.

    Errors: ValidationFailed (kind/name/latitude/longitude), NotFound outside jurisdiction.
    """
    region = Region.objects.get(pk=region.pk)
    _require_edit(actor, region.path)
    if kind not in FacilityKind.values:
        raise ValidationFailed(_("未知的阵地类型"), field="kind")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("名称不能为空"), field="name")
    if latitude is not None and not -90 <= latitude <= 90:
        raise ValidationFailed(_("纬度须在 -90 到 90 之间"), field="latitude")
    if longitude is not None and not -180 <= longitude <= 180:
        raise ValidationFailed(_("经度须在 -180 到 180 之间"), field="longitude")
    facility = Facility(
        kind=kind,
        name=name,
        region=region,
        address=address,
        latitude=latitude,
        longitude=longitude,
        opening_hours=opening_hours,
    )
    facility.save()
    audit(
        actor=actor,
        action="facility.create",
        target=facility,
        region_path=region.path,
        data={"kind": kind},
    )
    return facility
