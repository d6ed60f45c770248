from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from gridgov.accounts import capabilities as caps
from gridgov.accounts.models import PiiAccessLog
from gridgov.core.scope import scope_queryset


def pii_log_list(*, actor: Any) -> QuerySet[PiiAccessLog]:
    """Reveals of personal data inside the actor's jurisdiction, newest first."""
    caps.require_cap(actor, caps.VIEW_PII_LOG)
    qs = PiiAccessLog.objects.select_related("actor").order_by("-at", "-pk")
    return scope_queryset(qs, actor, field="region_path")
