"""Territory JSON API: regions, grids and point → grid, scoped to the caller."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from gridgov.accounts import capabilities as caps
from gridgov.accounts.api_auth import api_auth
from gridgov.core.errors import NotFound
from gridgov.core.scope import in_scope
from gridgov.territory import geo, selectors
from gridgov.territory.models import Grid

router = Router(auth=api_auth, tags=["territory"])


class RegionOut(Schema):
    code: str
    name: str
    kind: str
    path: str
    parent_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    @staticmethod
    def resolve_parent_code(obj: Any) -> str | None:
        return obj.parent.code if obj.parent_id else None


class RegionDetailOut(RegionOut):
    is_three_no: bool = False
    property_manager: str | None = None
    has_owners_committee: bool = False

    @staticmethod
    def resolve_property_manager(obj: Any) -> str | None:
        return obj.property_manager.name if obj.property_manager_id else None


class RegionPage(Schema):
    items: list[RegionOut]
    next_cursor: str | None


class GridOut(Schema):
    code: str
    name: str
    level: int
    community_code: str
    community_name: str
    parent_code: str | None = None
    owner: str | None = None

    @staticmethod
    def resolve_community_code(obj: Any) -> str:
        return obj.region.code

    @staticmethod
    def resolve_community_name(obj: Any) -> str:
        return obj.region.name

    @staticmethod
    def resolve_parent_code(obj: Any) -> str | None:
        return obj.code.rsplit("-", 1)[0] if obj.parent_id else None

    @staticmethod
    def resolve_owner(obj: Any) -> str | None:
        return str(obj.owner) if obj.owner_id else None


class GridDetailOut(GridOut):
    polygon: dict | None = None
    residents: int = 0
    houses: int = 0
    shops: int = 0

    # Counts come from selectors.grid_stats, attached by the view as ``_stats``.
    @staticmethod
    def resolve_residents(obj: Any) -> int:
        return obj._stats["residents"]

    @staticmethod
    def resolve_houses(obj: Any) -> int:
        return obj._stats["houses"]

    @staticmethod
    def resolve_shops(obj: Any) -> int:
        return obj._stats["shops"]


class GridPage(Schema):
    items: list[GridOut]
    next_cursor: str | None


class RegionFilters(Schema):
    kind: str | None = None
    parent: str | None = Field(None, description="上级辖区编码")
    cursor: str | None = None
    page_size: int = Field(50, ge=1, le=500)


class GridFilters(Schema):
    community: str | None = Field(None, description="社区编码")
    level: int | None = Field(None, ge=1, le=5)
    search: str | None = Field(None, description="名称或编码")
    cursor: str | None = None
    page_size: int = Field(50, ge=1, le=500)


class PointIn(Schema):
    lat: float = Field(..., ge=-90, le=90, description="纬度")
    lng: float = Field(..., ge=-180, le=180, description="经度")


@router.get("/regions", response=RegionPage, summary="辖区列表")
def regions(request: HttpRequest, filters: Query[RegionFilters]) -> dict[str, Any]:
    page = selectors.region_list(
        actor=request.auth,
        kind=filters.kind,
        parent=filters.parent,
        cursor=filters.cursor,
        size=filters.page_size,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/regions/{code}", response=RegionDetailOut, summary="辖区详情")
def region_detail(request: HttpRequest, code: str) -> Any:
    return selectors.region_get(actor=request.auth, code=code)


@router.get("/grids", response=GridPage, summary="网格列表")
def grids(request: HttpRequest, filters: Query[GridFilters]) -> dict[str, Any]:
    page = selectors.grid_list(
        actor=request.auth,
        community=filters.community,
        level=filters.level,
        search=filters.search,
        cursor=filters.cursor,
        size=filters.page_size,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/grids/lookup",
    response=GridOut,
    summary="按坐标查网格",
    description="返回覆盖该点的最细一级网格；没有网格覆盖该点时返回 404。",
)
def grid_lookup(request: HttpRequest, point: Query[PointIn]) -> Any:
    caps.require_cap(request.auth, caps.VIEW_REGISTRY)
    grid_id = geo.grid_id_for_point(latitude=point.lat, longitude=point.lng)
    grid = (
        Grid.objects.select_related("region", "owner").filter(pk=grid_id).first()
        if grid_id is not None
        else None
    )
    if grid is None or not in_scope(request.auth, grid.region_path):
        error = NotFound(_("没有网格覆盖该点（no grid covers this point）"), field="lat")
        error.code = "no_grid"
        raise error
    return grid


@router.get("/grids/{code}", response=GridDetailOut, summary="网格详情")
def grid_detail(request: HttpRequest, code: str) -> Any:
    grid = selectors.grid_get(actor=request.auth, code=code)
    grid._stats = selectors.grid_stats(grid=grid)
    return grid
