from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TerritoryConfig(AppConfig):
    name = "gridgov.territory"
    verbose_name = _("辖区与网格")

    def ready(self) -> None:
        from gridgov.territory import signals  # noqa: F401
