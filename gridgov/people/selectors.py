"""Reads of the people registry, always scoped to the acting user's jurisdiction.

List selectors return querysets ready for keyset pagination (ordered by pk by
the pager); object look-ups answer 404 for "missing" and "outside" alike.
Personal values leave this module masked: see ``resident_masked``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Prefetch, QuerySet
from django.utils.translation import gettext as _

from gridgov.accounts import capabilities as caps
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.core.pii import mask_address, mask_id_number, mask_name, mask_phone
from gridgov.core.scope import in_scope, scope_queryset, subtree_q
from gridgov.people.models import (
    Business,
    BusinessStatus,
    House,
    NewOrg,
    Occupancy,
    PartnerUnit,
    PartyCoverage,
    PartyMember,
    PartyOrg,
    Resident,
    RoleAssignment,
    Tenure,
)
from gridgov.territory.models import Grid, Region


def _scoped(qs: QuerySet, actor: Any) -> QuerySet:
    caps.require_cap(actor, caps.VIEW_REGISTRY)
    return scope_queryset(qs, actor, field="region_path")


def _get(qs: QuerySet, actor: Any, pk: Any, what: str) -> Any:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该%(what)s") % {"what": what}) from None
    obj = _scoped(qs, actor).filter(pk=pk).first()
    if obj is None:
        raise NotFound(_("未找到该%(what)s") % {"what": what})
    return obj


def _scope_regions(actor: Any) -> QuerySet[Region]:
    caps.require_cap(actor, caps.VIEW_REGISTRY)
    return scope_queryset(Region.objects.all(), actor, field="path")


def region_get(*, actor: Any, region_id: Any) -> Region:
    """One region inside the actor's jurisdiction, else NotFound."""
    try:
        pk = int(region_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该辖区")) from None
    region = _scope_regions(actor).filter(pk=pk).first()
    if region is None:
        raise NotFound(_("未找到该辖区"))
    return region


def region_options(*, actor: Any, kinds: set[str]) -> QuerySet[Region]:
    """Regions of the given kinds in the actor's jurisdiction, for form choices."""
    return _scope_regions(actor).filter(kind__in=kinds).order_by("path")


def grid_get(*, actor: Any, grid_id: Any) -> Grid:
    return _get(Grid.objects.select_related("region"), actor, grid_id, _("网格"))


def user_get(*, actor: Any, username: str) -> Any:
    """An account whose scope lies inside the actor's jurisdiction (404 otherwise)."""
    from gridgov.accounts.models import User

    caps.require_cap(actor, caps.VIEW_REGISTRY)
    user = User.objects.select_related("scope_region").filter(username=username.strip()).first()
    if user is None or user.scope_region is None or not in_scope(actor, user.scope_region.path):
        raise NotFound(_("未找到该账号"))
    return user


def grid_options(*, actor: Any) -> QuerySet[Grid]:
    return _scoped(Grid.objects.all(), actor).order_by("code")


# ── residents ───────────────────────────────────────────────────────────────


def resident_list(
    *,
    actor: Any,
    community_id: Any = None,
    grid_id: Any = None,
    tag: str = "",
    party_member: bool | None = None,
    name_prefix: str = "",
    active: bool | None = True,
) -> QuerySet[Resident]:
    """Residents in the actor's jurisdiction, filtered; masked by the caller's presenter.

    Served by the (region_path, id), (grid, id) and name-prefix indexes; the pager
    orders by id.
    """
    qs = _scoped(Resident.objects.select_related("grid", "region"), actor)
    if community_id:
        community = region_get(actor=actor, region_id=community_id)
        qs = qs.filter(subtree_q("region_path", community.path))
    if grid_id:
        qs = qs.filter(grid_id=grid_get(actor=actor, grid_id=grid_id).pk)
    if tag:
        qs = qs.filter(tags__contains=tag.strip())
    if party_member is not None:
        qs = qs.filter(is_party_member=party_member)
    if name_prefix:
        qs = qs.filter(name__startswith=name_prefix.strip())
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def resident_get(*, actor: Any, resident_id: Any) -> Resident:
    """One resident (with occupancies), 404 if missing or outside the jurisdiction."""
    qs = Resident.objects.select_related("grid", "region").prefetch_related(
        Prefetch(
            "occupancies",
            queryset=Occupancy.objects.select_related("house__region").order_by(
                "-started_on", "-pk"
            ),
        )
    )
    return _get(qs, actor, resident_id, _("居民"))


def resident_by_id_number(*, actor: Any, id_number: str) -> Resident | None:
    """The resident with this ID number in the actor's jurisdiction (one indexed look-up),
    or None; a record still in the register comes before one that has left."""
    value = (id_number or "").strip().upper()
    if not value:
        return None
    return (
        _scoped(Resident.objects.select_related("region"), actor)
        .filter(id_number=value)
        .order_by("-is_active", "-pk")
        .first()
    )


def resident_masked(resident: Resident) -> dict[str, Any]:
    """The resident as every list, export and API shows it by default."""
    return {
        "id": resident.pk,
        "name": mask_name(resident.name),
        "gender": resident.get_gender_display() if resident.gender else "",
        "phone": mask_phone(resident.phone),
        "id_number": mask_id_number(resident.id_number),
        "birth_year": resident.birth_date.year if resident.birth_date else None,
        "region": resident.region.name,
        "region_code": resident.region.code,
        "grid": resident.grid.name if resident.grid_id else "",
        "grid_code": resident.grid.code if resident.grid_id else "",
        "is_party_member": resident.is_party_member,
        "is_active": resident.is_active,
        "tags": resident.tags,
    }


# ── houses ──────────────────────────────────────────────────────────────────


def house_list(
    *, actor: Any, grid_id: Any = None, tenure: str = "", community_id: Any = None
) -> QuerySet[House]:
    """Houses in the actor's jurisdiction, filtered by grid, tenure or community."""
    qs = _scoped(House.objects.select_related("region", "grid"), actor)
    if community_id:
        community = region_get(actor=actor, region_id=community_id)
        qs = qs.filter(subtree_q("region_path", community.path))
    if grid_id:
        qs = qs.filter(grid_id=grid_get(actor=actor, grid_id=grid_id).pk)
    if tenure:
        if tenure not in Tenure.values:
            raise ValidationFailed(_("居住类型无效"), field="tenure")
        qs = qs.filter(tenure=tenure)
    return qs


def house_find(*, actor: Any, region: Region, room: str) -> House:
    """The house with ``room`` in ``region`` (the region is already in scope), else a
    ValidationFailed naming the room."""
    house = (
        _scoped(House.objects.select_related("region", "grid"), actor)
        .filter(region=region, room=room.strip())
        .first()
    )
    if house is None:
        raise ValidationFailed(_("该辖区没有此房号，请先登记房屋"), field="room")
    return house


def house_get(*, actor: Any, house_id: Any) -> House:
    """One house with its occupancy history (current first, then newest), else 404."""
    qs = House.objects.select_related("region", "grid").prefetch_related(
        Prefetch(
            "occupancies",
            queryset=Occupancy.objects.select_related("resident").order_by(
                F("ended_on").desc(nulls_first=True), "-started_on", "-pk"
            ),
        )
    )
    return _get(qs, actor, house_id, _("房屋"))


def occupancy_masked(occ: Occupancy) -> dict[str, Any]:
    return {
        "id": occ.pk,
        "resident_id": occ.resident_id,
        "name": mask_name(occ.resident.name),
        "phone": mask_phone(occ.resident.phone),
        "role": occ.get_role_display(),
        "role_code": occ.role,
        "started_on": occ.started_on,
        "ended_on": occ.ended_on,
        "current": occ.ended_on is None,
    }


def house_address_masked(house: House) -> str:
    return mask_address(house.address)


# ── businesses ──────────────────────────────────────────────────────────────


def business_list(
    *, actor: Any, status: str = "", kind: str = "", grid_id: Any = None
) -> QuerySet[Business]:
    """Shops and enterprises in the jurisdiction; ``status`` open/closed."""
    qs = _scoped(Business.objects.select_related("region", "grid"), actor)
    if status:
        if status not in BusinessStatus.values:
            raise ValidationFailed(_("状态无效"), field="status")
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if grid_id:
        qs = qs.filter(grid_id=grid_get(actor=actor, grid_id=grid_id).pk)
    return qs


def business_get(*, actor: Any, business_id: Any) -> Business:
    return _get(
        Business.objects.select_related("region", "grid"), actor, business_id, _("商铺企业")
    )


# ── party tree and members ──────────────────────────────────────────────────


@dataclass
class PartyNode:
    org: PartyOrg
    children: list[PartyNode] = field(default_factory=list)


def party_org_tree(*, actor: Any) -> list[PartyNode]:
    """The party organisations in the jurisdiction as a forest (roots first by kind, name).

    An organisation whose parent lies outside the jurisdiction becomes a root.
    """
    orgs = list(
        _scoped(PartyOrg.objects.select_related("region"), actor).order_by(
            "region_path", "name", "pk"
        )[:5000]
    )
    nodes = {o.pk: PartyNode(o) for o in orgs}
    roots: list[PartyNode] = []
    for org in orgs:
        parent = nodes.get(org.parent_id) if org.parent_id else None
        (parent.children if parent else roots).append(nodes[org.pk])
    return roots


def party_org_options(*, actor: Any) -> QuerySet[PartyOrg]:
    return _scoped(PartyOrg.objects.select_related("region"), actor).order_by("region_path", "name")


def party_org_get(*, actor: Any, org_id: Any) -> PartyOrg:
    return _get(PartyOrg.objects.select_related("region", "parent"), actor, org_id, _("党组织"))


def party_member_list(
    *, actor: Any, kind: str = "", branch_id: Any = None
) -> QuerySet[PartyMember]:
    """Party members whose home community lies in the jurisdiction."""
    qs = _scoped(PartyMember.objects.select_related("branch", "region", "workplace"), actor)
    if kind:
        qs = qs.filter(kind=kind)
    if branch_id:
        qs = qs.filter(branch_id=party_org_get(actor=actor, org_id=branch_id).pk)
    return qs


def role_list(
    *, actor: Any, kind: str = "", grid_id: Any = None, current: bool = True
) -> QuerySet[RoleAssignment]:
    """Role assignments (网格员, 五长, 五老, 两代表一委员 …); current ones by default."""
    qs = _scoped(RoleAssignment.objects.select_related("grid", "region", "user"), actor)
    if kind:
        qs = qs.filter(kind=kind)
    if grid_id:
        qs = qs.filter(grid_id=grid_get(actor=actor, grid_id=grid_id).pk)
    if current:
        qs = qs.filter(ended_on=None)
    return qs


def partner_unit_list(*, actor: Any, has_party_org: bool | None = None) -> QuerySet[PartnerUnit]:
    qs = _scoped(PartnerUnit.objects.select_related("region"), actor)
    if has_party_org is not None:
        qs = qs.filter(has_party_org=has_party_org)
    return qs


def new_org_list(*, actor: Any, coverage: str = "", kind: str = "") -> QuerySet[NewOrg]:
    """三新 organisations; ``coverage`` filters by coverage, "covered" means any but none."""
    qs = _scoped(NewOrg.objects.select_related("region"), actor)
    if coverage == "covered":
        qs = qs.exclude(coverage=PartyCoverage.NONE)
    elif coverage:
        if coverage not in PartyCoverage.values:
            raise ValidationFailed(_("党建覆盖状态无效"), field="coverage")
        qs = qs.filter(coverage=coverage)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def new_org_get(*, actor: Any, new_org_id: Any) -> NewOrg:
    return _get(NewOrg.objects.select_related("region"), actor, new_org_id, _("三新组织"))


def role_get(*, actor: Any, role_id: Any) -> RoleAssignment:
    return _get(RoleAssignment.objects.select_related("grid", "region"), actor, role_id, _("任职"))


# ── counts for the territory pages ──────────────────────────────────────────


def grid_counts(*, grid: Grid) -> dict[str, int]:
    """Residents (active), houses and open shops/enterprises of one grid.

    The caller has already checked the grid is in the user's jurisdiction.
    """
    return {
        "residents": Resident.objects.filter(grid=grid, is_active=True).count(),
        "houses": House.objects.filter(grid=grid).count(),
        "open_businesses": Business.objects.filter(grid=grid, status=BusinessStatus.OPEN).count(),
    }
