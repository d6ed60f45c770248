"""System checks (``manage.py check`` and every command that runs the checks)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, register
from django.core.checks import Warning as CheckWarning
from django.db import DatabaseError

from gridgov.core import workdays


@register()
def holiday_table_covers_coming_year(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """gridgov.W001: the holiday table lacks a year that deadlines run into now or soon."""
    if app_configs is not None and not any(c.name == "gridgov.core" for c in app_configs):
        return []
    try:
        year = workdays.missing_holiday_year()
    except DatabaseError:
        return []  # no database or no table yet (before the first migrate): nothing to say
    if year is None:
        return []
    return [CheckWarning(workdays.missing_holiday_message(year), id="gridgov.W001")]
