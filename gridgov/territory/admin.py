"""Back office: territory rows, each list scoped to the user's jurisdiction.

Structural fields (a region's code and parent, a grid's code, level and place in the
tree) are fixed once created: materialised paths and grid codes of whole subtrees hang
on them. New grids go through ``services.grid_create`` so the same rules apply here as
in the pages and the API.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from gridgov.core.admin import ScopedAdmin
from gridgov.core.errors import DomainError
from gridgov.territory import services
from gridgov.territory.models import (
    ALLOWED_CHILDREN,
    Department,
    Facility,
    Grid,
    PropertyManager,
    Region,
    RegionKind,
)


class RegionAdminForm(forms.ModelForm):
    class Meta:
        model = Region
        fields = (
            "code",
            "name",
            "kind",
            "parent",
            "latitude",
            "longitude",
            "boundary",
            "property_manager",
            "has_owners_committee",
            "supervising_unit",
            "population",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind, parent = data.get("kind"), data.get("parent")
        if self.instance.pk is None and kind:
            if parent is None and kind != RegionKind.DISTRICT:
                self.add_error("parent", "只有区/县可以没有上级")
            elif parent is not None and kind not in ALLOWED_CHILDREN.get(parent.kind, set()):
                self.add_error(
                    "kind", f"{RegionKind(kind).label}不能直接隶属于{RegionKind(parent.kind).label}"
                )
        return data


@admin.register(Region)
class RegionAdmin(ScopedAdmin):
    form = RegionAdminForm
    scope_field = "path"
    list_display = ("name", "code", "kind", "parent", "property_manager")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    raw_id_fields = ("parent", "district", "property_manager")
    readonly_fields = ("path", "depth")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fixed = ("code", "kind", "parent", "district") if obj is not None else ("district",)
        return (*self.readonly_fields, *fixed)


class GridAdminForm(forms.ModelForm):
    class Meta:
        model = Grid
        fields = ("name", "region", "parent", "polygon", "owner")

    def clean_polygon(self) -> Any:
        polygon = self.cleaned_data.get("polygon")
        if polygon:
            try:
                services.validate_polygon(polygon)
            except DomainError as exc:
                raise forms.ValidationError(str(exc.message)) from exc
        return polygon

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        region, parent = data.get("region"), data.get("parent")
        if self.instance.pk is None and region is not None:
            if region.kind != RegionKind.COMMUNITY:
                self.add_error("region", "网格只能建在社区之下")
            if parent is not None and parent.region_id != region.pk:
                self.add_error("parent", "上级网格须属于同一社区")
        return data


@admin.register(Grid)
class GridAdmin(ScopedAdmin):
    form = GridAdminForm
    scope_field = "region_path"
    list_display = ("code", "name", "level", "region", "owner")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("region", "parent", "owner")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("code", "level", "region", "parent") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Grid, form: Any, change: bool) -> None:
        if change:
            services.grid_update(actor=request.user, grid=obj, name=obj.name, polygon=obj.polygon)
            if "owner" in form.changed_data:
                services.grid_assign_owner(actor=request.user, grid=obj, owner=obj.owner)
            return
        grid = services.grid_create(
            actor=request.user,
            community=obj.region,
            name=obj.name,
            polygon=obj.polygon or None,
            parent=obj.parent,
        )
        if obj.owner is not None:
            services.grid_assign_owner(actor=request.user, grid=grid, owner=obj.owner)
        obj.pk, obj.code, obj.level = grid.pk, grid.code, grid.level


@admin.register(Facility)
class FacilityAdmin(ScopedAdmin):
    scope_field = "region__path"
    list_display = ("name", "kind", "region", "opening_hours")
    list_filter = ("kind",)
    search_fields = ("name", "address")
    raw_id_fields = ("region",)
    exclude = ("district",)


@admin.register(Department)
class DepartmentAdmin(ScopedAdmin):
    scope_field = "region__path"
    list_display = ("name", "code", "region", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    raw_id_fields = ("region",)
    exclude = ("district",)


@admin.register(PropertyManager)
class PropertyManagerAdmin(ScopedAdmin):
    scope_field = "district__path"
    list_display = ("name", "is_red", "contact_phone")
    list_filter = ("is_red",)
    search_fields = ("name",)
    raw_id_fields = ("district",)
