"""JSON API of the people registry: read-only, masked, scoped exactly like the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from gridgov.accounts.api_auth import api_auth
from gridgov.core.pagination import keyset_page
from gridgov.core.pii import mask_name, mask_phone
from gridgov.people import selectors, services

router = Router(auth=api_auth, tags=["people"])


class ResidentOut(Schema):
    id: int
    name: str
    gender: str
    phone: str
    id_number: str
    birth_year: int | None
    region: str
    region_code: str
    grid: str
    grid_code: str
    is_party_member: bool
    is_active: bool
    tags: str


class OccupancyOut(Schema):
    id: int
    resident_id: int
    name: str
    phone: str
    role: str
    started_on: dt.date
    ended_on: dt.date | None
    current: bool


class ResidentPage(Schema):
    items: list[ResidentOut]
    next_cursor: str | None


class HouseOut(Schema):
    id: int
    region_code: str
    building: str
    room: str
    tenure: str
    grid_code: str | None
    area_m2: float | None


class HouseDetailOut(HouseOut):
    occupancies: list[OccupancyOut]


class HousePage(Schema):
    items: list[HouseOut]
    next_cursor: str | None


class BusinessOut(Schema):
    id: int
    name: str
    kind: str
    status: str
    region_code: str
    grid_code: str | None
    contact_phone: str
    opened_on: dt.date | None
    closed_on: dt.date | None


class BusinessPage(Schema):
    items: list[BusinessOut]
    next_cursor: str | None


class PartyOrgOut(Schema):
    id: int
    kind: str
    name: str
    parent_id: int | None
    region_code: str
    secretary: str


class PartyOrgPage(Schema):
    items: list[PartyOrgOut]
    next_cursor: str | None


class PartyMemberOut(Schema):
    id: int
    name: str
    phone: str
    kind: str
    branch_id: int
    home_community_code: str
    workplace_id: int | None


class PartyMemberPage(Schema):
    items: list[PartyMemberOut]
    next_cursor: str | None


class PartnerUnitOut(Schema):
    id: int
    name: str
    category: str
    has_party_org: bool
    region_code: str
    contact_phone: str


class PartnerUnitPage(Schema):
    items: list[PartnerUnitOut]
    next_cursor: str | None


class NewOrgOut(Schema):
    id: int
    name: str
    kind: str
    coverage: str
    region_code: str
    member_count: int
    party_member_count: int


class NewOrgPage(Schema):
    items: list[NewOrgOut]
    next_cursor: str | None


def _page(qs: Any, cursor: str | None, size: int, row: Any) -> dict[str, Any]:
    page = keyset_page(qs, cursor=cursor, size=size, size_field="size")
    return {"items": [row(x) for x in page.items], "next_cursor": page.next_cursor}


def _house(h: Any) -> dict[str, Any]:
    return {
        "id": h.pk,
        "region_code": h.region.code,
        "building": h.region.name,
        "room": h.room,
        "tenure": h.tenure,
        "grid_code": h.grid.code if h.grid_id else None,
        "area_m2": float(h.area_m2) if h.area_m2 is not None else None,
    }


@router.get("/residents", response=ResidentPage, summary="居民列表（脱敏）")
def residents(
    request: HttpRequest,
    community: int | None = None,
    grid: int | None = None,
    tag: str = "",
    party_member: bool | None = None,
    q: str = "",
    cursor: str | None = None,
    size: int = 50,
) -> dict[str, Any]:
    q = services.name_search(actor=request.user, name_prefix=q, next_page=bool(cursor))
    qs = selectors.resident_list(
        actor=request.user,
        community_id=community,
        grid_id=grid,
        tag=tag,
        party_member=party_member,
        name_prefix=q,
    )
    return _page(qs, cursor, size, selectors.resident_masked)


@router.get("/residents/{resident_id}", response=ResidentOut, summary="居民（脱敏）")
def resident(request: HttpRequest, resident_id: int) -> dict[str, Any]:
    return selectors.resident_masked(
        selectors.resident_get(actor=request.user, resident_id=resident_id)
    )


@router.get("/houses", response=HousePage, summary="房屋列表")
def houses(
    request: HttpRequest,
    grid: int | None = None,
    tenure: str = "",
    community: int | None = None,
    cursor: str | None = None,
    size: int = 50,
) -> dict[str, Any]:
    qs = selectors.house_list(
        actor=request.user, grid_id=grid, tenure=tenure, community_id=community
    )
    return _page(qs, cursor, size, _house)


@router.get("/houses/{house_id}", response=HouseDetailOut, summary="房屋及居住记录")
def house(request: HttpRequest, house_id: int) -> dict[str, Any]:
    h = selectors.house_get(actor=request.user, house_id=house_id)
    return {
        **_house(h),
        "occupancies": [selectors.occupancy_masked(o) for o in h.occupancies.all()],
    }


@router.get("/businesses", response=BusinessPage, summary="商铺企业")
def businesses(
    request: HttpRequest,
    status: str = "",
    kind: str = "",
    grid: int | None = None,
    cursor: str | None = None,
    size: int = 50,
) -> dict[str, Any]:
    qs = selectors.business_list(actor=request.user, status=status, kind=kind, grid_id=grid)
    return _page(
        qs,
        cursor,
        size,
        lambda b: {
            "id": b.pk,
            "name": b.name,
            "kind": b.kind,
            "status": b.status,
            "region_code": b.region.code,
            "grid_code": b.grid.code if b.grid_id else None,
            "contact_phone": mask_phone(b.contact_phone),
            "opened_on": b.opened_on,
            "closed_on": b.closed_on,
        },
    )


@router.get("/party-orgs", response=PartyOrgPage, summary="党组织（含上级，构成组织树）")
def party_orgs(request: HttpRequest, cursor: str | None = None, size: int = 200) -> dict[str, Any]:
    qs = selectors.party_org_options(actor=request.user)
    return _page(
        qs,
        cursor,
        size,
        lambda o: {
            "id": o.pk,
            "kind": o.kind,
            "name": o.name,
            "parent_id": o.parent_id,
            "region_code": o.region.code,
            "secretary": o.secretary,
        },
    )


@router.get("/party-members", response=PartyMemberPage, summary="党员（脱敏）")
def party_members(
    request: HttpRequest,
    kind: str = "",
    branch: int | None = None,
    cursor: str | None = None,
    size: int = 50,
) -> dict[str, Any]:
    qs = selectors.party_member_list(actor=request.user, kind=kind, branch_id=branch)
    return _page(
        qs,
        cursor,
        size,
        lambda m: {
            "id": m.pk,
            "name": mask_name(m.name),
            "phone": mask_phone(m.phone),
            "kind": m.kind,
            "branch_id": m.branch_id,
            "home_community_code": m.region.code,
            "workplace_id": m.workplace_id,
        },
    )


@router.get("/partner-units", response=PartnerUnitPage, summary="共建单位")
def partner_units(
    request: HttpRequest, cursor: str | None = None, size: int = 50
) -> dict[str, Any]:
    qs = selectors.partner_unit_list(actor=request.user)
    return _page(
        qs,
        cursor,
        size,
        lambda u: {
            "id": u.pk,
            "name": u.name,
            "category": u.category,
            "has_party_org": u.has_party_org,
            "region_code": u.region.code,
            "contact_phone": mask_phone(u.contact_phone),
        },
    )


@router.get("/new-orgs", response=NewOrgPage, summary="三新组织")
def new_orgs(
    request: HttpRequest,
    coverage: str = "",
    kind: str = "",
    cursor: str | None = None,
    size: int = 50,
) -> dict[str, Any]:
    qs = selectors.new_org_list(actor=request.user, coverage=coverage, kind=kind)
    return _page(
        qs,
        cursor,
        size,
        lambda o: {
            "id": o.pk,
            "name": o.name,
            "kind": o.kind,
            "coverage": o.coverage,
            "region_code": o.region.code,
            "member_count": o.member_count,
            "party_member_count": o.party_member_count,
        },
    )
