"""The Idempotency-Key request header, read alike by the JSON API and Open311."""

from __future__ import annotations

import re

from django.http import HttpRequest
from django.utils.translation import gettext as _

from gridgov.core.errors import ValidationFailed

MAX_LENGTH = 100
FIELD = "Idempotency-Key"
# Visible ASCII and spaces: a header travels as bytes, and anything else arrives garbled
# (read as Latin-1), so the same key would never find its request again by token.
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")


def idempotency_key(request: HttpRequest) -> str | None:
    """The request's key, stripped; None without one. Refused (ValidationFailed naming the
    header), never cut, when longer than ``MAX_LENGTH`` (two keys cut alike would become one
    request) or not printable ASCII."""
    key = request.headers.get(FIELD, "").strip()
    if not key:
        return None
    if len(key) > MAX_LENGTH:
        raise ValidationFailed(_("Idempotency-Key 过长"), field=FIELD)
    if not _PRINTABLE_ASCII.fullmatch(key):
        raise ValidationFailed(_("Idempotency-Key 只能由英文字母、数字和英文符号组成"), field=FIELD)
    return key
