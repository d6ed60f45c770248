from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "gridgov.core"
    verbose_name = _("基础")

    def ready(self) -> None:
        from gridgov.core import checks, signals  # noqa: F401
