from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from gridgov.core import workdays
from gridgov.core.models import Holiday


@receiver([post_save, post_delete], sender=Holiday)
def _holiday_changed(**_: object) -> None:
    # At once for this process, and again on commit for those that re-read in between.
    workdays.invalidate()
    transaction.on_commit(workdays.invalidate)
