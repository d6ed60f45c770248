from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from gridgov.accounts import capabilities as caps
from gridgov.accounts.models import PiiAccessLog
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.core.ratelimit import TooManyRequests, count_in_window
from gridgov.core.scope import in_scope


def pii_reveal(
    *, actor: Any, subject: Any, fields: list[str], reason: str, region_path: str
) -> dict[str, str]:
    """Return the clear values of ``fields`` of ``subject`` and log the reveal. A field that
    is no attribute of ``subject`` (a text elsewhere on the page, such as its history notes,
    named for the log) is logged and returned as "".

    Requires the ``reveal_pii`` capability and the subject inside the actor's
    jurisdiction (else 404, as if it did not exist). ``reason`` is required.
    """
    caps.require_cap(actor, caps.REVEAL_PII)
    if not in_scope(actor, region_path):
        raise NotFound(_("未找到该记录"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写查看事由"), field="reason")
    with transaction.atomic():
        PiiAccessLog.objects.create(
            actor=actor,
            subject_type=subject._meta.label_lower,
            subject_id=str(subject.pk),
            subject_label=str(subject)[:1] + "*",
            fields=",".join(fields),
            reason=reason[:255],
            region_path=region_path,
        )
    return {f: str(getattr(subject, f, None) or "") for f in fields}


def search_logged(
    *, actor: Any, subject_type: str, label: str, fields: str, reason: str, per_hour: int
) -> None:
    """Count one search that may confirm a resident's masked data (a phone number, a name)
    against ``per_hour`` for ``actor`` (TooManyRequests past it), and write it to the
    personal-data access log: ``subject_type`` names the search, ``label`` what was sought,
    already masked."""
    retry_after = count_in_window(f"{subject_type}:{actor.pk}", limit=per_hour, seconds=3600)
    if retry_after is not None:
        raise TooManyRequests(retry_after)
    PiiAccessLog.objects.create(
        actor=actor,
        subject_type=subject_type,
        subject_id="-",
        subject_label=label,
        fields=fields,
        reason=str(reason)[:255],
        region_path=actor.scope_path or "/",
    )
