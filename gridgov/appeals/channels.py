"""Pluggable outside channels for SMS and WeChat: ``settings.GRIDGOV_SMS_BACKEND`` and
``settings.GRIDGOV_WECHAT_BACKEND`` each name a class (the outbox message's channel picks
which), so an SMS gateway and a WeChat service account are plugged in separately.

A channel has one method, ``send(*, recipient, text, payload)`` (the recipient: a phone
number for SMS, an openid for WeChat); it raises on failure (the outbox then retries with
backoff).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("gridgov.appeals.channels")


class MessageChannel(Protocol):
    def send(self, *, recipient: str, text: str, payload: dict[str, Any]) -> None: ...


class LoggingChannel:
    """Logs instead of sending; keeps the last messages in ``sent`` for tests and demos."""

    sent: ClassVar[list[dict[str, Any]]] = []

    def send(self, *, recipient: str, text: str, payload: dict[str, Any]) -> None:
        from gridgov.core.pii import mask_phone

        logger.info("message to %s: %s", mask_phone(recipient), text)
        LoggingChannel.sent.append({"recipient": recipient, "text": text, "payload": payload})
        del LoggingChannel.sent[:-1000]


class FailingChannel:
    """Always fails: used to test retries."""

    def send(self, *, recipient: str, text: str, payload: dict[str, Any]) -> None:
        raise ConnectionError("channel unavailable")


BACKEND_SETTINGS = {"sms": "GRIDGOV_SMS_BACKEND", "wechat": "GRIDGOV_WECHAT_BACKEND"}


def get_channel(kind: str = "sms") -> MessageChannel:
    """The backend for outbox channel ``kind`` ("sms" or "wechat")."""
    return import_string(getattr(settings, BACKEND_SETTINGS[kind]))()
