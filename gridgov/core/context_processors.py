from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from gridgov.accounts import capabilities as caps

# (url name, label, capability or None for every signed-in user)
NAV_ITEMS = [
    ("home", _("首页"), None),
    ("territory:tree", _("辖区网格"), caps.VIEW_REGISTRY),
    ("territory:map", _("网格地图"), caps.VIEW_REGISTRY),
    ("people:residents", _("人房事物企"), caps.VIEW_REGISTRY),
    ("people:party_tree", _("党组织"), caps.VIEW_REGISTRY),
    ("appeals:queue", _("诉求办理"), caps.APPEAL_VIEW),
    ("appeals:my_tasks", _("我的任务"), caps.APPEAL_HANDLE),
    # A grid worker's first task on patrol: report what they see (with photo and location).
    ("appeals:grid_report", _("事件上报"), caps.APPEAL_INTAKE),
    ("appeals:hotline", _("热线受理"), caps.APPEAL_INTAKE),
    ("appeals:supervision", _("督办"), caps.APPEAL_SUPERVISE),
    ("appeals:stats", _("三率统计"), caps.APPEAL_VIEW),
    ("ledgers:index", _("台账导入导出"), caps.IMPORT_LEDGERS),
    ("accounts:pii_log", _("信息查看记录"), caps.VIEW_PII_LOG),
    ("appeals:inbox", _("消息"), None),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_names": set()}
    items, names = [], set()
    for name, label, cap in NAV_ITEMS:
        if cap is not None and not caps.has_cap(user, cap):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue  # module not built yet
        names.add(name)
        items.append(
            {
                "url": url,
                "label": label,
                "active": request.path == url,
                "badge": _unread(user) if name == "appeals:inbox" else 0,
            }
        )
    # ``nav_names``: the pages offered, for a page's own tabs to offer no others.
    return {"nav_items": items, "nav_names": names}


def _unread(user: Any) -> int:
    from gridgov.appeals.selectors import inbox_unread_count

    return inbox_unread_count(actor=user)
