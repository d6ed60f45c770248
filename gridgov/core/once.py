"""A page's form that makes something is carried out once per sending.

The form carries a key (``{% form_key %}``, a hidden field set when the page is first shown
and kept when it comes back with errors). ``once`` records the key with what the form made,
in the same transaction: the same form sent again with the same content (a resend after a
lost answer, Back and send) leads to what the first made, and nothing is made twice. The
same key with other content (Back, change a field, send) is a new sending: nothing a user
typed is dropped. A sending that failed (a field error) recorded nothing and may be sent
again. Two sendings at the same instant: the second waits for the first's row and then
follows it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.core.models import FormSubmission

FIELD = "form_key"
KEEP = dt.timedelta(days=7)
# What a sending's content is made of: every field but the key and the CSRF token.
_NOT_CONTENT = {FIELD, "csrfmiddlewaretoken"}


def form_key(request: HttpRequest, field: str = FIELD) -> str:
    """The key a page's form carries in ``field``: the one it was sent with (the form came
    back with an error), or a new one. The appeal pages' forms carry theirs as
    ``idempotency_key``, which the appeal itself stores."""
    sent = request.POST.get(field, "") if request.method == "POST" else ""
    return sent.strip()[:64] or secrets.token_hex(16)


def _sending(request: HttpRequest) -> str | None:
    key = request.POST.get(FIELD, "").strip()[:64]
    if not key:
        return None
    digest = hashlib.sha256()
    for name in sorted(k for k in request.POST if k not in _NOT_CONTENT):
        for value in request.POST.getlist(name):
            digest.update(f"{name}\x00{value}\x01".encode())
    return f"{key}:{digest.hexdigest()[:24]}"


def once(request: HttpRequest, make: Callable[[], str]) -> str:
    """``make()`` (which makes something and returns the address that shows it) once per
    sending of the form; a sending seen before returns the first's address without calling
    it, and tells the user so. Errors ``make`` raises roll the record back with it."""
    sending = _sending(request)
    if sending is None:  # a form without a key (an old page, a script): as before
        return make()
    with transaction.atomic():
        try:
            with transaction.atomic():
                FormSubmission.objects.create(user=request.user, key=sending)
        except IntegrityError:
            first = FormSubmission.objects.filter(user=request.user, key=sending).first()
            if first is not None and first.target:
                messages.info(request, _("该表单已提交过，未重复登记。"))
                return first.target
            raise
        target = make()
        FormSubmission.objects.filter(user=request.user, key=sending).update(target=target)
        FormSubmission.objects.filter(
            user=request.user, created_at__lt=timezone.now() - KEEP
        ).delete()
    return target
