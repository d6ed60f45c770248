from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from gridgov.territory.models import Grid


@receiver([post_save, post_delete], sender=Grid)
def _grid_changed(**_: object) -> None:
    from gridgov.territory import geo

    geo.invalidate()
