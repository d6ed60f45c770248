"""Admin helpers: every back-office list is scoped to the user's jurisdiction."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gridgov.core.scope import scope_queryset


class ScopedAdmin(admin.ModelAdmin):
    """ModelAdmin whose queryset is filtered to the user's subtree.

    ``scope_field`` names the materialised-path field (through relations if needed).
    """

    scope_field = "region_path"
    list_per_page = 50
    show_full_result_count = False  # no COUNT(*) over millions of rows

    def get_queryset(self, request: HttpRequest) -> Any:
        return scope_queryset(super().get_queryset(request), request.user, field=self.scope_field)
