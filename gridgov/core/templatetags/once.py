"""``{% form_key %}``: the hidden key of a form that makes something (see ``core.once``)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from gridgov.core.once import FIELD
from gridgov.core.once import form_key as key_of

register = template.Library()


@register.simple_tag(takes_context=True)
def form_key(context: dict[str, Any]) -> str:
    return format_html(
        '<input type="hidden" name="{}" value="{}">', FIELD, key_of(context["request"])
    )
