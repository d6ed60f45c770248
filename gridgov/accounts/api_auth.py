"""Authentication for the JSON API: a personal token (``Authorization: Bearer gg_…``), an
API key (``X-API-Key``) or the signed-in session (with CSRF for unsafe methods, as ninja
does).

A credential that is sent must be valid: a wrong token or key is refused (401) even when
another credential on the request would pass, so a client learns at once that one of its
credentials is wrong instead of acting as someone else."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, SessionAuth

from gridgov.accounts.tokens import user_for_token
from gridgov.open311.auth import ApiKeyAuth


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        user = user_for_token(token)
        if user is None:
            raise AuthenticationError
        # ApiKeyAuth comes after this one: a key sent beside a valid token is checked here.
        key = request.headers.get(ApiKeyAuth.param_name, "")
        if key:
            from gridgov.open311.services import apikey_authenticate

            if apikey_authenticate(key) is None:
                raise AuthenticationError
        request.user = user
        return user


class UserSessionAuth(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any | None:
        user = super().authenticate(request, key)
        return user or None


# An Open311/integrator API key (header X-API-Key) acts as its scoped service user.
api_auth = [TokenAuth(), ApiKeyAuth(), UserSessionAuth()]
