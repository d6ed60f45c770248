"""Back office: categories and time limits editable by district admins (CONFIGURE);
appeals read-mostly (every change goes through the services); all lists scoped."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.capabilities import APPEAL_VIEW, has_cap
from gridgov.appeals.models import (
    Appeal,
    AppealEvent,
    Category,
    OutboxMessage,
    RateSettings,
    TimeLimit,
)
from gridgov.core.admin import ConfigureOnly, ScopedAdmin
from gridgov.core.pii import mask_name, mask_phone, mask_text


class LabelledInlineFormSet(BaseInlineFormSet):
    """A duplicate row is named by the fields' labels (紧急程度), not their code names."""

    def get_unique_error_message(self, unique_check: Any) -> str:
        labels = [str(self.model._meta.get_field(name).verbose_name) for name in unique_check]
        return super().get_unique_error_message(labels)


class TimeLimitInline(ConfigureOnly, admin.TabularInline):
    model = TimeLimit
    formset = LabelledInlineFormSet
    extra = 0


@admin.register(Category)
class CategoryAdmin(ConfigureOnly, ScopedAdmin):
    scope_field = "district__path"
    list_display = ("code", "name", "parent", "default_priority", "is_active", "is_public", "order")
    list_filter = ("is_active", "is_public", "default_priority")
    search_fields = ("code", "name")
    inlines = [TimeLimitInline]


@admin.register(TimeLimit)
class TimeLimitAdmin(ConfigureOnly, ScopedAdmin):
    scope_field = "category__district__path"
    list_display = ("category", "priority", "amount", "unit")
    list_filter = ("priority", "unit")


@admin.register(RateSettings)
class RateSettingsAdmin(ConfigureOnly, ScopedAdmin):
    scope_field = "district__path"
    list_display = (
        "district",
        "basic_value",
        "response_hours",
        "weight_response",
        "weight_resolution",
        "weight_satisfaction",
        "whistle_report_hours",
    )


class EventInline(admin.TabularInline):
    model = AppealEvent
    extra = 0
    can_delete = False
    fields = ("at", "action", "from_status", "to_status", "actor", "masked_note")
    readonly_fields = fields

    @admin.display(description=AppealEvent._meta.get_field("note").verbose_name)
    def masked_note(self, obj: AppealEvent) -> str:
        return mask_text(obj.note)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_cap(request.user, APPEAL_VIEW)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Appeal)
class AppealAdmin(ScopedAdmin):
    """Read-only: the loop is driven by the services (pages, API), never by admin edits."""

    list_display = (
        "tracking_code",
        "category",
        "status",
        "priority",
        "channel",
        "region",
        "deadline",
        "created_at",
    )
    list_filter = ("status", "priority", "channel")
    search_fields = ("tracking_code",)
    list_select_related = ("category", "category__parent", "region")
    inlines = [EventInline]
    hidden_fields = ("reporter_name", "reporter_phone", "idempotency_key", "description_tokens")
    exclude = (*hidden_fields, "description", "result", "rating_comment")
    readonly_fields = ("masked_reporter",)
    # Free text in which a resident may have typed a phone or ID-card number.
    masked_text_fields = {
        "description": "masked_description",
        "result": "masked_result",
        "rating_comment": "masked_rating_comment",
    }

    @admin.display(description=_("反映人（已脱敏）"))
    def masked_reporter(self, obj: Appeal) -> str:
        return f"{mask_name(obj.reporter_name)} {mask_phone(obj.reporter_phone)}".strip()

    @admin.display(description=Appeal._meta.get_field("description").verbose_name)
    def masked_description(self, obj: Appeal) -> str:
        return mask_text(obj.description)

    @admin.display(description=Appeal._meta.get_field("result").verbose_name)
    def masked_result(self, obj: Appeal) -> str:
        return mask_text(obj.result)

    @admin.display(description=Appeal._meta.get_field("rating_comment").verbose_name)
    def masked_rating_comment(self, obj: Appeal) -> str:
        return mask_text(obj.rating_comment)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        names = [
            self.masked_text_fields.get(f.name, f.name)
            for f in self.model._meta.fields
            if f.name not in self.hidden_fields
        ]
        return [*names, "masked_reporter"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_cap(request.user, APPEAL_VIEW)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_cap(request.user, APPEAL_VIEW)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxAdmin(admin.ModelAdmin):
    list_display = ("channel", "created_at", "attempts", "sent_at", "next_attempt_at", "last_error")
    list_filter = ("channel",)
    exclude = ("recipient", "payload")
    show_full_result_count = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
