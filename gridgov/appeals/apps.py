from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppealsConfig(AppConfig):
    name = "gridgov.appeals"
    verbose_name = _("诉求")

    def ready(self) -> None:
        # Connects the signals that keep the per-process caches of the intake path fresh.
        from gridgov.appeals import caches  # noqa: F401
        from gridgov.territory import geo  # noqa: F401
