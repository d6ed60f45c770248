"""Celery tasks: outbox delivery (after commit) and the periodic appeals tick."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="appeals.deliver_outbox", ignore_result=True)
def deliver_outbox(ids: list[int]) -> int:
    """Send the given outbox messages now; failures stay queued for the tick to retry."""
    from gridgov.appeals.notify import deliver

    return sum(1 for pk in ids if deliver(pk))


@shared_task(name="appeals.tick", ignore_result=True)
def appeals_tick() -> dict[str, int]:
    """Overdue marks, deadline reminders, late whistles, outbox retries (every 5 minutes)."""
    from gridgov.appeals.services import appeals_tick as tick

    return tick()
