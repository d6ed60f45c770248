from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from gridgov.open311.models import ApiKey
from gridgov.open311.services import apikey_create, apikey_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created through the service; the clear key is shown once, in a message."""

    list_display = ["name", "prefix", "region", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    fields = ["name", "region"]
    readonly_fields: list[str] = []
    actions = ["revoke_keys"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Editing a key's scope would silently widen it; revoke and create a new one instead.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        key, clear = apikey_create(actor=request.user, name=obj.name, region=obj.region)
        obj.pk = key.pk
        obj.digest, obj.prefix, obj.user_id = key.digest, key.prefix, key.user_id
        obj.created_at = key.created_at
        messages.warning(request, _("新密钥(只显示这一次, 请立即保存): %(key)s") % {"key": clear})

    @admin.action(description=_("吊销所选密钥"))
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            apikey_revoke(actor=request.user, key_id=key.pk)
        self.message_user(request, _("已吊销所选密钥"))
