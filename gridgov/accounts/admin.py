from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.models import ApiToken, PiiAccessLog, User
from gridgov.core.admin import ScopedAdmin
from gridgov.core.scope import scope_queryset

admin.site.site_header = _("网格化治理平台 后台管理")
admin.site.site_title = _("gridgov 后台")
admin.site.index_title = _("后台管理")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "role", "scope_region", "department", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("username", "display_name")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (
            _("网格化治理"),
            {"fields": ("display_name", "phone", "role", "scope_region", "department")},
        ),
    )
    raw_id_fields = ("scope_region", "department")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        qs = super().get_queryset(request).select_related("scope_region", "department")
        if request.user.is_superuser:
            return qs
        return scope_queryset(qs, request.user, field="scope_region__path")


@admin.register(PiiAccessLog)
class PiiAccessLogAdmin(ScopedAdmin):
    list_display = ("at", "actor", "subject_type", "subject_id", "fields", "reason")
    list_filter = ("subject_type",)
    readonly_fields = [f.name for f in PiiAccessLog._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "revoked_at")
    readonly_fields = ("prefix", "created_at")
