"""Reads on the territory, always scoped to the acting user's jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from gridgov.accounts import capabilities as caps
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.core.pagination import Page, keyset_page
from gridgov.core.scope import scope_queryset, subtree_q, user_scope_path
from gridgov.territory.models import Facility, Grid, Region, RegionKind

# The tree page stops at compounds by default: buildings and units are thousands.
TREE_DEFAULT_KINDS = (
    RegionKind.DISTRICT,
    RegionKind.STREET,
    RegionKind.TOWNSHIP,
    RegionKind.COMMUNITY,
    RegionKind.COMPOUND,
)


@dataclass
class TreeNode:
    region: Region
    children: list[TreeNode] = field(default_factory=list)
    grid_count: int = 0


def _regions(actor: Any) -> QuerySet[Region]:
    caps.require_cap(actor, caps.VIEW_REGISTRY)
    return scope_queryset(Region.objects.all(), actor, field="path")


def _grids(actor: Any) -> QuerySet[Grid]:
    caps.require_cap(actor, caps.VIEW_REGISTRY)
    return scope_queryset(Grid.objects.all(), actor, field="region_path")


def region_tree(*, actor: Any, kinds: tuple[str, ...] = TREE_DEFAULT_KINDS) -> list[TreeNode]:
    """The territory tree inside the actor's jurisdiction, as nested nodes.

    Roots are the actor's scope region (all districts for a superuser). Each community
    node carries its grid count. One query for the regions, one for the grid counts.
    """
    regions = list(_regions(actor).filter(kind__in=kinds).order_by("path"))
    counts = dict(
        _grids(actor)
        .order_by()
        .values("region_id")
        .annotate(n=Count("id"))
        .values_list("region_id", "n")
    )
    nodes = {r.pk: TreeNode(region=r, grid_count=counts.get(r.pk, 0)) for r in regions}
    roots: list[TreeNode] = []
    for region in regions:
        node = nodes[region.pk]
        parent = nodes.get(region.parent_id) if region.parent_id else None
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    return roots


def community_list(*, actor: Any) -> QuerySet[Region]:
    """Communities in the actor's jurisdiction, for filter drop-downs."""
    return _regions(actor).filter(kind=RegionKind.COMMUNITY).only("code", "name").order_by("code")


def region_get(*, actor: Any, code: str) -> Region:
    """One region by code; NotFound when missing or outside the actor's jurisdiction."""
    region = _regions(actor).select_related("parent", "property_manager").filter(code=code).first()
    if region is None:
        raise NotFound(_("未找到该辖区"))
    return region


def region_overview(*, actor: Any, code: str, children_limit: int = 300) -> dict[str, Any]:
    """A region with its ancestors, children, grids (for a community) and facilities.

    NotFound when missing or outside the actor's jurisdiction.
    """
    region = region_get(actor=actor, code=code)
    parts = [p for p in region.path.split("/") if p][:-1]
    ancestor_paths = ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    return {
        "region": region,
        "ancestors": list(_regions(actor).filter(path__in=ancestor_paths).order_by("depth")),
        "children": list(
            region.children.select_related("property_manager").order_by("code")[:children_limit]
        ),
        "grids": list(region.grids.select_related("owner").order_by("code"))
        if region.kind == RegionKind.COMMUNITY
        else [],
        "facilities": list(Facility.objects.filter(region=region).order_by("kind", "name")),
    }


def region_list(
    *,
    actor: Any,
    kind: str | None = None,
    parent: str | None = None,
    cursor: str | None = None,
    size: int = 50,
) -> Page:
    """Regions in scope, optionally of one kind or under one parent code; keyset-paginated."""
    qs = _regions(actor).select_related("parent")
    if kind:
        if kind not in RegionKind.values:
            raise ValidationFailed(_("未知的辖区层级"), field="kind")
        qs = qs.filter(kind=kind)
    if parent:
        qs = qs.filter(parent__code=parent)
    return keyset_page(qs, cursor=cursor, size=size, descending=False)


def grid_get(*, actor: Any, code: str) -> Grid:
    """One grid by code; NotFound when missing or outside the actor's jurisdiction."""
    grid = (
        _grids(actor)
        .select_related("region", "region__parent", "parent", "owner")
        .filter(code=code)
        .first()
    )
    if grid is None:
        raise NotFound(_("未找到该网格"))
    return grid


def grid_list(
    *,
    actor: Any,
    community: str | None = None,
    level: int | None = None,
    search: str | None = None,
    cursor: str | None = None,
    size: int = 50,
) -> Page:
    """Grids in scope, filtered by community code, level and a name/code search.

    Keyset-paginated by id (no COUNT). Errors: ValidationFailed for a bad level or cursor.
    """
    qs = _grids(actor).select_related("region", "owner")
    if community:
        qs = qs.filter(region__code=community)
    if level is not None:
        if not 1 <= int(level) <= 5:
            raise ValidationFailed(_("网格层级须在 1 到 5 之间"), field="level")
        qs = qs.filter(level=level)
    if search:
        search = search.strip()
        qs = qs.filter(Q(name__icontains=search) | Q(code__startswith=search))
    return keyset_page(qs, cursor=cursor, size=size, descending=False)


def grid_subtree_ids(grid: Grid) -> list[int]:
    """Ids of ``grid`` and of every grid nested under it (a child's code extends its parent's)."""
    return [
        grid.pk,
        *Grid.objects.filter(code__startswith=f"{grid.code}-").values_list("pk", flat=True),
    ]


def grid_stats(*, grid: Grid) -> dict[str, int]:
    """Counts on a grid and the grids nested in it: residents, houses, open shops.

    Filters on the indexed grid foreign key (no join), so it stays cheap on big tables.
    """
    from gridgov.people.models import Business, BusinessKind, BusinessStatus, House, Resident

    where = Q(grid_id__in=grid_subtree_ids(grid))
    return {
        "residents": Resident.objects.filter(where, is_active=True).count(),
        "houses": House.objects.filter(where).count(),
        "shops": Business.objects.filter(
            where, kind=BusinessKind.SHOP, status=BusinessStatus.OPEN
        ).count(),
    }


def grid_heads(*, grid: Grid) -> dict[str, Any]:
    """The grid worker and the current five heads on ``grid`` (ended roles left out)."""
    from gridgov.people.models import FIVE_HEADS, RoleAssignment, RoleKind

    roles = list(
        RoleAssignment.objects.filter(
            grid=grid, ended_on__isnull=True, kind__in=[*FIVE_HEADS, RoleKind.GRID_WORKER]
        )
        .select_related("user")
        .order_by("kind", "started_on", "pk")
    )
    order = [
        RoleKind.GRID_HEAD,
        RoleKind.STREET_HEAD,
        RoleKind.PARTY_GROUP_HEAD,
        RoleKind.BUILDING_HEAD,
        RoleKind.UNIT_HEAD,
    ]
    heads = [(RoleKind(k).label, [r for r in roles if r.kind == k]) for k in order]
    workers = [r for r in roles if r.kind == RoleKind.GRID_WORKER]
    return {"heads": heads, "workers": workers}


def grids_geojson(
    *, actor: Any, community: str | None = None, level: int | None = None, leaves_only: bool = False
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the grids in scope (with polygons).

    ``leaves_only`` keeps only grids without children, so nested levels do not overlap on
    a map. Each feature's properties: code, name, level, community code and name.
    """
    qs = _grids(actor).exclude(polygon=None).select_related("region")
    if community:
        qs = qs.filter(region__code=community)
    if level is not None:
        if not 1 <= int(level) <= 5:
            raise ValidationFailed(_("网格层级须在 1 到 5 之间"), field="level")
        qs = qs.filter(level=level)
    if leaves_only and level is None:
        qs = qs.filter(children__isnull=True)
    features = [
        {
            "type": "Feature",
            "id": g.code,
            "properties": {
                "name": g.code,
                "code": g.code,
                "label": g.name,
                "level": g.level,
                "community": g.region.code,
                "community_name": g.region.name,
            },
            "geometry": g.polygon,
        }
        for g in qs.order_by("code")
    ]
    return {"type": "FeatureCollection", "features": features}


def scope_label(actor: Any) -> str:
    """A readable name of the actor's jurisdiction, for page headings."""
    path = user_scope_path(actor)
    if path is None:
        return ""
    if path == "":
        return _("全部辖区")
    return actor.scope_region.name


__all__ = [
    "grid_get",
    "grid_list",
    "grid_stats",
    "grids_geojson",
    "region_get",
    "region_list",
    "region_tree",
    "subtree_q",
]
