"""Pluggable outside channels for SMS / WeChat. ``settings.GRIDGOV_SMS_BACKEND`` names the class.

A channel has one method, ``send(*, recipient, text, payload)``; it raises on failure
(the outbox then retries with backoff).
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

        logger.info("SMS to %s: %s", mask_phone(recipient), text)
        LoggingChannel.sent.append({"recipient": recipient, "text": text, "payload": payload})
        del LoggingChannel.sent[:-1000]


class FailingChannel:
    """Always fails: used to test retries."""

    def send(self, *, recipient: str, text: str, payload: dict[str, Any]) -> None:
        raise ConnectionError("channel unavailable")


def get_channel(path: str | None = None) -> MessageChannel:
    return import_string(path or settings.GRIDGOV_SMS_BACKEND)()
