"""The one family of domain errors. Pages and the API map them to HTTP alike.

Every error carries a translatable message and, where it concerns one input,
the name of that field (and the row, for imports).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(
        self,
        message: Any,
        *,
        field: str | None = None,
        row: int | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.row = row
        self.details = details or []

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.field:
            body["field"] = self.field
        if self.row is not None:
            body["row"] = self.row
        if self.details:
            body["details"] = [
                {k: str(v) if k == "message" else v for k, v in d.items()} for d in self.details
            ]
        return body


class ValidationFailed(DomainError):
    status = 400
    code = "invalid"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    """Answered both for 'missing' and 'outside your jurisdiction'."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The object's state forbids the action (e.g. a transition not allowed)."""

    status = 409
    code = "conflict"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"


def form_error(form: Any) -> ValidationFailed:
    """The first error of an invalid Django form, as a domain error naming its field: by
    its label in the message (for the person: 关闭日期：…) and by its name in ``field``."""
    field, errors = next(iter(form.errors.items()))
    label = form.fields[field].label if field in form.fields else None
    message = (
        _("%(field)s：%(error)s") % {"field": label, "error": errors[0]} if label else errors[0]
    )
    return ValidationFailed(message, field=field)
