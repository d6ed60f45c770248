"""Notifications: an in-app inbox row per user plus outbox messages (e-mail, SMS/WeChat).

Everything is written inside the caller's transaction, so it is never lost; delivery
is scheduled with ``transaction.on_commit`` and retried by the periodic job
(``appeals_tick``) with exponential backoff.

Texts are built from descriptions, results and reasons, where residents type phone and ID
numbers: every text is masked (``core.pii.mask_text``) here, when the row is written, so no
inbox row, e-mail or SMS holds one in clear. No text needs the recipient's own number.

A text is a ``Notice``: an untranslated message (marked with ``gettext_noop`` where it is
written) and its parameters. The inbox row keeps both, so each reader sees it in their own
language (``Notification.shown_text``); e-mail and SMS are written in the system's language
(LANGUAGE_CODE), as is the row's ``text``, which the back office and older rows show.

An intake confirmation (dedupe key ``intake:<tracking code>``) goes to whatever number an
anonymous form was given: one number gets at most ``GRIDGOV_INTAKE_SMS_PER_PHONE`` of them per
rolling 24 hours (``notify_phone``); the case itself is taken all the same.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from gridgov.appeals.channels import get_channel
from gridgov.appeals.models import Appeal, Notification, OutboxChannel, OutboxMessage
from gridgov.core.notice import Notice
from gridgov.core.pii import mask_phone, mask_text

logger = logging.getLogger("gridgov.appeals.notify")

MAX_BACKOFF = dt.timedelta(hours=6)
INTAKE_DEDUPE_PREFIX = "intake:"
INTAKE_WINDOW = dt.timedelta(hours=24)
_CHINA_MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})", re.ASCII)


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
    *,
    users: Iterable[Any],
    appeal: Appeal | None,
    kind: str,
    text: Notice,
    dedupe: str | None = None,
) -> list[Notification]:
    """Inbox rows for ``users`` (and an e-mail for those with an address), the text masked.

    ``dedupe`` (e.g. ``"overdue:123"``) makes the call idempotent per user.
    """
    notice = text.masked()
    rendered = mask_text(notice.render())
    params = notice.stored()
    subject = Notice(gettext_noop("【网格治理】")).render()
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
            text=rendered[:500],
            # A message too long to keep is shown as its stored rendering.
            message=notice.message if len(notice.message) <= 500 else "",
            params=params,
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
                payload={"subject": subject + rendered[:40], "text": rendered},
                dedupe_key=f"{key}:email" if key else None,
            )
            if msg is not None:
                outbox_ids.append(msg.pk)
    _schedule(outbox_ids)
    return created


def sms_number(phone: str) -> str:
    """The number an SMS goes to, one way for every way of writing it: ASCII digits without
    spaces or hyphens, a mainland mobile without its +86 / 0086 / 86."""
    digits = "".join(
        str(int(ch)) if ch.isdecimal() else ch for ch in phone if ch not in " -\u3000\uff0d"
    )
    mobile = _CHINA_MOBILE.fullmatch(digits)
    return mobile.group(1) if mobile else digits


def _intake_sms_refused(recipient: str, channel: str, now: dt.datetime) -> bool:
    """Has ``recipient`` had its share of intake confirmations in the last 24 hours?

    Reads the rows created since then: they are unsent, or sent since (``sent_at`` ≥
    ``created_at``), which the ``outbox_due_idx`` (sent_at, next_attempt_at) index finds, so
    the scan is bounded by a day's messages and the unsent queue, not the whole outbox."""
    limit = settings.GRIDGOV_INTAKE_SMS_PER_PHONE
    since = now - INTAKE_WINDOW
    recent = OutboxMessage.objects.filter(
        Q(sent_at=None) | Q(sent_at__gte=since),
        created_at__gte=since,
        recipient=recipient,
        channel=channel,
        dedupe_key__startswith=INTAKE_DEDUPE_PREFIX,
    )
    if recent[:limit].count() < limit:
        return False
    logger.warning(
        "intake confirmation to %s not queued: %s already sent in 24 h "
        "(GRIDGOV_INTAKE_SMS_PER_PHONE)",
        mask_phone(recipient),
        limit,
    )
    return True


def notify_phone(
    *, phone: str, text: Notice, dedupe: str | None = None, channel: str = OutboxChannel.SMS
) -> OutboxMessage | None:
    """An SMS (or WeChat) to a reporter without an account, the text masked; None when not
    queued (already queued under ``dedupe``, or an intake confirmation over the number's
    daily share)."""
    if not phone:
        return None
    recipient = sms_number(phone) if channel == OutboxChannel.SMS else phone
    now = timezone.now()
    if (
        dedupe
        and dedupe.startswith(INTAKE_DEDUPE_PREFIX)
        and _intake_sms_refused(recipient, channel, now)
    ):
        return None
    msg = _create_unique(
        OutboxMessage,
        channel=channel,
        recipient=recipient,
        payload={"text": mask_text(text.render())},
        dedupe_key=dedupe,
        next_attempt_at=now,
        created_at=now,
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
                    # One line: a subject with a line break (from the text's first 40
                    # characters) is refused by the mail library (BadHeaderError).
                    " ".join(str(msg.payload.get("subject", "")).split()),
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
