"""Authentication for the JSON API: a personal token (``Authorization: Bearer gg_…``)
or the signed-in session (with CSRF for unsafe methods, as ninja does)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from gridgov.accounts.tokens import user_for_token
from gridgov.open311.auth import ApiKeyAuth


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class UserSessionAuth(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any | None:
        user = super().authenticate(request, key)
        return user or None


# An Open311/integrator API key (header X-API-Key) acts as its scoped service user.
api_auth = [TokenAuth(), ApiKeyAuth(), UserSessionAuth()]
