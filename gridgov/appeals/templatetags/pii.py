"""Template filters that keep residents' personal data masked on pages.

Load with ``{% load pii %}``. Mask before truncating: a number cut short by
``truncatechars`` is no longer recognised and would leak its first digits.
"""

from __future__ import annotations

from django import template

from gridgov.core.pii import mask_text

register = template.Library()

# Phone and ID-card numbers a resident typed into free text, masked (138****5678).
register.filter("mask_text", mask_text)
