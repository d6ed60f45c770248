from __future__ import annotations

import os

from celery import shared_task


@shared_task(name="gridgov.core.ping")
def ping(value: str) -> dict[str, object]:
    """Echo ``value`` with the worker's process id: proves a task ran in a worker."""
    return {"value": value, "pid": os.getpid()}
