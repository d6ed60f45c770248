"""Every write to the people registry (人、房、事、物、企, the party tree, roles, units).

Each service takes the acting user, checks the capability and the jurisdiction
(a target outside the actor's subtree answers 404, as if it did not exist), runs
in one transaction, and writes an audit row. Audit data names the fields that
changed, never the clear personal values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts import capabilities as caps
from gridgov.accounts.models import Role, User
from gridgov.accounts.services import search_logged
from gridgov.core.audit import audit
from gridgov.core.errors import Conflict, NotFound, ValidationFailed
from gridgov.core.pii import mask_name
from gridgov.core.scope import in_scope
from gridgov.people.models import (
    PARTY_CHILDREN,
    Business,
    BusinessKind,
    BusinessStatus,
    Gender,
    House,
    MemberKind,
    NewOrg,
    NewOrgKind,
    Occupancy,
    OccupancyRole,
    PartnerUnit,
    PartyCoverage,
    PartyMember,
    PartyOrg,
    PartyOrgKind,
    Resident,
    RoleAssignment,
    RoleKind,
    Tenure,
)
from gridgov.people.validators import (
    birth_date_from_id,
    gender_from_id,
    id_number_error,
    past_date_error,
    phone_error,
)
from gridgov.territory.models import Grid, Region, RegionKind

# Which territory kinds each party organisation may be attached to (R2).
PARTY_REGION_KINDS: dict[str, set[str]] = {
    PartyOrgKind.WORKING_COMMITTEE: {RegionKind.STREET, RegionKind.TOWNSHIP},
    PartyOrgKind.GRAND_COMMITTEE: {RegionKind.COMMUNITY},
    PartyOrgKind.BRANCH: {RegionKind.COMMUNITY, RegionKind.COMPOUND},
    PartyOrgKind.GROUP: {RegionKind.COMPOUND, RegionKind.BUILDING, RegionKind.UNIT},
    PartyOrgKind.HOUSEHOLD: {RegionKind.COMPOUND, RegionKind.BUILDING, RegionKind.UNIT},
}

# Business status transitions: one place says what may follow what.
BUSINESS_TRANSITIONS: dict[str, set[str]] = {
    BusinessStatus.OPEN: {BusinessStatus.CLOSED},
    BusinessStatus.CLOSED: set(),
}

# Roles that belong to one grid (the others may hang on a region).
GRID_ROLES = {RoleKind.GRID_WORKER, RoleKind.GRID_HEAD, RoleKind.REPRESENTATIVE}


@dataclass(frozen=True)
class PersonInput:
    """A new occupant typed into the change-tenant form."""

    name: str
    phone: str = ""
    id_number: str = ""
    gender: str = ""


# ── guards ──────────────────────────────────────────────────────────────────


def _can_edit(actor: Any, path: str) -> None:
    caps.require_cap(actor, caps.EDIT_REGISTRY)
    if not in_scope(actor, path):
        raise NotFound(_("未找到该记录"))


def _clean_text(
    value: str, *, field: str, label: str, required: bool = False, max_length: int = 128
) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(_("请填写%(label)s") % {"label": label}, field=field)
    if len(value) > max_length:
        raise ValidationFailed(
            _("%(label)s过长（最多%(n)s个字）") % {"label": label, "n": max_length}, field=field
        )
    return value


def _clean_phone(value: str, field: str = "phone") -> str:
    value = (value or "").strip().replace(" ", "")
    if value and (err := phone_error(value)):
        raise ValidationFailed(err, field=field)
    return value


def _clean_id_number(value: str, *, resident: Resident | None = None) -> str:
    """A valid ID number that no other resident holds (one person, one record: a form sent
    twice, or a person registered again, is refused as the ledger import refuses it)."""
    value = (value or "").strip().upper()
    if value and (err := id_number_error(value)):
        raise ValidationFailed(err, field="id_number")
    others = Resident.objects.filter(id_number=value)
    if resident is not None:
        others = others.exclude(pk=resident.pk)
    if value and others.exists():
        raise ValidationFailed(_("系统中已有此身份证号的居民"), field="id_number")
    return value


def _choice(value: str, choices: Any, *, field: str, label: str) -> str:
    if value not in choices.values:
        raise ValidationFailed(_("%(label)s无效") % {"label": label}, field=field)
    return value


def _grid_for(region: Region, grid: Grid | None) -> Grid | None:
    """The given grid (checked to cover ``region``) or the community's only level-1 grid."""
    if grid is not None:
        if not region.path.startswith(grid.region_path):
            raise ValidationFailed(_("网格不属于该辖区所在社区"), field="grid")
        return grid
    candidates = [
        g
        for g in Grid.objects.filter(region_path__in=_ancestor_paths(region.path)).order_by(
            "-level", "code"
        )[:2]
    ]
    return candidates[0] if len(candidates) == 1 else None


def _ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


# ── residents ───────────────────────────────────────────────────────────────


@transaction.atomic
def resident_create(
    *,
    actor: Any,
    name: str,
    region: Region | None = None,
    house: House | None = None,
    grid: Grid | None = None,
    gender: str = "",
    birth_date: dt.date | None = None,
    id_number: str = "",
    phone: str = "",
    is_party_member: bool = False,
    tags: str = "",
    occupancy_role: str | None = None,
    moved_in_on: dt.date | None = None,
) -> Resident:
    """Register a resident (人).

    ``region`` defaults to the house's region; the grid to the house's grid (or
    the community's only grid). With a house, an Occupancy row starts.
    Errors: ValidationFailed naming the field; NotFound outside the jurisdiction.
    """
    if region is None and house is None:
        raise ValidationFailed(_("请选择所属辖区或房屋"), field="region")
    region = region or house.region  # type: ignore[union-attr]
    _can_edit(actor, region.path)
    if (
        house is not None
        and not house.region_path.startswith(region.path)
        and not region.path.startswith(house.region_path)
    ):
        raise ValidationFailed(_("房屋不在所选辖区内"), field="house")
    name = _clean_text(name, field="name", label=_("姓名"), required=True, max_length=64)
    id_number = _clean_id_number(id_number)
    phone = _clean_phone(phone)
    if gender:
        _choice(gender, Gender, field="gender", label=_("性别"))
    elif id_number:
        gender = gender_from_id(id_number)
    if birth_date is None and id_number:
        birth_date = birth_date_from_id(id_number)
    if grid is None and house is not None and house.grid_id:
        grid = house.grid
    grid = _grid_for(region, grid)
    resident = Resident(
        region=region,
        grid=grid,
        name=name,
        gender=gender,
        birth_date=birth_date,
        id_number=id_number,
        phone=phone,
        is_party_member=is_party_member,
        tags=_clean_tags(tags),
    )
    resident.save()
    if house is not None:
        role = occupancy_role or (
            OccupancyRole.TENANT if house.tenure == Tenure.RENTED else OccupancyRole.OWNER
        )
        _choice(role, OccupancyRole, field="occupancy_role", label=_("居住关系"))
        Occupancy.objects.create(
            house=house,
            resident=resident,
            role=role,
            started_on=moved_in_on or timezone.localdate(),
        )
    audit(
        actor=actor,
        action="people.resident_create",
        target=resident,
        region_path=resident.region_path,
        data={"grid": grid.code if grid else None, "house": house.pk if house else None},
    )
    return resident


def _clean_tags(tags: str) -> str:
    parts = [t.strip() for t in (tags or "").replace("，", ",").split(",")]
    return ",".join(t for t in parts if t)[:255]


_UNSET: Any = object()


@transaction.atomic
def resident_update(
    *,
    actor: Any,
    resident: Resident,
    name: str = _UNSET,
    phone: str = _UNSET,
    id_number: str = _UNSET,
    gender: str = _UNSET,
    tags: str = _UNSET,
    grid: Grid | None = _UNSET,
    is_party_member: bool = _UNSET,
    is_active: bool = _UNSET,
) -> Resident:
    """Change a resident's fields (only those passed). Audit names the changed fields."""
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    _can_edit(actor, resident.region_path)
    changed: list[str] = []

    def put(field: str, value: Any) -> None:
        if getattr(resident, field) != value:
            setattr(resident, field, value)
            changed.append(field)

    if name is not _UNSET:
        put("name", _clean_text(name, field="name", label=_("姓名"), required=True, max_length=64))
    if phone is not _UNSET:
        put("phone", _clean_phone(phone))
    if id_number is not _UNSET:
        put("id_number", _clean_id_number(id_number, resident=resident))
    if gender is not _UNSET:
        put("gender", _choice(gender, Gender, field="gender", label=_("性别")) if gender else "")
    if tags is not _UNSET:
        put("tags", _clean_tags(tags))
    if grid is not _UNSET:
        put("grid", _grid_for(resident.region, grid) if grid is not None else None)
    if is_party_member is not _UNSET:
        put("is_party_member", bool(is_party_member))
    if is_active is not _UNSET:
        put("is_active", bool(is_active))
    if changed:
        resident.save(update_fields=[*changed, "updated_at"])
        audit(
            actor=actor,
            action="people.resident_update",
            target=resident,
            region_path=resident.region_path,
            data={"fields": changed},
        )
    return resident


# ── houses and occupancy ────────────────────────────────────────────────────


@transaction.atomic
def house_create(
    *,
    actor: Any,
    region: Region,
    room: str,
    address: str = "",
    tenure: str = Tenure.OWNER_OCCUPIED,
    area_m2: Decimal | None = None,
    grid: Grid | None = None,
) -> House:
    """Register a house (房) in a building, unit or compound; the grid is derived when omitted."""
    _can_edit(actor, region.path)
    if region.kind not in {
        RegionKind.COMPOUND,
        RegionKind.BUILDING,
        RegionKind.UNIT,
        RegionKind.COMMUNITY,
    }:
        raise ValidationFailed(_("房屋应属于社区、小区、楼栋或单元"), field="region")
    room = _clean_text(room, field="room", label=_("房号"), required=True, max_length=32)
    _choice(tenure, Tenure, field="tenure", label=_("居住类型"))
    if House.objects.filter(region=region, room=room).exists():
        raise ValidationFailed(_("该楼栋已有此房号"), field="room")
    if area_m2 is not None and area_m2 <= 0:
        raise ValidationFailed(_("面积应大于0"), field="area_m2")
    house = House(
        region=region,
        room=room,
        tenure=tenure,
        area_m2=area_m2,
        address=_clean_text(address, field="address", label=_("地址"), max_length=255)
        or f"{region.name}{room}",
        grid=_grid_for(region, grid),
    )
    house.save()
    audit(
        actor=actor,
        action="people.house_create",
        target=house,
        region_path=house.region_path,
        data={"room": room, "tenure": tenure},
    )
    return house


@transaction.atomic
def occupancy_change(
    *,
    actor: Any,
    house: House,
    moved_on: dt.date | None = None,
    leaving: Sequence[int] | None = None,
    arriving: Sequence[Resident | PersonInput] = (),
    role: str = OccupancyRole.TENANT,
    tenure: str | None = None,
) -> House:
    """Change who lives in a house: a rented flat changes tenants.

    ``leaving`` lists resident ids whose current occupancy ends on ``moved_on``
    (None: every current tenant). ``arriving`` residents (existing ones, or new
    people to register) start an occupancy with ``role``. Nothing is deleted: old
    rows keep their dates. The house's tenure follows (rented while tenants live
    there, vacant when nobody does) unless ``tenure`` says otherwise.
    """
    house = (
        House.objects.select_for_update(of=("self",))
        .select_related("region", "grid")
        .get(pk=house.pk)
    )
    _can_edit(actor, house.region_path)
    moved_on = moved_on or timezone.localdate()
    _choice(role, OccupancyRole, field="role", label=_("居住关系"))
    if tenure is not None:
        _choice(tenure, Tenure, field="tenure", label=_("居住类型"))
    current = list(Occupancy.objects.select_for_update().filter(house=house, ended_on=None))
    if leaving is None:
        ending = [o for o in current if o.role == OccupancyRole.TENANT]
    else:
        wanted = set(leaving)
        ending = [o for o in current if o.resident_id in wanted]
        if len({o.resident_id for o in ending}) != len(wanted):
            raise ValidationFailed(_("所选迁出人员不是该房屋的现住人员"), field="leaving")
    for occ in ending:
        if moved_on < occ.started_on:
            raise ValidationFailed(_("迁出日期早于入住日期"), field="moved_on")
    if not ending and not arriving:
        raise ValidationFailed(_("请填写新住户或选择迁出人员"), field="arriving")
    for occ in ending:
        occ.ended_on = moved_on
        occ.save(update_fields=["ended_on"])
    arrived: list[Resident] = []
    for person in arriving:
        if isinstance(person, PersonInput):
            person = resident_create(
                actor=actor,
                house=None,
                region=house.region,
                grid=house.grid,
                name=person.name,
                phone=person.phone,
                id_number=person.id_number,
                gender=person.gender,
            )
        elif not in_scope(actor, person.region_path):
            raise NotFound(_("未找到该居民"))
        Occupancy.objects.create(house=house, resident=person, role=role, started_on=moved_on)
        arrived.append(person)
    still = Occupancy.objects.filter(house=house, ended_on=None)
    if tenure is None:
        if still.filter(role=OccupancyRole.TENANT).exists():
            tenure = Tenure.RENTED
        elif still.exists():
            tenure = Tenure.OWNER_OCCUPIED if house.tenure == Tenure.VACANT else house.tenure
        else:
            tenure = Tenure.VACANT
    old_tenure = house.tenure
    if tenure != house.tenure:
        house.tenure = tenure
        house.save(update_fields=["tenure", "updated_at"])
    audit(
        actor=actor,
        action="people.occupancy_change",
        target=house,
        region_path=house.region_path,
        data={
            "ended": [o.resident_id for o in ending],
            "started": [r.pk for r in arrived],
            "role": role,
            "on": moved_on.isoformat(),
            "tenure": [old_tenure, tenure],
        },
    )
    return house


# ── businesses ──────────────────────────────────────────────────────────────


@transaction.atomic
def business_open(
    *,
    actor: Any,
    region: Region,
    name: str,
    kind: str = BusinessKind.SHOP,
    grid: Grid | None = None,
    address: str = "",
    credit_code: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    opened_on: dt.date | None = None,
) -> Business:
    """Record a shop or enterprise that opened (企)."""
    _can_edit(actor, region.path)
    _choice(kind, BusinessKind, field="kind", label=_("类型"))
    if opened_on is not None and (error := past_date_error(opened_on, _("开业日期"))):
        raise ValidationFailed(error, field="opened_on")
    business = Business(
        region=region,
        grid=_grid_for(region, grid),
        kind=kind,
        name=_clean_text(name, field="name", label=_("名称"), required=True),
        address=_clean_text(address, field="address", label=_("地址"), max_length=255),
        credit_code=_clean_text(
            credit_code, field="credit_code", label=_("统一社会信用代码"), max_length=32
        ).upper(),
        contact_name=_clean_text(
            contact_name, field="contact_name", label=_("联系人"), max_length=64
        ),
        contact_phone=_clean_phone(contact_phone, "contact_phone"),
        status=BusinessStatus.OPEN,
        opened_on=opened_on or timezone.localdate(),
    )
    business.save()
    audit(
        actor=actor,
        action="people.business_open",
        target=business,
        region_path=business.region_path,
        data={"name": business.name, "kind": kind},
    )
    return business


@transaction.atomic
def business_close(
    *, actor: Any, business: Business, closed_on: dt.date | None = None, note: str = ""
) -> Business:
    """Close a business: the record stays, with status closed and its closing date."""
    business = Business.objects.select_for_update().get(pk=business.pk)
    _can_edit(actor, business.region_path)
    if BusinessStatus.CLOSED not in BUSINESS_TRANSITIONS[business.status]:
        raise Conflict(_("该商铺已关闭"), field="status")
    closed_on = closed_on or timezone.localdate()
    if error := past_date_error(closed_on, _("关闭日期")):
        raise ValidationFailed(error, field="closed_on")
    if business.opened_on and closed_on < business.opened_on:
        raise ValidationFailed(_("关闭日期早于开业日期"), field="closed_on")
    old = business.status
    business.status = BusinessStatus.CLOSED
    business.closed_on = closed_on
    business.save(update_fields=["status", "closed_on", "updated_at"])
    audit(
        actor=actor,
        action="people.business_close",
        target=business,
        region_path=business.region_path,
        data={"from": old, "to": business.status, "on": closed_on.isoformat(), "note": note[:255]},
    )
    return business


# ── party organisations and members ─────────────────────────────────────────


@transaction.atomic
def party_org_create(
    *,
    actor: Any,
    kind: str,
    name: str,
    region: Region,
    parent: PartyOrg | None = None,
    secretary: str = "",
    household: House | None = None,
    code: str = "",
) -> PartyOrg:
    """Add a party organisation to the tree (党工委 → 大党委 → 党支部 → 党小组 → 党员中心户).

    The kind must be allowed under the parent's kind (PARTY_CHILDREN), the
    territory must lie inside the parent's territory and suit the kind.
    """
    _can_edit(actor, region.path)
    _choice(kind, PartyOrgKind, field="kind", label=_("组织类型"))
    name = _clean_text(name, field="name", label=_("名称"), required=True)
    if parent is None:
        if kind != PartyOrgKind.WORKING_COMMITTEE:
            raise ValidationFailed(_("只有街道党工委可以没有上级组织"), field="parent")
    else:
        if not in_scope(actor, parent.region_path):
            raise NotFound(_("未找到上级组织"))
        if kind not in PARTY_CHILDREN[parent.kind]:
            raise ValidationFailed(
                _("%(parent)s下不能设立%(kind)s")
                % {"parent": parent.get_kind_display(), "kind": PartyOrgKind(kind).label},
                field="kind",
            )
        if not region.path.startswith(parent.region_path):
            raise ValidationFailed(_("所属辖区须在上级组织的辖区之内"), field="region")
    if region.kind not in PARTY_REGION_KINDS[kind]:
        raise ValidationFailed(
            _("%(kind)s不能挂在“%(level)s”一级")
            % {"kind": PartyOrgKind(kind).label, "level": region.get_kind_display()},
            field="region",
        )
    if household is not None and not household.region_path.startswith(region.path):
        raise ValidationFailed(_("中心户房屋不在所属辖区内"), field="household")
    code = _clean_text(code, field="code", label=_("组织编码"), max_length=40)
    if code and PartyOrg.objects.filter(code=code).exists():
        raise ValidationFailed(_("组织编码已被使用"), field="code")
    org = PartyOrg(
        kind=kind,
        code=code,
        name=name,
        region=region,
        parent=parent,
        household=household,
        secretary=_clean_text(secretary, field="secretary", label=_("书记"), max_length=64),
    )
    org.save()
    audit(
        actor=actor,
        action="people.party_org_create",
        target=org,
        region_path=org.region_path,
        data={"kind": kind, "parent": parent.pk if parent else None},
    )
    return org


@transaction.atomic
def party_member_create(
    *,
    actor: Any,
    name: str,
    kind: str,
    branch: PartyOrg,
    home_community: Region,
    phone: str = "",
    resident: Resident | None = None,
    workplace: PartnerUnit | None = None,
    joined_on: dt.date | None = None,
) -> PartyMember:
    """Register a party member with their branch and home community (region)."""
    _can_edit(actor, home_community.path)
    _choice(kind, MemberKind, field="kind", label=_("党员类型"))
    if home_community.kind != RegionKind.COMMUNITY:
        raise ValidationFailed(_("居住社区须为社区一级"), field="home_community")
    if not in_scope(actor, branch.region_path):
        raise NotFound(_("未找到该党组织"))
    if branch.kind in {PartyOrgKind.WORKING_COMMITTEE, PartyOrgKind.HOUSEHOLD}:
        raise ValidationFailed(_("党员应编入党支部、大党委或党小组"), field="branch")
    if kind == MemberKind.IN_SERVICE and workplace is None:
        raise ValidationFailed(_("在职党员须填写工作单位"), field="workplace")
    if resident is not None:
        if not in_scope(actor, resident.region_path):
            raise NotFound(_("未找到该居民"))
        if PartyMember.objects.filter(resident=resident).exists():
            raise Conflict(_("该居民已登记为党员"), field="resident")
    if joined_on and joined_on > timezone.localdate():
        raise ValidationFailed(_("入党日期不能晚于今天"), field="joined_on")
    member = PartyMember(
        name=_clean_text(name, field="name", label=_("姓名"), required=True, max_length=64),
        phone=_clean_phone(phone),
        kind=kind,
        branch=branch,
        region=home_community,
        resident=resident,
        workplace=workplace,
        joined_on=joined_on,
    )
    member.save()
    if resident is not None and not resident.is_party_member:
        resident.is_party_member = True
        resident.save(update_fields=["is_party_member", "updated_at"])
    audit(
        actor=actor,
        action="people.party_member_create",
        target=member,
        region_path=member.region_path,
        data={"kind": kind, "branch": branch.pk},
    )
    return member


# ── roles ───────────────────────────────────────────────────────────────────


def _representative_account(*, grid: Grid, person_name: str, phone: str) -> User:
    """An account for a 两代表一委员 on their grid.

    Decision: role ``resident`` (no registry or PII capabilities; they take part as
    residents do) scoped to the grid's community, with an unusable password until
    an administrator or the password-reset flow sets one.
    """
    base = f"rep-{grid.code}".lower()
    username = f"{base}-{secrets.token_hex(3)}"
    while User.objects.filter(username=username).exists():  # pragma: no cover - 16M space
        username = f"{base}-{secrets.token_hex(3)}"
    user = User(
        username=username,
        display_name=person_name,
        phone=phone,
        role=Role.RESIDENT,
        scope_region=grid.region,
    )
    user.set_unusable_password()
    user.save()
    return user


@transaction.atomic
def role_assign(
    *,
    actor: Any,
    kind: str,
    person_name: str,
    grid: Grid | None = None,
    region: Region | None = None,
    phone: str = "",
    resident: Resident | None = None,
    user: User | None = None,
    detail: str = "",
    started_on: dt.date | None = None,
) -> RoleAssignment:
    """Appoint a person to a role on a grid or region.

    Grid workers, grid heads and representatives need a grid. A grid worker with
    an account becomes the grid's owner when it has none. A representative
    without an account gets one (see ``_representative_account``).
    """
    _choice(kind, RoleKind, field="kind", label=_("角色"))
    if grid is None and region is None:
        raise ValidationFailed(_("请选择网格或辖区"), field="grid")
    if kind in GRID_ROLES and grid is None:
        raise ValidationFailed(
            _("%(role)s须指定网格") % {"role": RoleKind(kind).label}, field="grid"
        )
    if grid is not None:
        grid = Grid.objects.select_for_update(of=("self",)).select_related("region").get(pk=grid.pk)
        if region is not None and not region.path.startswith(grid.region_path):
            raise ValidationFailed(_("辖区不在网格所属社区内"), field="region")
        region = region or grid.region
    assert region is not None
    _can_edit(actor, region.path)
    person_name = _clean_text(
        person_name, field="person_name", label=_("姓名"), required=True, max_length=64
    )
    phone = _clean_phone(phone)
    if resident is not None and not in_scope(actor, resident.region_path):
        raise NotFound(_("未找到该居民"))
    if user is not None and user.scope_region_id and not in_scope(actor, user.scope_region.path):
        raise NotFound(_("未找到该账号"))
    if kind == RoleKind.REPRESENTATIVE and user is None:
        user = _representative_account(grid=grid, person_name=person_name, phone=phone)  # type: ignore[arg-type]
    assignment = RoleAssignment(
        kind=kind,
        grid=grid,
        region=region,
        person_name=person_name,
        phone=phone,
        resident=resident,
        user=user,
        detail=_clean_text(detail, field="detail", label=_("说明")),
        started_on=started_on or timezone.localdate(),
    )
    assignment.save()
    if (
        kind == RoleKind.GRID_WORKER
        and user is not None
        and grid is not None
        and grid.owner_id is None
    ):
        grid.owner = user
        grid.save(update_fields=["owner"])
    audit(
        actor=actor,
        action="people.role_assign",
        target=assignment,
        region_path=assignment.region_path,
        data={"kind": kind, "grid": grid.code if grid else None, "user": user.pk if user else None},
    )
    return assignment


@transaction.atomic
def role_end(
    *, actor: Any, assignment: RoleAssignment, ended_on: dt.date | None = None
) -> RoleAssignment:
    """End a role (the row stays with its end date). A grid worker leaving frees the grid;
    a representative's account is deactivated when they hold no other role."""
    assignment = RoleAssignment.objects.select_for_update().get(pk=assignment.pk)
    _can_edit(actor, assignment.region_path)
    if assignment.ended_on is not None:
        raise Conflict(_("该任职已结束"), field="ended_on")
    ended_on = ended_on or timezone.localdate()
    if ended_on < assignment.started_on:
        raise ValidationFailed(_("卸任日期早于任职日期"), field="ended_on")
    assignment.ended_on = ended_on
    assignment.save(update_fields=["ended_on", "updated_at"])
    if assignment.kind == RoleKind.GRID_WORKER and assignment.grid_id and assignment.user_id:
        Grid.objects.filter(pk=assignment.grid_id, owner_id=assignment.user_id).update(owner=None)
    if assignment.kind == RoleKind.REPRESENTATIVE and assignment.user_id:
        others = RoleAssignment.objects.filter(user_id=assignment.user_id, ended_on=None)
        if not others.exists():
            User.objects.filter(pk=assignment.user_id, role=Role.RESIDENT).update(is_active=False)
    audit(
        actor=actor,
        action="people.role_end",
        target=assignment,
        region_path=assignment.region_path,
        data={"on": ended_on.isoformat()},
    )
    return assignment


# ── partner units and 三新 organisations ────────────────────────────────────


@transaction.atomic
def partner_unit_create(
    *,
    actor: Any,
    region: Region,
    name: str,
    category: str = "",
    has_party_org: bool = True,
    contact_name: str = "",
    contact_phone: str = "",
    address: str = "",
) -> PartnerUnit:
    """Register a partner unit (共建单位) with a community or street."""
    _can_edit(actor, region.path)
    unit = PartnerUnit(
        region=region,
        name=_clean_text(name, field="name", label=_("名称"), required=True),
        category=_clean_text(category, field="category", label=_("单位类别"), max_length=64),
        has_party_org=bool(has_party_org),
        contact_name=_clean_text(
            contact_name, field="contact_name", label=_("联系人"), max_length=64
        ),
        contact_phone=_clean_phone(contact_phone, "contact_phone"),
        address=_clean_text(address, field="address", label=_("地址"), max_length=255),
    )
    unit.save()
    audit(
        actor=actor,
        action="people.partner_unit_create",
        target=unit,
        region_path=unit.region_path,
        data={"name": unit.name},
    )
    return unit


def _clean_counts(member_count: int, party_member_count: int) -> None:
    if member_count < 0:
        raise ValidationFailed(_("从业人员数不能为负"), field="member_count")
    if party_member_count < 0:
        raise ValidationFailed(_("党员数不能为负"), field="party_member_count")
    if party_member_count > member_count:
        raise ValidationFailed(_("党员数不能多于从业人员数"), field="party_member_count")


@transaction.atomic
def new_org_create(
    *,
    actor: Any,
    region: Region,
    name: str,
    kind: str,
    coverage: str = PartyCoverage.NONE,
    member_count: int = 0,
    party_member_count: int = 0,
) -> NewOrg:
    """Register a "三新" organisation with its party coverage."""
    _can_edit(actor, region.path)
    _choice(kind, NewOrgKind, field="kind", label=_("类型"))
    _choice(coverage, PartyCoverage, field="coverage", label=_("党建覆盖"))
    _clean_counts(member_count, party_member_count)
    org = NewOrg(
        region=region,
        name=_clean_text(name, field="name", label=_("名称"), required=True),
        kind=kind,
        coverage=coverage,
        member_count=member_count,
        party_member_count=party_member_count,
    )
    org.save()
    audit(
        actor=actor,
        action="people.new_org_create",
        target=org,
        region_path=org.region_path,
        data={"kind": kind, "coverage": coverage},
    )
    return org


@transaction.atomic
def new_org_set_coverage(
    *, actor: Any, new_org: NewOrg, coverage: str, party_member_count: int | None = None
) -> NewOrg:
    """Change how a "三新" organisation is covered by party work."""
    new_org = NewOrg.objects.select_for_update().get(pk=new_org.pk)
    _can_edit(actor, new_org.region_path)
    _choice(coverage, PartyCoverage, field="coverage", label=_("党建覆盖"))
    count = new_org.party_member_count if party_member_count is None else party_member_count
    _clean_counts(new_org.member_count, count)
    if coverage == PartyCoverage.OWN_ORG and count < 3:
        raise ValidationFailed(_("单独建立党组织须有3名以上党员"), field="coverage")
    old = new_org.coverage
    new_org.coverage = coverage
    new_org.party_member_count = count
    new_org.save(update_fields=["coverage", "party_member_count", "updated_at"])
    audit(
        actor=actor,
        action="people.new_org_set_coverage",
        target=new_org,
        region_path=new_org.region_path,
        data={"from": old, "to": coverage},
    )
    return new_org


def name_search(*, actor: Any, name_prefix: str, next_page: bool = False) -> str:
    """Allow one search of residents by name (the list page's and the API's ``q``) and
    return the prefix to look up.

    Lists show a name's first character only; a longer prefix found or not tells whether
    someone of that name lives here (a name guessed and confirmed). So a search of two
    characters or more counts: at most ``GRIDGOV_NAME_SEARCHES_PER_HOUR`` per person
    (TooManyRequests), each a row in the personal-data access log (the name masked). A
    further page of the results (``next_page``: the request carries a cursor) is not
    counted again when this person searched this prefix within the hour; any other cursor
    (one made up to skip the count) counts as a search."""
    prefix = (name_prefix or "").strip()
    if len(prefix) < 2:
        return prefix
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:32]
    searched = f"people:name-search:{getattr(actor, 'pk', None)}:{digest}"
    if next_page and cache.get(searched):
        return prefix
    search_logged(
        actor=actor,
        subject_type="people.name_search",
        label=mask_name(prefix),
        fields="name",
        reason="按姓名查询居民",  # a log row is data: the system's language
        per_hour=settings.GRIDGOV_NAME_SEARCHES_PER_HOUR,
    )
    cache.set(searched, True, 3600)
    return prefix
