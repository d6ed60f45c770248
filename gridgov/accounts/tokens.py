"""Personal API tokens: created once, stored hashed, checked by digest."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.utils import timezone

from gridgov.accounts.models import ApiToken


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_create(*, user: Any, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the clear token (shown once)."""
    clear = "gg_" + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(user=user, name=name, digest=digest(clear), prefix=clear[:8])
    return row, clear


def user_for_token(token: str) -> Any | None:
    row = (
        ApiToken.objects.select_related("user", "user__scope_region", "user__department")
        .filter(digest=digest(token), revoked_at=None)
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    return row.user


def token_revoke(*, token_id: int) -> None:
    ApiToken.objects.filter(pk=token_id, revoked_at=None).update(revoked_at=timezone.now())
