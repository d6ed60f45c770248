"""Writes of the Open311 app: creating and revoking API keys."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import Role, User
from gridgov.core.audit import audit
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.open311.models import ApiKey
from gridgov.territory.models import Region, RegionKind

KEY_PREFIX = "o311_"
# The roles a key's service user may have: a client that files and reads (the default), or
# an integrator that runs the loop itself (a hotline system: register, dispatch, close).
KEY_ROLES = (Role.API_CLIENT, Role.OPERATOR)


def key_digest(clear: str) -> str:
    return hashlib.sha256(clear.encode()).hexdigest()


def district_region() -> Region | None:
    """The district this deployment serves (settings.GRIDGOV_DISTRICT_CODE)."""
    return Region.objects.filter(code=settings.GRIDGOV_DISTRICT_CODE, parent=None).first()


KEY_REGION_KINDS = (
    RegionKind.DISTRICT,
    RegionKind.STREET,
    RegionKind.TOWNSHIP,
    RegionKind.COMMUNITY,
)


@transaction.atomic
def apikey_create(
    *, actor: Any, name: str, region: Region | None = None, role: str = Role.API_CLIENT
) -> tuple[ApiKey, str]:
    """Create an API key and its service user; returns the row and the clear key (shown once).

    The service user has ``role`` (``KEY_ROLES``: api_client by default, which may only
    file appeals and read them; operator for an integrator that runs the loop), scoped to
    ``region`` or the whole district.
    Errors: ValidationFailed (empty name, role not allowed, no district configured).
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请填写名称"), field="name")
    if len(name) > 64:
        raise ValidationFailed(_("名称不能超过64个字"), field="name")
    if role not in KEY_ROLES:
        raise ValidationFailed(
            _("角色只能是: %(roles)s") % {"roles": ", ".join(KEY_ROLES)}, field="role"
        )
    if region is not None and region.kind not in KEY_REGION_KINDS:
        # A key files cases in grids; below a community there are none to file in.
        raise ValidationFailed(_("授权范围须为区县、街道、乡镇或社区"), field="region")
    scope = region or district_region()
    if scope is None:
        raise ValidationFailed(_("未找到本区县辖区, 请先建立辖区或指定范围"), field="region")
    clear = KEY_PREFIX + secrets.token_urlsafe(32)
    prefix = clear[:12]
    user = User(
        username=f"apikey-{prefix}-{secrets.token_hex(3)}",
        role=role,
        scope_region=scope,
        display_name=f"API: {name}"[:64],
    )
    user.set_unusable_password()
    user.save()
    key = ApiKey.objects.create(
        name=name, digest=key_digest(clear), prefix=prefix, region=region, user=user
    )
    audit(
        actor=actor,
        action="apikey.create",
        target=key,
        region_path=scope.path,
        data={"name": name, "prefix": prefix, "role": role},
    )
    return key, clear


@transaction.atomic
def apikey_revoke(*, actor: Any, key_id: int) -> ApiKey:
    """Revoke a key at once; its service user is deactivated. Errors: NotFound."""
    key = ApiKey.objects.select_for_update().filter(pk=key_id).first()
    if key is None:
        raise NotFound(_("API密钥不存在"), field="id")
    if key.revoked_at is not None:
        return key
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    _recent.pop(key.digest, None)
    if key.user_id:
        User.objects.filter(pk=key.user_id).update(is_active=False)
    audit(
        actor=actor,
        action="apikey.revoke",
        target=key,
        region_path=key.region.path if key.region_id else "",
        data={"prefix": key.prefix},
    )
    return key


# Valid keys are remembered per process for a few seconds: one query less per request
# under load. A revocation applies at once in the revoking process and within
# GRIDGOV_APIKEY_CACHE_SECONDS (default 5; 0 turns the cache off) everywhere else.
_recent: dict[str, tuple[float, ApiKey]] = {}


def apikey_authenticate(clear: str | None) -> ApiKey | None:
    """The active key for ``clear`` with its service user loaded, or None."""
    if not clear or not clear.startswith(KEY_PREFIX) or len(clear) > 128:
        return None
    digest = key_digest(clear)
    ttl = settings.GRIDGOV_APIKEY_CACHE_SECONDS
    now = time.monotonic()
    hit = _recent.get(digest) if ttl > 0 else None
    if hit is not None and hit[0] > now:
        return hit[1]
    key = (
        ApiKey.objects.select_related("user", "user__scope_region", "user__department")
        .filter(digest=digest, revoked_at=None)
        .first()
    )
    if key is None or key.user is None or not key.user.is_active:
        _recent.pop(digest, None)
        return None
    if ttl > 0:
        if len(_recent) > 1000:
            _recent.clear()
        _recent[digest] = (now + ttl, key)
    return key
