"""Roles → named capabilities: the one place that says who may do what.

Jurisdiction (where) is separate: see gridgov.core.scope.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from gridgov.accounts.models import Role
from gridgov.core.errors import PermissionDenied

VIEW_REGISTRY = "view_registry"
EDIT_REGISTRY = "edit_registry"
REVEAL_PII = "reveal_pii"
VIEW_PII_LOG = "view_pii_log"
IMPORT_LEDGERS = "import_ledgers"
EXPORT_LEDGERS = "export_ledgers"
APPEAL_INTAKE = "appeal_intake"
# Deciding on a case just taken in: register (立案), reject (不予受理), withdraw on the
# reporter's behalf. Every role that takes appeals in has it except API_CLIENT.
APPEAL_TRIAGE = "appeal_triage"
APPEAL_DISPATCH = "appeal_dispatch"
APPEAL_HANDLE = "appeal_handle"
APPEAL_VERIFY = "appeal_verify"
APPEAL_SUPERVISE = "appeal_supervise"
APPEAL_VIEW = "appeal_view"
CONFIGURE = "configure"  # categories, time limits, holidays, API keys
VIEW_DASHBOARD = "view_dashboard"

_ALL = {
    VIEW_REGISTRY,
    EDIT_REGISTRY,
    REVEAL_PII,
    VIEW_PII_LOG,
    IMPORT_LEDGERS,
    EXPORT_LEDGERS,
    APPEAL_INTAKE,
    APPEAL_TRIAGE,
    APPEAL_DISPATCH,
    APPEAL_HANDLE,
    APPEAL_VERIFY,
    APPEAL_SUPERVISE,
    APPEAL_VIEW,
    CONFIGURE,
    VIEW_DASHBOARD,
}

ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.DISTRICT_ADMIN: frozenset(_ALL),
    Role.ORG_DEPT: frozenset({VIEW_REGISTRY, EXPORT_LEDGERS, APPEAL_VIEW, VIEW_DASHBOARD}),
    Role.OPERATOR: frozenset(
        {
            VIEW_REGISTRY,
            APPEAL_INTAKE,
            APPEAL_TRIAGE,
            APPEAL_DISPATCH,
            APPEAL_SUPERVISE,
            APPEAL_VIEW,
            APPEAL_VERIFY,
            VIEW_DASHBOARD,
        }
    ),
    Role.STREET_OFFICIAL: frozenset(
        {
            VIEW_REGISTRY,
            EDIT_REGISTRY,
            REVEAL_PII,
            IMPORT_LEDGERS,
            EXPORT_LEDGERS,
            APPEAL_INTAKE,
            APPEAL_TRIAGE,
            APPEAL_DISPATCH,
            APPEAL_HANDLE,
            APPEAL_VERIFY,
            APPEAL_SUPERVISE,
            APPEAL_VIEW,
            VIEW_DASHBOARD,
        }
    ),
    Role.COMMUNITY_WORKER: frozenset(
        {
            VIEW_REGISTRY,
            EDIT_REGISTRY,
            REVEAL_PII,
            IMPORT_LEDGERS,
            EXPORT_LEDGERS,
            APPEAL_INTAKE,
            APPEAL_TRIAGE,
            APPEAL_DISPATCH,
            APPEAL_HANDLE,
            APPEAL_VERIFY,
            APPEAL_VIEW,
            VIEW_DASHBOARD,
        }
    ),
    Role.GRID_WORKER: frozenset(
        {
            VIEW_REGISTRY,
            EDIT_REGISTRY,
            REVEAL_PII,
            APPEAL_INTAKE,
            APPEAL_TRIAGE,
            APPEAL_HANDLE,
            APPEAL_VERIFY,
            APPEAL_VIEW,
        }
    ),
    Role.DEPARTMENT_HANDLER: frozenset({APPEAL_HANDLE, APPEAL_VIEW}),
    Role.PARTY_MEMBER: frozenset(),
    Role.PARTNER_UNIT: frozenset(),
    Role.RESIDENT: frozenset(),
    # An integrator's API key (by default): files appeals and reads them in its region;
    # never the register, and none of the loop's decisions.
    Role.API_CLIENT: frozenset({APPEAL_INTAKE, APPEAL_VIEW}),
}


def has_cap(user: Any, capability: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return capability in ROLE_CAPABILITIES.get(user.role, frozenset())


def require_cap(user: Any, capability: str) -> None:
    if not has_cap(user, capability):
        raise PermissionDenied(_("您没有执行此操作的权限"))
