"""Notifications: an in-app inbox row per user plus outbox messages (e-mail, SMS/WeChat).

Everything is written inside the caller's transaction, so it is never lost; delivery
is scheduled with ``transaction.on_commit`` and retried by the periodic job
(``appeals_tick``) with exponential backoff.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.appeals.channels import get_channel
from gridgov.appeals.models import Appeal, Notification, OutboxChannel, OutboxMessage

MAX_BACKOFF = dt.timedelta(hours=6)


def _create_unique(model: Any, **fields: Any) -> Any | None:
    """Create a row; None when its dedupe_key already exists (notify once per case per event)."""
    key = fields.get("dedupe_key")
    if key and model.objects.filter(dedupe_key=key).exists():
        return None
    try:
        with transaction.atomic():
            return model.objects.create(**fields)
    except IntegrityError:
        if key:
            return None
        raise


def _schedule(ids: list[int]) -> None:
    if not ids:
        return

    def enqueue() -> None:
        from gridgov.appeals.tasks import deliver_outbox

        deliver_outbox.delay(ids)

    # robust: a broker outage must not fail the request; the tick retries unsent rows.
    transaction.on_commit(enqueue, robust=True)


def notify_users(
    *, users: Iterable[Any], appeal: Appeal | None, kind: str, text: str, dedupe: str | None = None
) -> list[Notification]:
    """Inbox rows for ``users`` (and an e-mail for those with an address).

    ``dedupe`` (e.g. ``"overdue:123"``) makes the call idempotent per user.
    """
    created: list[Notification] = []
    outbox_ids: list[int] = []
    seen: set[int] = set()
    for user in users:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        key = f"{dedupe}:u{user.pk}" if dedupe else None
        row = _create_unique(
            Notification,
            user=user,
            appeal=appeal,
            kind=kind,
            text=text[:500],
            dedupe_key=key,
            created_at=timezone.now(),
        )
        if row is None:
            continue
        created.append(row)
        if user.email:
            msg = _create_unique(
                OutboxMessage,
                next_attempt_at=timezone.now(),
                created_at=timezone.now(),
                channel=OutboxChannel.EMAIL,
                recipient=user.email,
                payload={"subject": _("【网格治理】") + text[:40], "text": text},
                dedupe_key=f"{key}:email" if key else None,
            )
            if msg is not None:
                outbox_ids.append(msg.pk)
    _schedule(outbox_ids)
    return created


def notify_phone(
    *, phone: str, text: str, dedupe: str | None = None, channel: str = OutboxChannel.SMS
) -> OutboxMessage | None:
    """An SMS (or WeChat) to a reporter without an account."""
    if not phone:
        return None
    msg = _create_unique(
        OutboxMessage,
        channel=channel,
        recipient=phone,
        payload={"text": text},
        dedupe_key=dedupe,
        next_attempt_at=timezone.now(),
        created_at=timezone.now(),
    )
    if msg is not None:
        _schedule([msg.pk])
    return msg


def backoff(attempts: int) -> dt.timedelta:
    return min(dt.timedelta(minutes=2 ** max(0, attempts - 1)), MAX_BACKOFF)


def deliver(message_id: int, *, now: dt.datetime | None = None) -> bool:
    """Send one outbox message if due; record success or the error and the next attempt.

    The row is locked (skip_locked) so two workers never send it twice.
    """
    now = now or timezone.now()
    with transaction.atomic():
        msg = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, sent_at=None)
            .first()
        )
        if msg is None or msg.next_attempt_at > now:
            return False
        msg.attempts += 1
        try:
            if msg.channel == OutboxChannel.EMAIL:
                send_mail(
                    msg.payload.get("subject", ""),
                    msg.payload.get("text", ""),
                    None,
                    [msg.recipient],
                )
            else:
                get_channel(msg.channel).send(
                    recipient=msg.recipient, text=msg.payload.get("text", ""), payload=msg.payload
                )
        except Exception as exc:  # any channel failure is retried later
            msg.last_error = f"{type(exc).__name__}: {exc}"[:500]
            msg.next_attempt_at = now + backoff(msg.attempts)
            msg.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            return False
        msg.sent_at = now
        msg.last_error = ""
        msg.save(update_fields=["attempts", "sent_at", "last_error"])
        return True


def deliver_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Send every due, unsent message (the periodic retry); returns how many were sent."""
    now = now or timezone.now()
    ids = list(
        OutboxMessage.objects.filter(sent_at=None, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if deliver(pk, now=now))
