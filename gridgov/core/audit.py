from __future__ import annotations

from typing import Any

from gridgov.core.models import AuditLog


def audit(**entry: Any) -> AuditLog:
    """Write one audit row for ``target`` (arguments: ``audit_entry``)."""
    row = audit_entry(**entry)
    row.save()
    return row


def audit_entry(
    *,
    actor: Any,
    action: str,
    target: Any,
    region_path: str = "",
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """The unsaved audit row for ``target`` (``target_id`` empty while ``target`` is)."""
    actor_id = (
        getattr(actor, "pk", None)
        if actor is not None and getattr(actor, "is_authenticated", False)
        else None
    )
    return AuditLog(
        actor_id=actor_id,
        action=action,
        target_type=target._meta.label_lower,
        target_id="" if target.pk is None else str(target.pk),
        region_path=region_path,
        data=data or {},
    )
