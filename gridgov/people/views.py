"""Pages of the people registry. Thin: parse, call one selector or service, render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import capabilities as caps
from gridgov.accounts.services import pii_reveal
from gridgov.core.errors import NotFound, ValidationFailed, form_error
from gridgov.core.once import once
from gridgov.core.pagination import keyset_page
from gridgov.core.pii import mask_name, mask_phone
from gridgov.people import selectors, services
from gridgov.people.forms import (
    BusinessCloseForm,
    BusinessOpenForm,
    ChangeTenantForm,
    CoverageForm,
    HouseCreateForm,
    PartyOrgForm,
    ResidentCreateForm,
    ResidentUpdateForm,
    RevealForm,
    RoleAssignForm,
)
from gridgov.people.models import (
    BusinessKind,
    BusinessStatus,
    MemberKind,
    NewOrgKind,
    PartyCoverage,
    RoleKind,
    Tenure,
)
from gridgov.territory.models import RegionKind

PAGE_SIZE = 30


def _page(request: HttpRequest, qs: Any, size: int = PAGE_SIZE) -> tuple[Any, str]:
    """One keyset page and the query string of the filters (without the cursor)."""
    page = keyset_page(qs, cursor=request.GET.get("cursor") or None, size=size)
    query = urlencode({k: v for k, v in request.GET.items() if k != "cursor" and v})
    return page, query


def _named(field: str, lookup: Callable[..., Any], **kwargs: Any) -> Any:
    """``lookup(**kwargs)``, its "not found" an error of the form's ``field``: the form comes
    back with what was typed and the field marked, not an error page."""
    try:
        return lookup(**kwargs)
    except NotFound as exc:
        raise ValidationFailed(exc.message, field=field) from None


def _form_error(form: Any, exc: ValidationFailed) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))


def _status(request: HttpRequest, form: Any) -> int:
    """400 when a posted form comes back with its errors, as the appeals pages answer."""
    return 400 if request.method == "POST" and form.errors else 200


def _bool_param(value: str | None) -> bool | None:
    return {"1": True, "0": False}.get(value or "")


# ── residents ───────────────────────────────────────────────────────────────


def _place_options(actor: Any, *, with_community: bool) -> Any:
    kinds = {RegionKind.COMPOUND, RegionKind.BUILDING, RegionKind.UNIT}
    if with_community:
        kinds.add(RegionKind.COMMUNITY)
    return selectors.region_options(actor=actor, kinds=kinds)[:2000]


@login_required
def residents(request: HttpRequest) -> HttpResponse:
    g = request.GET
    form = ResidentCreateForm(
        request.POST or None, regions=_place_options(request.user, with_community=True)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def make() -> str:
            region = selectors.region_get(actor=request.user, region_id=data["region"])
            house = (
                selectors.house_find(actor=request.user, region=region, room=data["room"])
                if data["room"].strip()
                else None
            )
            resident = services.resident_create(
                actor=request.user,
                name=data["name"],
                region=region,
                house=house,
                gender=data["gender"],
                id_number=data["id_number"],
                phone=data["phone"],
                tags=data["tags"],
                is_party_member=data["is_party_member"],
                occupancy_role=data["occupancy_role"] or None,
            )
            messages.success(request, _("已登记居民"))
            return reverse("people:resident", kwargs={"pk": resident.pk})

        try:
            return redirect(once(request, make))
        except ValidationFailed as exc:
            _form_error(form, exc)
    name = services.name_search(
        actor=request.user, name_prefix=g.get("q", ""), next_page=bool(g.get("cursor"))
    )
    qs = selectors.resident_list(
        actor=request.user,
        community_id=g.get("community"),
        grid_id=g.get("grid"),
        tag=g.get("tag", ""),
        party_member=_bool_param(g.get("party")),
        name_prefix=name,
    )
    page, query = _page(request, qs)
    return render(
        request,
        "people/residents.html",
        {
            "page": page,
            "query": query,
            "rows": [selectors.resident_masked(r) for r in page.items],
            "communities": selectors.region_options(
                actor=request.user, kinds={RegionKind.COMMUNITY}
            ),
            "grids": selectors.grid_options(actor=request.user)[:500],
            "f": g,
            "form": form,
            "can_edit": caps.has_cap(request.user, caps.EDIT_REGISTRY),
        },
        status=_status(request, form),
    )


@login_required
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    resident = selectors.resident_get(actor=request.user, resident_id=pk)
    form = RevealForm(request.POST or None)
    revealed: dict[str, str] | None = None
    if request.method == "POST" and form.is_valid():
        try:
            revealed = pii_reveal(
                actor=request.user,
                subject=resident,
                fields=list(resident.PII_FIELDS),
                reason=form.cleaned_data["reason"],
                region_path=resident.region_path,
            )
        except ValidationFailed as exc:
            _form_error(form, exc)
    return render(
        request,
        "people/resident_detail.html",
        {
            "resident": resident,
            "row": selectors.resident_masked(resident),
            "form": form,
            "revealed": revealed,
            "can_reveal": caps.has_cap(request.user, caps.REVEAL_PII),
            "can_edit": caps.has_cap(request.user, caps.EDIT_REGISTRY),
            "update_form": ResidentUpdateForm(
                initial={
                    "tags": resident.tags,
                    "is_party_member": resident.is_party_member,
                    "is_active": resident.is_active,
                }
            ),
            "occupancies": list(resident.occupancies.all()),
            "appeals": _appeals_of(request.user, resident),
        },
        status=_status(request, form),
    )


def _appeals_of(user: Any, resident: Any) -> list[Any]:
    """The resident's appeals (诉求记录) the user may open; none without appeal access."""
    from gridgov.accounts.capabilities import APPEAL_VIEW, has_cap
    from gridgov.appeals.selectors import appeals_of_resident

    return appeals_of_resident(actor=user, resident=resident) if has_cap(user, APPEAL_VIEW) else []


@login_required
@require_POST
def resident_update(request: HttpRequest, pk: int) -> HttpResponse:
    resident = selectors.resident_get(actor=request.user, resident_id=pk)
    form = ResidentUpdateForm(request.POST)
    if not form.is_valid():
        raise form_error(form)
    data = form.cleaned_data
    changes: dict[str, Any] = {
        "tags": data["tags"],
        "is_party_member": data["is_party_member"],
        "is_active": data["is_active"],
    }
    if data["phone"].strip():
        changes["phone"] = data["phone"]
    services.resident_update(actor=request.user, resident=resident, **changes)
    messages.success(request, _("居民信息已更新"))
    return redirect("people:resident", pk=resident.pk)


# ── houses ──────────────────────────────────────────────────────────────────


@login_required
def houses(request: HttpRequest) -> HttpResponse:
    g = request.GET
    form = HouseCreateForm(
        request.POST or None, regions=_place_options(request.user, with_community=False)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def make() -> str:
            region = selectors.region_get(actor=request.user, region_id=data["region"])
            house = services.house_create(
                actor=request.user,
                region=region,
                room=data["room"],
                tenure=data["tenure"],
                area_m2=data["area_m2"],
                address=data["address"],
            )
            messages.success(request, _("已登记房屋"))
            return reverse("people:house", kwargs={"pk": house.pk})

        try:
            return redirect(once(request, make))
        except ValidationFailed as exc:
            _form_error(form, exc)
    qs = selectors.house_list(
        actor=request.user,
        grid_id=g.get("grid"),
        tenure=g.get("tenure", ""),
        community_id=g.get("community"),
    )
    page, query = _page(request, qs)
    return render(
        request,
        "people/houses.html",
        {
            "page": page,
            "query": query,
            "f": g,
            "tenures": Tenure.choices,
            "grids": selectors.grid_options(actor=request.user)[:500],
            "form": form,
            "can_edit": caps.has_cap(request.user, caps.EDIT_REGISTRY),
        },
        status=_status(request, form),
    )


@login_required
def house_detail(request: HttpRequest, pk: int) -> HttpResponse:
    house = selectors.house_get(actor=request.user, house_id=pk)
    history = [selectors.occupancy_masked(o) for o in house.occupancies.all()]
    current = [o for o in history if o["current"]]
    form = ChangeTenantForm(
        request.POST or None,
        occupants=current,
        initial={"leaving": [str(o["resident_id"]) for o in current if o["role_code"] == "tenant"]},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        arriving = []
        if data["name"].strip():
            arriving.append(
                services.PersonInput(
                    name=data["name"],
                    phone=data["phone"],
                    id_number=data["id_number"],
                    gender=data["gender"],
                )
            )

        def make() -> str:
            services.occupancy_change(
                actor=request.user,
                house=house,
                moved_on=data["moved_on"],
                leaving=[int(x) for x in data["leaving"]],
                arriving=arriving,
                tenure=data["tenure"] or None,
            )
            messages.success(request, _("住户变更已保存，原居住记录已保留。"))
            return reverse("people:house", kwargs={"pk": house.pk})

        try:
            return redirect(once(request, make))
        except ValidationFailed as exc:
            _form_error(form, exc)
    return render(
        request,
        "people/house_detail.html",
        {
            "house": house,
            "history": history,
            "form": form,
            "can_edit": caps.has_cap(request.user, caps.EDIT_REGISTRY),
        },
        status=_status(request, form),
    )


# ── businesses ──────────────────────────────────────────────────────────────


def _business_open_form(request: HttpRequest, data: Any = None) -> BusinessOpenForm:
    regions = selectors.region_options(
        actor=request.user, kinds={RegionKind.COMMUNITY, RegionKind.COMPOUND, RegionKind.BUILDING}
    )[:500]
    return BusinessOpenForm(
        data, regions=regions, grids=selectors.grid_options(actor=request.user)[:500]
    )


@login_required
def businesses(request: HttpRequest) -> HttpResponse:
    g = request.GET
    form = _business_open_form(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def make() -> str:
            region = selectors.region_get(actor=request.user, region_id=data["region"])
            grid = (
                selectors.grid_get(actor=request.user, grid_id=data["grid"])
                if data["grid"]
                else None
            )
            services.business_open(
                actor=request.user,
                region=region,
                grid=grid,
                name=data["name"],
                kind=data["kind"],
                address=data["address"],
                contact_name=data["contact_name"],
                contact_phone=data["contact_phone"],
                opened_on=data["opened_on"],
            )
            messages.success(request, _("已登记新开商铺：%(name)s") % {"name": data["name"]})
            return reverse("people:businesses")

        try:
            return redirect(once(request, make))
        except ValidationFailed as exc:
            _form_error(form, exc)
    qs = selectors.business_list(
        actor=request.user,
        status=g.get("status", ""),
        kind=g.get("kind", ""),
        grid_id=g.get("grid"),
    )
    page, query = _page(request, qs)
    return render(
        request,
        "people/businesses.html",
        {
            "page": page,
            "query": query,
            "f": g,
            "form": form,
            "statuses": BusinessStatus.choices,
            "kinds": BusinessKind.choices,
            "close_form": BusinessCloseForm(),
            "can_edit": caps.has_cap(request.user, caps.EDIT_REGISTRY),
            "rows": [{"b": b, "phone": mask_phone(b.contact_phone)} for b in page.items],
            "open_form": request.method == "POST",
        },
        status=_status(request, form),
    )


@login_required
@require_POST
def business_close(request: HttpRequest, pk: int) -> HttpResponse:
    business = selectors.business_get(actor=request.user, business_id=pk)
    form = BusinessCloseForm(request.POST)
    if not form.is_valid():
        raise form_error(form)
    services.business_close(
        actor=request.user,
        business=business,
        closed_on=form.cleaned_data["closed_on"],
        note=form.cleaned_data["note"],
    )
    messages.success(request, _("%(name)s 已标记为关闭，记录保留。") % {"name": business.name})
    return redirect("people:businesses")


# ── party tree, members, roles ──────────────────────────────────────────────


def _territory_tree(actor: Any) -> list[dict[str, Any]]:
    """The territory down to compounds, nested, for showing beside the party tree."""
    regions = list(
        selectors.region_options(
            actor=actor,
            kinds={
                RegionKind.DISTRICT,
                RegionKind.STREET,
                RegionKind.TOWNSHIP,
                RegionKind.COMMUNITY,
                RegionKind.COMPOUND,
                RegionKind.BUILDING,
            },
        )[:3000]
    )
    nodes = {r.pk: {"region": r, "children": []} for r in regions}
    roots: list[dict[str, Any]] = []
    for r in regions:
        parent = nodes.get(r.parent_id) if r.parent_id else None
        (parent["children"] if parent else roots).append(nodes[r.pk])
    return roots


@login_required
def party_tree(request: HttpRequest) -> HttpResponse:
    orgs = selectors.party_org_options(actor=request.user)[:2000]
    regions = selectors.region_options(
        actor=request.user,
        kinds={
            RegionKind.STREET,
            RegionKind.TOWNSHIP,
            RegionKind.COMMUNITY,
            RegionKind.COMPOUND,
            RegionKind.BUILDING,
            RegionKind.UNIT,
        },
    )[:3000]
    form = PartyOrgForm(request.POST or None, orgs=orgs, regions=regions)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def make() -> str:
            region = selectors.region_get(actor=request.user, region_id=data["region"])
            parent = (
                selectors.party_org_get(actor=request.user, org_id=data["parent"])
                if data["parent"]
                else None
            )
            services.party_org_create(
                actor=request.user,
                kind=data["kind"],
                name=data["name"],
                region=region,
                parent=parent,
                secretary=data["secretary"],
            )
            messages.success(request, _("已添加党组织：%(name)s") % {"name": data["name"]})
            return reverse("people:party_tree")

        try:
            return redirect(once(request, make))
        except ValidationFailed as exc:
            _form_error(form, exc)
    return render(
        request,
        "people/party_tree.html",
        {
            "tree": selectors.party_org_tree(actor=request.user),
            "territory": _territory_tree(request.user),
            "form": form,
            "can_edit": caps.has_cap(request.user, caps.EDIT_REGISTRY),
        },
        status=_status(request, form),
    )


@login_required
def party_members(request: HttpRequest) -> HttpResponse:
    g = request.GET
    qs = selectors.party_member_list(
        actor=request.user, kind=g.get("kind", ""), branch_id=g.get("branch")
    )
    page, query = _page(request, qs)
    rows = [{"m": m, "name": mask_name(m.name), "phone": mask_phone(m.phone)} for m in page.items]
    return render(
        request,
        "people/party_members.html",
        {
            "page": page,
            "query": query,
            "f": g,
            "rows": rows,
            "kinds": MemberKind.choices,
        },
    )


@login_required
def roles(request: HttpRequest) -> HttpResponse:
    g = request.GET
    form = RoleAssignForm(
        request.POST or None,
        grids=selectors.grid_options(actor=request.user)[:2000],
        regions=selectors.region_options(
            actor=request.user,
            kinds={
                RegionKind.STREET,
                RegionKind.COMMUNITY,
                RegionKind.COMPOUND,
                RegionKind.BUILDING,
            },
        )[:2000],
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def make() -> str:
            grid = region = user = None
            if data["grid"]:
                grid = _named("grid", selectors.grid_get, actor=request.user, grid_id=data["grid"])
            if data["region"]:
                region = _named(
                    "region", selectors.region_get, actor=request.user, region_id=data["region"]
                )
            if data["username"]:
                user = _named(
                    "username", selectors.user_get, actor=request.user, username=data["username"]
                )
            role = services.role_assign(
                actor=request.user,
                kind=data["kind"],
                grid=grid,
                region=region,
                person_name=data["person_name"],
                phone=data["phone"],
                user=user,
                detail=data["detail"],
            )
            note = _("已任命：%(kind)s %(name)s") % {
                "kind": role.get_kind_display(),
                "name": role.person_name,
            }
            if role.user_id and user is None:
                note += _("（已开通账号 %(username)s，需管理员设置密码后使用）") % {
                    "username": role.user.username
                }
            messages.success(request, note)
            return reverse("people:roles")

        try:
            return redirect(once(request, make))
        except ValidationFailed as exc:
            _form_error(form, exc)
    qs = selectors.role_list(
        actor=request.user,
        kind=g.get("kind", ""),
        grid_id=g.get("grid"),
        current=g.get("all") != "1",
    )
    page, query = _page(request, qs)
    rows = [{"r": r, "phone": mask_phone(r.phone)} for r in page.items]
    return render(
        request,
        "people/roles.html",
        {
            "page": page,
            "query": query,
            "f": g,
            "rows": rows,
            "kinds": RoleKind.choices,
            "form": form,
            "can_edit": caps.has_cap(request.user, caps.EDIT_REGISTRY),
        },
        status=_status(request, form),
    )


@login_required
@require_POST
def role_end(request: HttpRequest, pk: int) -> HttpResponse:
    role = selectors.role_get(actor=request.user, role_id=pk)
    services.role_end(actor=request.user, assignment=role)
    messages.success(request, _("%(name)s 已卸任，记录保留。") % {"name": role.person_name})
    return redirect("people:roles")


@login_required
def partner_units(request: HttpRequest) -> HttpResponse:
    qs = selectors.partner_unit_list(
        actor=request.user, has_party_org=_bool_param(request.GET.get("party"))
    )
    page, query = _page(request, qs)
    rows = [{"u": u, "phone": mask_phone(u.contact_phone)} for u in page.items]
    return render(
        request,
        "people/partner_units.html",
        {"page": page, "query": query, "f": request.GET, "rows": rows},
    )


@login_required
def new_orgs(request: HttpRequest) -> HttpResponse:
    g = request.GET
    qs = selectors.new_org_list(
        actor=request.user, coverage=g.get("coverage", ""), kind=g.get("kind", "")
    )
    page, query = _page(request, qs)
    return render(
        request,
        "people/new_orgs.html",
        {
            "page": page,
            "query": query,
            "f": g,
            "coverages": PartyCoverage.choices,
            "kinds": NewOrgKind.choices,
            "can_edit": caps.has_cap(request.user, caps.EDIT_REGISTRY),
        },
    )


@login_required
@require_POST
def new_org_coverage(request: HttpRequest, pk: int) -> HttpResponse:
    org = selectors.new_org_get(actor=request.user, new_org_id=pk)
    form = CoverageForm(request.POST)
    if not form.is_valid():
        raise form_error(form)
    services.new_org_set_coverage(
        actor=request.user,
        new_org=org,
        coverage=form.cleaned_data["coverage"],
        party_member_count=form.cleaned_data["party_member_count"],
    )
    messages.success(request, _("已更新 %(name)s 的党建覆盖情况") % {"name": org.name})
    return redirect("people:new_orgs")
