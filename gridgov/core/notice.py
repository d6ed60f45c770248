"""Texts written for others to read later (notifications): a message and its parameters,
kept apart so that each reader can see the text in their own language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from gridgov.core.pii import mask_text


@dataclass(frozen=True)
class Notice:
    """A notification's message and its parameters, rendered in whichever language is asked.

    ``message`` is a msgid with ``%(name)s`` placeholders. A parameter is a string or a
    number (a code, a date, a reason someone typed: never translated), or another Notice
    (translated with it)."""

    message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, language: str | None = None) -> str:
        """The text in ``language`` (the system's by default)."""
        with translation.override(language or settings.LANGUAGE_CODE):
            return self._render()

    def _render(self) -> str:
        values = {k: v._render() if isinstance(v, Notice) else v for k, v in self.params.items()}
        return _(self.message) % values

    def masked(self) -> Notice:
        """The notice with every string parameter masked (``mask_text``), and the message too
        (a msgid holds no number; a text passed as one must not keep one in clear)."""
        return Notice(mask_text(self.message), {k: _masked(v) for k, v in self.params.items()})

    def stored(self) -> dict[str, Any]:
        """The parameters as stored in JSON: a nested Notice as ``{"message", "params"}``."""
        return {
            k: {"message": v.message, "params": v.stored()} if isinstance(v, Notice) else v
            for k, v in self.params.items()
        }

    @classmethod
    def from_stored(cls, message: str, params: Mapping[str, Any]) -> Notice:
        return cls(
            message,
            {
                k: cls.from_stored(v["message"], v["params"]) if isinstance(v, dict) else v
                for k, v in params.items()
            },
        )


def _masked(value: Any) -> Any:
    if isinstance(value, Notice):
        return value.masked()
    return mask_text(value) if isinstance(value, str) else value
