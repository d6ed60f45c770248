"""Admin helpers: every back-office list is scoped to the user's jurisdiction."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.capabilities import CONFIGURE, has_cap
from gridgov.core import workdays
from gridgov.core.models import Holiday
from gridgov.core.scope import scope_queryset


class ConfigureOnly:
    """Only users with the CONFIGURE capability may change these rows."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return has_cap(request.user, CONFIGURE)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_cap(request.user, CONFIGURE)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_cap(request.user, CONFIGURE)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_cap(request.user, CONFIGURE)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_cap(request.user, CONFIGURE)


class ScopedAdmin(admin.ModelAdmin):
    """ModelAdmin whose queryset is filtered to the user's subtree.

    ``scope_field`` names the materialised-path field (through relations if needed).
    """

    scope_field = "region_path"
    list_per_page = 50
    show_full_result_count = False  # no COUNT(*) over millions of rows

    def get_queryset(self, request: HttpRequest) -> Any:
        return scope_queryset(super().get_queryset(request), request.user, field=self.scope_field)


@admin.register(Holiday)
class HolidayAdmin(ConfigureOnly, admin.ModelAdmin):
    """The holiday table (seeded from chinese-calendar): years it does not know yet, or a
    local change, are entered here; deadlines use the change at once."""

    list_display = ("date", "weekday", "name", "is_working_day")
    list_filter = ("is_working_day",)
    date_hierarchy = "date"
    search_fields = ("name",)
    ordering = ("-date",)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # On GET only: after a bulk action's POST the redirected GET says it once.
        year = workdays.missing_holiday_year() if request.method == "GET" else None
        if year is not None:
            self.message_user(request, workdays.missing_holiday_message(year), messages.WARNING)
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("星期"))
    def weekday(self, obj: Holiday) -> str:
        return date_format(obj.date, "l")
