"""API-key authentication for ninja routers (header ``X-API-Key``).

A key acts as its service user (see ApiKey), so scoping and capabilities are the
same as for a person with that role and region.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import APIKeyHeader


class ApiKeyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any | None:
        from gridgov.open311.services import apikey_authenticate

        if not key:
            return None
        row = apikey_authenticate(key)
        if row is None:
            raise AuthenticationError  # a key that is sent must be valid (accounts.api_auth)
        request.user = row.user
        request.api_key = row  # type: ignore[attr-defined]
        return row.user
