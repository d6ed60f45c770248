"""Back office: territory rows, each list scoped to the user's jurisdiction."""

from __future__ import annotations

from django.contrib import admin

from gridgov.core.admin import ScopedAdmin
from gridgov.territory.models import Department, Facility, Grid, PropertyManager, Region


@admin.register(Region)
class RegionAdmin(ScopedAdmin):
    scope_field = "path"
    list_display = ("name", "code", "kind", "parent", "property_manager")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    raw_id_fields = ("parent", "district", "property_manager")
    readonly_fields = ("path", "depth")


@admin.register(Grid)
class GridAdmin(ScopedAdmin):
    scope_field = "region_path"
    list_display = ("code", "name", "level", "region", "owner")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("region", "parent", "district", "owner")
    readonly_fields = ("region_path",)


@admin.register(Facility)
class FacilityAdmin(ScopedAdmin):
    scope_field = "region__path"
    list_display = ("name", "kind", "region", "opening_hours")
    list_filter = ("kind",)
    search_fields = ("name", "address")
    raw_id_fields = ("region", "district")


@admin.register(Department)
class DepartmentAdmin(ScopedAdmin):
    scope_field = "region__path"
    list_display = ("name", "code", "region", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    raw_id_fields = ("region", "district")


@admin.register(PropertyManager)
class PropertyManagerAdmin(ScopedAdmin):
    scope_field = "district__path"
    list_display = ("name", "is_red", "contact_phone")
    list_filter = ("is_red",)
    search_fields = ("name",)
    raw_id_fields = ("district",)
