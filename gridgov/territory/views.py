"""Territory pages: the tree, the grid map, grid list and detail, region detail."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from gridgov.core.errors import ValidationFailed
from gridgov.territory import selectors
from gridgov.territory.models import Region

PAGE_SIZE = 50


def _level(request: HttpRequest) -> int | None:
    raw = request.GET.get("level", "").strip()
    if not raw:
        return None
    try:
        level = int(raw)
    except ValueError as exc:
        raise ValidationFailed(_("网格层级须为 1 到 5 的整数"), field="level") from exc
    if not 1 <= level <= 5:
        raise ValidationFailed(_("网格层级须为 1 到 5 的整数"), field="level")
    return level


def _communities(actor: Any) -> list[Region]:
    return list(selectors.community_list(actor=actor))


@login_required
@require_GET
def tree(request: HttpRequest) -> HttpResponse:
    roots = selectors.region_tree(actor=request.user)
    return render(
        request,
        "territory/tree.html",
        {"roots": roots, "scope_label": selectors.scope_label(request.user)},
    )


@login_required
@require_GET
def grid_map(request: HttpRequest) -> HttpResponse:
    community = request.GET.get("community", "").strip() or None
    level = _level(request)
    data = selectors.grids_geojson(
        actor=request.user, community=community, level=level, leaves_only=True
    )
    base = reverse("territory:grid_detail", args=["__code__"])
    return render(
        request,
        "territory/map.html",
        {
            "geojson": data,
            "detail_url": base,
            "communities": _communities(request.user),
            "community": community or "",
            "level": level or "",
            "levels": range(1, 6),
            "geojson_url": reverse("territory:geojson")
            + "?"
            + urlencode(
                {k: v for k, v in {"community": community or "", "level": level or ""}.items() if v}
            ),
        },
    )


@login_required
@require_GET
def geojson(request: HttpRequest) -> JsonResponse:
    data = selectors.grids_geojson(
        actor=request.user,
        community=request.GET.get("community", "").strip() or None,
        level=_level(request),
        leaves_only=request.GET.get("leaves") == "1",
    )
    return JsonResponse(data)


@login_required
@require_GET
def grid_list(request: HttpRequest) -> HttpResponse:
    community = request.GET.get("community", "").strip()
    search = request.GET.get("q", "").strip()
    level = _level(request)
    page = selectors.grid_list(
        actor=request.user,
        community=community or None,
        level=level,
        search=search or None,
        cursor=request.GET.get("cursor") or None,
        size=PAGE_SIZE,
    )
    query = urlencode(
        {k: v for k, v in {"community": community, "q": search, "level": level or ""}.items() if v}
    )
    return render(
        request,
        "territory/grid_list.html",
        {
            "page": page,
            "community": community,
            "q": search,
            "level": level or "",
            "levels": range(1, 6),
            "communities": _communities(request.user),
            "query": query,
            "first_page": bool(request.GET.get("cursor")),
        },
    )


@login_required
@require_GET
def grid_detail(request: HttpRequest, code: str) -> HttpResponse:
    grid = selectors.grid_get(actor=request.user, code=code)
    return render(
        request,
        "territory/grid_detail.html",
        {
            "grid": grid,
            "stats": selectors.grid_stats(grid=grid),
            "roles": selectors.grid_heads(grid=grid),
            "children": list(grid.children.order_by("code")),
            "geojson": {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": grid.polygon,
                        "properties": {
                            "name": grid.code,
                            "label": grid.name,
                            "community": grid.region.code,
                            "community_name": grid.region.name,
                        },
                    }
                ],
            }
            if grid.polygon
            else None,
        },
    )


@login_required
@require_GET
def region_detail(request: HttpRequest, code: str) -> HttpResponse:
    overview = selectors.region_overview(actor=request.user, code=code)
    return render(request, "territory/region_detail.html", overview)
