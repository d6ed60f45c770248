from __future__ import annotations

from typing import Any

from gridgov.core.models import AuditLog


def audit(
    *,
    actor: Any,
    action: str,
    target: Any,
    region_path: str = "",
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """Write one audit row for ``target`` (a model instance)."""
    actor_id = (
        getattr(actor, "pk", None)
        if actor is not None and getattr(actor, "is_authenticated", False)
        else None
    )
    return AuditLog.objects.create(
        actor_id=actor_id,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        region_path=region_path,
        data=data or {},
    )
