from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from gridgov.accounts import capabilities as caps
from gridgov.accounts.api_auth import api_auth

router = Router(tags=["accounts"], auth=api_auth)


class MeOut(Schema):
    username: str
    display_name: str
    role: str
    role_label: str
    scope_code: str | None
    scope_name: str | None
    capabilities: list[str]


@router.get("/me", response=MeOut, summary="当前用户")
def me(request: HttpRequest) -> MeOut:
    user = request.user
    region = user.scope_region
    granted = sorted(c for c in caps._ALL if caps.has_cap(user, c))
    return MeOut(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        role_label=str(user.get_role_display()),
        scope_code=region.code if region else None,
        scope_name=region.name if region else None,
        capabilities=granted,
    )
