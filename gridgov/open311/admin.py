from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.models import Role
from gridgov.core.admin import ConfigureOnly
from gridgov.core.scope import scope_queryset
from gridgov.open311.models import ApiKey
from gridgov.open311.services import KEY_REGION_KINDS, KEY_ROLES, apikey_create, apikey_revoke
from gridgov.territory.models import Region


class ApiKeyForm(forms.ModelForm):
    """The add form: name, region and the service user's role (api_client by default)."""

    role = forms.ChoiceField(
        label=_("角色"),
        choices=[(role, Role(role).label) for role in KEY_ROLES],
        initial=Role.API_CLIENT,
        required=False,  # left out: the default, api_client
        help_text=_("接口客户端只能提交和查看诉求; 指挥中心话务员还能立案、派遣、结案(如热线系统)"),
    )

    class Meta:
        model = ApiKey
        fields = ["name", "region"]


@admin.register(ApiKey)
class ApiKeyAdmin(ConfigureOnly, admin.ModelAdmin):
    """Keys are created through the service; the clear key is shown once, in a message."""

    form = ApiKeyForm
    list_display = ["name", "prefix", "region", "role", "created_at", "revoked_at"]
    list_filter = ["revoked_at", "user__role"]
    list_select_related = ["region", "user"]
    search_fields = ["name", "prefix"]
    fields = ["name", "region", "role"]
    readonly_fields: list[str] = []
    actions = ["revoke_keys"]

    @admin.display(description=_("角色"), ordering="user__role")
    def role(self, obj: ApiKey) -> str:
        return str(obj.user.get_role_display()) if obj.user_id else "—"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Editing a key's scope would silently widen it; revoke and create a new one instead.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A key is revoked (its service user switched off, an audit row written), never
        # deleted: the history names it.
        return False

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "region":
            kwargs["queryset"] = scope_queryset(
                Region.objects.filter(kind__in=KEY_REGION_KINDS).order_by("path"),
                request.user,
                field="path",
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        key, clear = apikey_create(
            actor=request.user,
            name=obj.name,
            region=obj.region,
            role=form.cleaned_data.get("role") or Role.API_CLIENT,
        )
        obj.pk = key.pk
        obj.digest, obj.prefix, obj.user_id = key.digest, key.prefix, key.user_id
        obj.created_at = key.created_at
        messages.warning(request, _("新密钥(只显示这一次, 请立即保存): %(key)s") % {"key": clear})

    @admin.action(description=_("吊销所选密钥"))
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            apikey_revoke(actor=request.user, key_id=key.pk)
        self.message_user(request, _("已吊销所选密钥"))
