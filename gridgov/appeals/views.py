"""Pages of the appeals loop: residents (no account), grid workers, operators, dispatchers,
handlers and supervisors. Thin: parse with a form, call a service or selector, render.

A DomainError from a service comes back on the form that caused it (naming the field) and
the page re-renders with the user's input: 400 for bad input, 409 when the case's state
forbids the action, 403 when the user may not. Nothing is half-done: the pages that chain
services (hotline: intake → register → dispatch) run them in one transaction. The intake
pages' forms carry an idempotency key: a form sent twice is one case (``_intake_once``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy
from django.views.decorators.http import require_POST

from gridgov.accounts import capabilities as caps
from gridgov.accounts.services import pii_reveal
from gridgov.appeals import forms as f
from gridgov.appeals import selectors as sel
from gridgov.appeals import services as svc
from gridgov.appeals.deadlines import deadline_colour
from gridgov.appeals.duplicates import appeal_duplicate_candidates, duplicates_of
from gridgov.appeals.models import (
    FINAL_STATUSES,
    Action,
    Appeal,
    AppealEvent,
    Channel,
    Notification,
    RateSettings,
    Status,
)
from gridgov.core.db import valid_pk
from gridgov.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from gridgov.core.once import form_key
from gridgov.core.pagination import keyset_page, keyset_page_by_time
from gridgov.core.pii import mask_name, mask_phone, mask_text
from gridgov.core.ratelimit import check_rate
from gridgov.core.scope import in_scope
from gridgov.territory.models import Region

PAGE_SIZE = 30
# Steps a resident should not see on the public page (internal clock events).
INTERNAL_ACTIONS = {Action.REMIND, Action.OVERDUE, Action.WHISTLE_FLAG}


# ---------------------------------------------------------------- small helpers


def _need(request: HttpRequest, capability: str) -> None:
    caps.require_cap(request.user, capability)


def _add_domain_error(form: Any, exc: DomainError) -> int:
    """Put a service's error on the form field it names; return the HTTP status to answer."""
    field = exc.field
    if field in ("grid", "region", "department") and "target" in form.fields:
        field = "target"
    if field == "location" and "latitude" in form.fields:
        field = "address" if "address" in form.fields else "latitude"
    message = str(exc.message)
    if isinstance(exc, Conflict):
        message = _("当前状态不允许此操作：") + message
    if field in form.fields and not isinstance(exc, Conflict | PermissionDenied):
        form.add_error(field, message)
    else:
        form.add_error(None, message)
    return exc.status


def _limited(request: HttpRequest, scope: str) -> HttpResponse | None:
    """Anonymous pages: over the per-IP limit → a readable 429 page."""
    if request.user.is_authenticated:
        return None
    retry_after = check_rate(request, scope=f"appeals.{scope}")
    if retry_after is None:
        return None
    response = render(request, "appeals/ratelimited.html", {"retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _query(request: HttpRequest) -> str:
    return urlencode({k: v for k, v in request.GET.items() if k != "cursor" and v})


def _rows(items: list[Appeal]) -> list[Appeal]:
    now = timezone.now()
    for row in items:
        row.colour = deadline_colour(row, now)
    return items


def _public_steps(appeal: Appeal) -> list[dict[str, Any]]:
    """The public timeline: step and time; no staff names, no internal notes."""
    steps = []
    for e in sel.public_timeline(appeal=appeal):
        if e.action in INTERNAL_ACTIONS:
            continue
        steps.append(
            {
                "label": Action(e.action).label,
                "at": e.at,
                "status": Status(e.to_status).label if e.to_status else "",
                "note": e.note if e.action in (Action.REJECT,) else "",
            }
        )
    return steps


def _coordinate(value: str | None, limit: float) -> float | None:
    """A latitude (``limit`` 90) or longitude (180) from a query parameter; None when absent,
    not a number, not finite (nan, inf) or out of range."""
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    if number is None or not math.isfinite(number) or abs(number) > limit:
        return None
    return number


def _event_detail(e: AppealEvent, visible: set[int] | frozenset[int] = frozenset()) -> str:
    """The history row's details. A merge names the case it went into by tracking code only
    when the viewer may open that case (its id in ``visible``)."""
    d = e.data or {}
    parts = []
    for key in ("grid_name", "region_name", "department_name"):
        if d.get(key):
            parts.append(_("至 %(t)s") % {"t": d[key]})
    if d.get("department_names"):
        parts.append(_("部门：%(d)s") % {"d": "、".join(d["department_names"])})
    if d.get("rating"):
        from gridgov.appeals.models import Rating

        parts.append(Rating(d["rating"]).label)
    if d.get("working_days"):
        n = d["working_days"]
        parts.append(ngettext("%(n)s 个工作日", "%(n)s 个工作日", n) % {"n": n})
    if "approved" in d:
        parts.append(pgettext("extension", "已批准") if d["approved"] else _("未批准"))
    if d.get("into_code"):
        if d.get("into") in visible:
            parts.append(_("并入 %(c)s") % {"c": d["into_code"]})
        else:
            parts.append(_("并入另一诉求"))
    if d.get("duplicate_candidates"):
        n = len(d["duplicate_candidates"])
        parts.append(ngettext("疑似重复 %(n)s 件", "疑似重复 %(n)s 件", n) % {"n": n})
    if d.get("late"):
        parts.append(_("报到超时"))
    if d.get("whistle_decline"):
        parts.append(_("吹哨部门退回，诉求仍由其他部门办理"))
    return _("；").join(str(p) for p in parts)


# ---------------------------------------------------------------- residents (no account)


def report(request: HttpRequest) -> HttpResponse:
    """居民自助反映: no account; location from the phone or an address; tracking code back."""
    district = f.district_for(None)
    status = 200
    if request.method == "POST":
        if limited := _limited(request, "report"):
            return limited
        form = f.ResidentReportForm(request.POST, request.FILES, district=district)
        if form.is_valid():
            try:
                appeal = _resident_intake(request, form.cleaned_data)
            except DomainError as exc:
                status = _add_domain_error(form, exc)
            else:
                return redirect("appeals:report_done", code=appeal.tracking_code)
        else:
            status = 400
    else:
        form = f.ResidentReportForm(district=district)
    return render(
        request,
        "appeals/report.html",
        {
            "form": form,
            "idempotency_key": form_key(request, "idempotency_key"),
        },
        status=status,
    )


def _resident_intake(request: HttpRequest, d: dict[str, Any]) -> Appeal:
    """The resident's report under the page's idempotency key (see ``_intake_once``)."""
    return _intake_once(
        request,
        "web",
        d,
        actor=request.user if request.user.is_authenticated else None,
        channel=Channel.SELF_SERVICE,
        reporter_name=d["reporter_name"],
        photos=d["photos"],
    )


# What makes a resent form another report: the fields a replay must repeat
# (services.REPLAY_FIELDS), as the form gives them.
CONTENT_FIELDS = ("category", "description", "latitude", "longitude", "address", "reporter_phone")


def _intake_once(request: HttpRequest, namespace: str, d: dict[str, Any], **kwargs: Any) -> Appeal:
    """``services.appeal_intake`` under the form's idempotency key, stored as
    ``<namespace>:<key>`` (``web``: the resident page; ``grid:u<id>`` and ``hotline:u<id>``:
    a staff page and its user), so that no form can claim another page's, user's or the
    API's (``api:``, ``public:``, ``o311:``) keys. A resent form stays one case: the first
    appeal comes back, marked ``replayed``. A different report sent with the same key (the
    user went Back and changed the form) is a new case: it gets a key of its own, derived
    from its content, so that resending it stays one case too; nothing sent is lost."""
    content = {name: d[name] for name in CONTENT_FIELDS}
    sent = (request.POST.get("idempotency_key") or "").strip()[:64]
    key = f"{namespace}:{sent}" if sent else None
    try:
        return svc.appeal_intake(idempotency_key=key, **content, **kwargs)
    except Conflict as exc:
        if key is None or exc.field != "idempotency_key":
            raise
    digest = hashlib.sha256(repr({**content, "category": d["category"].pk}).encode()).hexdigest()
    return svc.appeal_intake(idempotency_key=f"{key}:{digest[:16]}", **content, **kwargs)


def _reporter(request: HttpRequest, d: dict[str, Any]) -> Any:
    """The resident record a staff form's ID number names (None without one)."""
    return sel.reporter_record(
        actor=request.user, field="reporter_id_number", id_number=d["reporter_id_number"]
    )


def report_done(request: HttpRequest, code: str) -> HttpResponse:
    if limited := _limited(request, "track"):
        return limited
    appeal = sel.appeal_get_by_code(tracking_code=code)
    return render(request, "appeals/report_done.html", {"appeal": appeal})


def track(request: HttpRequest) -> HttpResponse:
    """凭查询码查询: a form; the code leads to the case's public page."""
    form = f.TrackForm(request.GET or None)
    if form.is_bound:
        if limited := _limited(request, "track"):
            return limited
        if form.is_valid():
            code = form.cleaned_data["code"].strip().upper()
            if Appeal.objects.filter(tracking_code=code).exists():
                return redirect("appeals:track_code", code=code)
            form.add_error("code", _("查询码不存在，请核对后重新输入"))
        return render(request, "appeals/track.html", {"form": form}, status=404)
    return render(request, "appeals/track.html", {"form": form})


def _needs_phone(request: HttpRequest, appeal: Appeal) -> bool:
    """Does acting on the case by its code ask for the phone number (``svc._is_reporter``)?
    Not for the reporter's own account, nor where no number is on file."""
    own = request.user.is_authenticated and appeal.reporter_user_id == request.user.pk
    return not own and bool(svc.phone_on_file(appeal))


def _track_page(
    request: HttpRequest,
    appeal: Appeal,
    *,
    rate_form: Any = None,
    withdraw_form: Any = None,
    reopen_form: Any = None,
    status: int = 200,
) -> HttpResponse:
    phone = _needs_phone(request, appeal)
    return render(
        request,
        "appeals/track_code.html",
        {
            "appeal": appeal,
            "steps": _public_steps(appeal),
            # A form that failed stays on the page (with its error) even if no longer offered.
            "can_rate": svc.may_rate(appeal) or rate_form is not None,
            "can_withdraw": svc.may_withdraw(appeal) or withdraw_form is not None,
            "can_reopen": svc.reporter_may_reopen(appeal, timezone.now())
            or reopen_form is not None,
            "rate_form": rate_form or f.RateForm(needs_phone=phone),
            "withdraw_form": withdraw_form or f.TrackWithdrawForm(needs_phone=phone),
            "reopen_form": reopen_form or f.TrackReopenForm(needs_phone=phone),
            "primary": appeal.duplicate_of,
        },
        status=status,
    )


def track_code(request: HttpRequest, code: str) -> HttpResponse:
    """The resident's view of their case: status, public timeline, rate, withdraw."""
    if limited := _limited(request, "track"):
        return limited
    appeal = sel.appeal_get_by_code(tracking_code=code)
    return _track_page(request, appeal)


@require_POST
def track_act(request: HttpRequest, code: str, action: str) -> HttpResponse:
    """评价 / 撤回 / 返工 by the reporter with the tracking code."""
    if limited := _limited(request, "rate"):
        return limited
    appeal = sel.appeal_get_by_code(tracking_code=code)
    actor = request.user if request.user.is_authenticated else None
    forms_by_action = {
        "rate": f.RateForm,
        "withdraw": f.TrackWithdrawForm,
        "reopen": f.TrackReopenForm,
    }
    if action not in forms_by_action:
        raise NotFound(_("页面不存在"))
    form = forms_by_action[action](request.POST, needs_phone=_needs_phone(request, appeal))
    status = 400
    if form.is_valid():
        d = form.cleaned_data
        proof = {"tracking_code": code, "reporter_phone": d.get("reporter_phone")}
        try:
            if action == "rate":
                svc.appeal_verify(
                    actor=actor,
                    appeal=appeal.pk,
                    rating=d["rating"],
                    resolved=d["resolved"],
                    comment=d["comment"],
                    **proof,
                )
                messages.success(request, _("感谢您的评价！"))
            elif action == "withdraw":
                svc.appeal_withdraw(actor=actor, appeal=appeal.pk, reason=d["note"], **proof)
                messages.success(request, _("已撤回。"))
            else:
                svc.appeal_reopen(actor=actor, appeal=appeal.pk, reason=d["reason"], **proof)
                messages.success(request, _("已退回重新办理。"))
        except DomainError as exc:
            status = _add_domain_error(form, exc)
        else:
            return redirect("appeals:track_code", code=appeal.tracking_code)
    key = {"rate": "rate_form", "withdraw": "withdraw_form", "reopen": "reopen_form"}[action]
    return _track_page(request, appeal, status=status, **{key: form})


# ---------------------------------------------------------------- grid worker (phone)


@login_required
def grid_report(request: HttpRequest) -> HttpResponse:
    """网格员上报: photo + the phone's location; the grid comes from the point; registered
    at once (立案) so the community can dispatch or whistle, or taken by the worker when it
    lies in their own grid and they ask to settle it on the spot. Without a point (the phone
    could not locate) an address does: the appeal is placed in the worker's own community
    for the community to locate. A point across the boundary goes to that grid, whose
    community registers it: the worker is told where it went and its tracking code."""
    _need(request, caps.APPEAL_INTAKE)
    district = f.district_for(request.user)
    status = 200
    if request.method == "POST":
        form = f.GridReportForm(request.POST, request.FILES, district=district)
        if form.is_valid():
            d = form.cleaned_data
            try:
                with transaction.atomic():
                    reporter = _reporter(request, d)
                    # A resent form (a double tap, a retry on a poor network) is one case.
                    appeal = _intake_once(
                        request,
                        f"grid:u{request.user.pk}",
                        d,
                        actor=request.user,
                        reporter=reporter,
                        channel=d["channel"] or Channel.GRID_PATROL,
                        priority=d["priority"] or None,
                        reporter_name=d["reporter_name"],
                        photos=d["photos"],
                        region=request.user.scope_region,
                    )
                    replayed = getattr(appeal, "replayed", False)
                    if not replayed and appeal.grid_id is None and not d["address"]:
                        raise ValidationFailed(
                            _("该位置不在任何网格内，请到网格范围内上报或联系社区"),
                            field="latitude",
                        )
                    own = in_scope(request.user, appeal.region_path)
                    took = False
                    if own and not replayed:
                        svc.appeal_register(actor=request.user, appeal=appeal)
                        took = d["handle_myself"] and _owns_grid(request.user, appeal)
                    if took:
                        svc.appeal_dispatch(actor=request.user, appeal=appeal, grid=appeal.grid)
                        svc.appeal_accept(actor=request.user, appeal=appeal)
            except DomainError as exc:
                status = _add_domain_error(form, exc)
            else:
                names = {
                    "grid": appeal.grid.name if appeal.grid_id else "",
                    "community": appeal.region.name,
                    "code": appeal.tracking_code,
                }
                if replayed:
                    messages.info(request, _("该事件已上报，未重复登记；查询码 %(code)s") % names)
                    if own:
                        return redirect("appeals:detail", pk=appeal.pk)
                    return redirect("appeals:grid_report")
                if not own:
                    messages.success(
                        request,
                        _("已上报至%(community)s（%(grid)s），由该社区立案办理；查询码 %(code)s")
                        % names,
                    )
                    return redirect("appeals:grid_report")
                if took:
                    text = _("已上报并由您签收（%(grid)s），处置后请填写结果") % names
                elif appeal.grid_id:
                    text = _("已上报并立案，所属网格：%(grid)s（%(community)s）") % names
                else:
                    text = _("已上报并立案（%(community)s），网格待社区按地址确定") % names
                messages.success(request, text)
                if d["handle_myself"] and not took:
                    messages.info(
                        request,
                        _("该事件不在您负责的网格，已交社区派遣")
                        if appeal.grid_id
                        else _("未定位到网格，不能就地签收；已交社区按地址派遣"),
                    )
                return redirect("appeals:detail", pk=appeal.pk)
        else:
            status = 400
    else:
        form = f.GridReportForm(district=district)
    return render(
        request,
        "appeals/grid_report.html",
        {"form": form, "idempotency_key": form_key(request, "idempotency_key")},
        status=status,
    )


def _owns_grid(user: Any, appeal: Appeal) -> bool:
    return appeal.grid_id is not None and appeal.grid.owner_id == user.pk


@login_required
def my_tasks(request: HttpRequest) -> HttpResponse:
    """我的任务: open cases assigned to me, in my grid, or (department) to my department."""
    _need(request, caps.APPEAL_VIEW)
    user = request.user
    qs = sel.appeal_list(actor=user, open_only=True)
    if not svc.is_department_user(user):
        # Mine, my grid's, and those sent to my community/street that nobody has accepted yet.
        qs = qs.filter(
            Q(assigned_user=user)
            | Q(grid__owner=user)
            | Q(assigned_region_id=user.scope_region_id, assigned_user=None)
        )
    page = keyset_page(qs, cursor=request.GET.get("cursor") or None, size=PAGE_SIZE)
    return render(
        request,
        "appeals/my_tasks.html",
        {"page": page, "rows": _rows(page.items), "query": _query(request)},
    )


# ---------------------------------------------------------------- operator: hotline


@login_required
def hotline(request: HttpRequest) -> HttpResponse:
    """热线受理: intake, optionally register (立案) and dispatch, in one submission."""
    _need(request, caps.APPEAL_INTAKE)
    status = 200
    if request.method == "POST":
        form = f.HotlineForm(request.POST, user=request.user)
        if form.is_valid():
            d = form.cleaned_data
            try:
                with transaction.atomic():
                    target = f.resolve_target(d["target"], request.user) if d["target"] else None
                    reporter = _reporter(request, d)
                    # A resent form (a double click, a retry) is one case, registered and
                    # dispatched once.
                    appeal = _intake_once(
                        request,
                        f"hotline:u{request.user.pk}",
                        d,
                        actor=request.user,
                        reporter=reporter,
                        channel=d["channel"] or Channel.HOTLINE,
                        priority=d["priority"] or None,
                        region=d["region"],
                        reporter_name=d["reporter_name"],
                    )
                    replayed = getattr(appeal, "replayed", False)
                    if d["register"] and not replayed:
                        svc.appeal_register(actor=request.user, appeal=appeal)
                    if target and not replayed:
                        svc.appeal_dispatch(actor=request.user, appeal=appeal, **target)
            except DomainError as exc:
                status = _add_domain_error(form, exc)
            else:
                text = (
                    _("该来电已受理，未重复登记：%(code)s，状态：%(status)s")
                    if replayed
                    else _("已受理：%(code)s，状态：%(status)s")
                )
                appeal.refresh_from_db()
                messages.success(
                    request,
                    text % {"code": appeal.tracking_code, "status": appeal.get_status_display()},
                )
                return redirect(reverse("appeals:hotline") + f"?last={appeal.pk}")
        else:
            status = 400
    else:
        form = f.HotlineForm(user=request.user)
    last = None
    if request.GET.get("last"):
        try:
            last = sel.appeal_get(actor=request.user, appeal_id=request.GET["last"])
        except NotFound:
            last = None
    return render(
        request,
        "appeals/hotline.html",
        {"form": form, "last": last, "idempotency_key": form_key(request, "idempotency_key")},
        status=status,
    )


@login_required
@require_POST
def hotline_duplicates(request: HttpRequest) -> HttpResponse:
    """htmx partial: open appeals of the same category near the point in the last 48 h.
    Posted: the description may hold the caller's numbers, never to stand in an address."""
    _need(request, caps.APPEAL_INTAKE)
    g = request.POST
    candidates: list[Appeal] = []
    hint = ""
    category = None
    if (category_pk := valid_pk(g.get("category"))) is not None:
        category = f.Category.objects.filter(
            pk=category_pk, district=f.district_for(request.user)
        ).first()
    # A live hint panel: a coordinate that is no usable number (nan, inf, out of range) counts
    # as not given yet; on submit the form (nan, inf) or the intake (range) refuses it.
    lat = _coordinate(g.get("latitude"), 90)
    lng = _coordinate(g.get("longitude"), 180)
    region = None
    if (region_pk := valid_pk(g.get("region"))) is not None:
        region = Region.objects.filter(pk=region_pk).first()
    if category is None:
        hint = _("选择分类后自动查重")
    elif (lat is not None and lng is not None) or region is not None:
        # Around the point, or (an address only) in the chosen community.
        candidates = sel.visible_among(
            request.user,
            appeal_duplicate_candidates(
                category=category,
                latitude=lat,
                longitude=lng,
                description=g.get("description", ""),
                at=timezone.now(),
                region_path=region.path if region is not None else None,
            ),
        )
    else:
        hint = _("选择社区或填写坐标后自动查重（同类、48 小时内）")
    return render(
        request,
        "appeals/_duplicates.html",
        {"candidates": candidates, "hint": hint, "oob": True},
    )


CALLER_HISTORY_SIZE = 10


@login_required
@require_POST
def hotline_caller(request: HttpRequest) -> HttpResponse:
    """htmx partial 来电历史: the newest appeals from the number typed in the hotline form
    (``reporter_phone``, any spelling) that the operator may open, and how many are still
    open. Posted, so the number stays out of addresses and access logs; nothing is looked up
    until it is complete, and it is never shown. Each search is one ``svc.phone_search``:
    intake staff only, limited and logged."""
    _need(request, caps.APPEAL_TRIAGE)
    phone = request.POST.get("reporter_phone", "")
    if svc.phone_searched(phone) is None:
        hint = _("输入完整电话号码后显示来电历史")
        return render(request, "appeals/_caller_history.html", {"hint": hint})
    try:
        svc.phone_search(actor=request.user, phone=phone, purpose=_("热线来电历史"))
    except DomainError as exc:  # over the hourly limit: said in the panel
        return render(request, "appeals/_caller_history.html", {"hint": exc.message})
    history = sel.caller_history(actor=request.user, phone=phone, limit=CALLER_HISTORY_SIZE)
    return render(
        request,
        "appeals/_caller_history.html",
        {
            "rows": _rows(history.rows),
            "open_count": history.open_count,
            "more": history.more,
            "limit": CALLER_HISTORY_SIZE,
        },
    )


# ---------------------------------------------------------------- work queue


# The queue's search by phone: the number is posted and kept in the session, the address
# carries a token for it (pages, filters and the language switch keep the token, never the
# number). A session keeps its last few searches.
PHONE_SEARCHES = "queue_phone_searches"
PHONE_SEARCHES_KEPT = 10
PHONE_NOT_IN_ADDRESS = gettext_lazy("按电话查询请在页面上输入号码后提交（号码不放在网址中）")
PHONE_SEARCH_GONE = gettext_lazy("这次按电话查询已失效，请重新输入号码")


def _kept(request: HttpRequest, number: str) -> str:
    """Keep ``number`` in the session as a new search; its token."""
    token = secrets.token_urlsafe(8)
    kept = list(request.session.get(PHONE_SEARCHES, {}).items())[-(PHONE_SEARCHES_KEPT - 1) :]
    request.session[PHONE_SEARCHES] = {**dict(kept), token: number}
    return token


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """Dispatchers' and handlers' work queue: filters, deadline colours, keyset pages."""
    _need(request, caps.APPEAL_VIEW)
    district = f.district_for(request.user)
    by_phone = caps.has_cap(request.user, caps.APPEAL_TRIAGE)
    if request.method == "POST" or "reporter_phone" in request.GET:
        if not by_phone:
            # A department sending a number is refused, not shown its whole queue.
            raise PermissionDenied(_("只有受理人员可以按电话查询"))
        if request.method != "POST":
            raise ValidationFailed(PHONE_NOT_IN_ADDRESS, field="reporter_phone")
    phone_form = f.PhoneSearchForm(request.POST or None) if by_phone else None
    status = 200
    if request.method == "POST":
        if phone_form.is_valid():
            number = svc.phone_search(
                actor=request.user,
                phone=phone_form.cleaned_data["reporter_phone"],
                purpose=_("按电话查询诉求"),
            )
            query = urlencode({"phone": _kept(request, number)})
            return redirect(reverse("appeals:queue") + "?" + query)
        status = 400  # the page again, the number as typed and what is wrong with it
    filters_form = f.QueueFilterForm(request.GET or None, district=district)
    filters = filters_form.filters()
    if filters_form.errors:
        status = 400  # the list under the valid filters, the invalid one marked
    token = request.GET.get("phone", "") if by_phone else ""
    searched = request.session.get(PHONE_SEARCHES, {}).get(token) if token else None
    if token and searched is None:
        raise ValidationFailed(PHONE_SEARCH_GONE, field="reporter_phone")
    if searched:
        filters["reporter_phone"] = searched
    page = sel.appeal_page(
        actor=request.user,
        cursor=request.GET.get("cursor") or None,
        size=PAGE_SIZE,
        **filters,
    )
    can_dispatch = caps.has_cap(request.user, caps.APPEAL_DISPATCH)
    retry = request.session.pop("bulk_retry", None) or {}
    return render(
        request,
        "appeals/queue.html",
        {
            "filters": filters_form,
            "phone_form": phone_form,
            "phone_token": token if searched else "",
            "searched_phone": mask_phone(searched or ""),
            "page": page,
            "rows": _rows(page.items),
            "query": _query(request),
            "can_dispatch": can_dispatch,
            "bulk_form": (
                f.BulkDispatchForm(
                    user=request.user,
                    initial={"target": retry.get("target"), "note": retry.get("note")},
                )
                if can_dispatch
                else None
            ),
            "ticked": set(retry.get("ids", ())),
            "results": request.session.pop("bulk_results", None),
        },
        status=status,
    )


@login_required
@require_POST
def bulk_dispatch(request: HttpRequest) -> HttpResponse:
    """Dispatch each selected case to one unit; a failing row does not undo the others. A
    case not yet registered (已受理) is registered (立案) and dispatched in one step."""
    _need(request, caps.APPEAL_DISPATCH)
    form = f.BulkDispatchForm(request.POST, user=request.user)
    back = reverse("appeals:queue") + (
        "?" + request.POST["next_query"] if request.POST.get("next_query") else ""
    )
    # Refused, the queue comes back with the boxes still ticked and the note as typed.
    retry = {
        "ids": [pk for pk in map(valid_pk, request.POST.getlist("ids")) if pk is not None],
        "target": request.POST.get("target", ""),
        "note": request.POST.get("note", "")[:500],
    }
    if not form.is_valid():
        request.session["bulk_retry"] = retry
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            for error in errors:
                messages.error(
                    request,
                    _("%(field)s：%(error)s") % {"field": label, "error": error}
                    if label
                    else error,
                )
        return redirect(back)
    try:
        target = f.resolve_target(form.cleaned_data["target"], request.user)
    except ValidationFailed as exc:
        request.session["bulk_retry"] = retry
        messages.error(request, str(exc.message))
        return redirect(back)
    results = []
    for pk in form.cleaned_data["ids"]:
        try:
            with transaction.atomic():
                if Appeal.objects.filter(pk=pk, status=Status.RECEIVED).exists():
                    svc.appeal_register(actor=request.user, appeal=pk)
                appeal = svc.appeal_dispatch(
                    actor=request.user, appeal=pk, note=form.cleaned_data["note"], **target
                )
        except DomainError as exc:
            code = Appeal.objects.filter(pk=pk).values_list("tracking_code", flat=True).first()
            results.append({"ok": False, "id": pk, "code": code or pk, "message": str(exc.message)})
        else:
            results.append({"ok": True, "id": pk, "code": appeal.tracking_code, "message": ""})
    done = sum(r["ok"] for r in results)
    messages.success(
        request,
        _("批量派遣：成功 %(ok)s 件，失败 %(bad)s 件") % {"ok": done, "bad": len(results) - done},
    )
    request.session["bulk_results"] = [r for r in results if not r["ok"]]
    return redirect(back)


# ---------------------------------------------------------------- detail and actions


def _available_actions(user: Any, appeal: Appeal) -> list[str]:
    """The action forms the page offers, in the page's order: the actions of
    ``selectors.appeal_available_actions`` (the same list the API gives; the services check
    again and have the last word). A whistled department's 报到 is the accept form; merging
    has a panel of its own."""
    offered = {
        "accept" if action == Action.REPORT else action
        for action in sel.appeal_available_actions(actor=user, appeal=appeal)
    }
    return [key for key in ACTION_FORMS if key in offered]


ACTION_FORMS: dict[str, tuple[str, Any]] = {
    "register": (gettext_lazy("立案"), f.RegisterForm),
    "dispatch": (gettext_lazy("派遣"), f.DispatchForm),
    "accept": (gettext_lazy("签收 / 部门报到"), f.NoteForm),
    "handle": (gettext_lazy("处置"), f.HandleForm),
    "return": (gettext_lazy("退单"), f.ReasonForm),
    "extend_request": (gettext_lazy("申请延期"), f.ExtendRequestForm),
    "extend_decide": (gettext_lazy("延期审批"), f.ExtendDecideForm),
    "supervise": (pgettext_lazy("action", "督办"), f.SuperviseForm),
    "escalate": (gettext_lazy("上报"), f.ReasonForm),
    "whistle": (gettext_lazy("吹哨"), f.WhistleForm),
    "verify": (gettext_lazy("回访"), f.VerifyForm),
    "close": (gettext_lazy("结案"), f.CloseForm),
    "reopen": (gettext_lazy("返工"), f.ReasonForm),
    "reject": (pgettext_lazy("action", "不予受理"), f.ReasonForm),
    "withdraw": (gettext_lazy("撤回"), f.WithdrawForm),
}


FORWARD_ACTIONS = ("register", "dispatch", "accept", "handle", "verify", "close", "extend_decide")


def _form_for(action: str, user: Any, appeal: Appeal, data: Any = None, files: Any = None) -> Any:
    cls = ACTION_FORMS[action][1]
    kwargs: dict[str, Any] = {"prefix": action}
    if cls in (f.RegisterForm, f.WhistleForm):
        kwargs["district"] = appeal.district
    if cls is f.DispatchForm:
        kwargs["user"] = user
    if data is not None:
        return cls(data, files, **kwargs)
    return cls(**kwargs)


def _perform(action: str, user: Any, appeal: Appeal, d: dict[str, Any]) -> Appeal:
    a = {"actor": user, "appeal": appeal.pk}
    if action == "register":
        return svc.appeal_register(
            **a, category=d["category"], priority=d["priority"] or None, note=d["note"]
        )
    if action == "dispatch":
        return svc.appeal_dispatch(**a, note=d["note"], **f.resolve_target(d["target"], user))
    if action == "accept":
        return svc.appeal_accept(**a, note=d["note"])
    if action == "handle":
        return svc.appeal_handle(**a, result=d["result"], photos=d["photos"])
    if action == "return":
        return svc.appeal_return(**a, reason=d["reason"])
    if action == "extend_request":
        return svc.appeal_extend_request(**a, working_days=d["working_days"], reason=d["reason"])
    if action == "extend_decide":
        return svc.appeal_extend_decide(**a, approve=d["approve"], note=d["note"])
    if action == "supervise":
        return svc.appeal_supervise(**a, note=d["note"])
    if action == "escalate":
        return svc.appeal_escalate(**a, reason=d["reason"])
    if action == "whistle":
        return svc.appeal_whistle(**a, departments=d["departments"], note=d["note"])
    if action == "verify":
        return svc.appeal_verify(
            **a, rating=d["rating"], resolved=d["resolved"], comment=d["comment"]
        )
    if action == "close":
        return svc.appeal_close(**a, note=d["note"])
    if action == "reopen":
        return svc.appeal_reopen(**a, reason=d["reason"])
    if action == "reject":
        return svc.appeal_reject(**a, reason=d["reason"])
    if action == "withdraw":
        return svc.appeal_withdraw(**a, reason=d["note"])
    raise NotFound(_("页面不存在"))


def _reporter_record_link(user: Any, appeal: Appeal) -> int | None:
    """The reporter's resident record id, when the user may open that record."""
    if appeal.reporter_id is None or not caps.has_cap(user, caps.VIEW_REGISTRY):
        return None
    return appeal.reporter_id if in_scope(user, appeal.reporter.region_path) else None


def _visible_primaries(user: Any, appeal: Appeal, timeline: list[AppealEvent]) -> set[int]:
    """Of the cases this one was merged into (its merge events, its ``duplicate_of``), those
    the user may open: one query, none when it was never merged."""
    into = {e.data["into"] for e in timeline if isinstance((e.data or {}).get("into"), int)}
    if appeal.duplicate_of_id:
        into.add(appeal.duplicate_of_id)
    if not into:
        return set()
    return sel.visible_ids(user, into)


def _detail_page(
    request: HttpRequest,
    appeal: Appeal,
    *,
    bound: tuple[str, Any] | None = None,
    revealed: dict[str, str] | None = None,
    reveal_form: Any = None,
    merge_form: Any = None,
    status: int = 200,
    texts: ShownTexts | None = None,
) -> HttpResponse:
    user = request.user
    available = _available_actions(user, appeal)
    action_forms = []
    for name in available:
        form = bound[1] if bound and bound[0] == name else _form_for(name, user, appeal)
        action_forms.append({"name": name, "label": ACTION_FORMS[name][0], "form": form})
    # Open the panel the user just submitted, else the first step forward (never a refusal).
    opened = next((a for a in action_forms if a["form"].is_bound), None) or next(
        (a for a in action_forms if a["name"] in FORWARD_ACTIONS), None
    )
    if opened is not None:
        opened["open"] = True
    if bound and bound[0] not in available and bound[0] in ACTION_FORMS:
        # The state changed under the user: still show what they typed and why it failed.
        action_forms.insert(
            0,
            {"name": bound[0], "label": ACTION_FORMS[bound[0]][0], "form": bound[1], "open": True},
        )
    candidates: list[Appeal] = []
    can_merge = caps.has_cap(user, caps.APPEAL_DISPATCH) and appeal.status not in FINAL_STATUSES
    if appeal.status not in FINAL_STATUSES:
        candidates = sel.visible_among(
            user,
            duplicates_of(appeal),
        )
    texts = texts or _shown_texts(user, appeal)
    timeline = texts.timeline
    visible = _visible_primaries(user, appeal, timeline)
    for e in timeline:
        e.detail = _event_detail(e, visible)
    pii_fields = _pii_fields(appeal, texts)
    return render(
        request,
        "appeals/detail.html",
        {
            "appeal": appeal,
            "colour": deadline_colour(appeal),
            "timeline": timeline,
            "photos": list(appeal.photos.all()),
            "whistles": list(appeal.whistles.select_related("department")),
            "extensions": texts.extensions,
            "merged": list(appeal.duplicates.only("pk", "tracking_code", "status", "rating")[:100]),
            "primary_visible": appeal.duplicate_of_id in visible,
            "reporter_name": mask_name(appeal.reporter_name),
            "reporter_phone": mask_phone(appeal.reporter_phone),
            "reporter_record": _reporter_record_link(user, appeal),
            "revealed": revealed,
            "can_reveal": caps.has_cap(user, caps.REVEAL_PII) and bool(pii_fields),
            # The reveal shows numbers in the text too: the form says so.
            "reveals_text": any(n not in Appeal.PII_FIELDS for n in pii_fields),
            "reveal_form": reveal_form or f.RevealForm(),
            "action_forms": action_forms,
            "candidates": candidates,
            # A merge that failed is shown with its error and note even when no candidate
            # is left (merged meanwhile by someone else).
            "can_merge": can_merge and (bool(candidates) or merge_form is not None),
            "merge_form": merge_form or f.MergeForm(candidates=candidates),
        },
        status=status,
    )


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    appeal = sel.appeal_get(actor=request.user, appeal_id=pk)
    return _detail_page(request, appeal)


@login_required
@require_POST
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One action form of the detail page → one service."""
    if action not in ACTION_FORMS:
        raise NotFound(_("页面不存在"))
    appeal = sel.appeal_get(actor=request.user, appeal_id=pk)
    form = _form_for(action, request.user, appeal, request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            _perform(action, request.user, appeal, form.cleaned_data)
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            status = _add_domain_error(form, exc)
        else:
            messages.success(request, _("已完成：%(a)s") % {"a": ACTION_FORMS[action][0]})
            back = request.POST.get("next", "")
            if back and url_has_allowed_host_and_scheme(
                back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                return redirect(back)
            if not sel.visible_ids(request.user, [appeal.pk]):
                # A department's 退单 (or a decline) leaves it out of the case: to its queue.
                return redirect("appeals:queue")
            return redirect("appeals:detail", pk=appeal.pk)
    appeal = sel.appeal_get(actor=request.user, appeal_id=pk)
    return _detail_page(request, appeal, bound=(action, form), status=status)


@login_required
@require_POST
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    """合并: fold the chosen duplicate candidates into this case."""
    _need(request, caps.APPEAL_DISPATCH)
    appeal = sel.appeal_get(actor=request.user, appeal_id=pk)
    candidates = sel.visible_among(
        request.user,
        duplicates_of(appeal),
    )
    form = f.MergeForm(request.POST, candidates=candidates)
    status = 400
    if form.is_valid():
        try:
            svc.appeal_merge(
                actor=request.user,
                appeal=appeal.pk,
                duplicates=form.cleaned_data["duplicates"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            status = _add_domain_error(form, exc)
        else:
            merged = len(form.cleaned_data["duplicates"])
            messages.success(
                request,
                ngettext("已合并 %(n)s 件重复诉求", "已合并 %(n)s 件重复诉求", merged)
                % {"n": merged},
            )
            return redirect("appeals:detail", pk=appeal.pk)
    return _detail_page(request, appeal, merge_form=form, status=status)


class ShownTexts(NamedTuple):
    """The texts of the detail page besides the appeal's own: read once for the page and,
    on a reveal, for its log row."""

    timeline: list[Any]
    extensions: list[Any]


def _shown_texts(user: Any, appeal: Appeal) -> ShownTexts:
    return ShownTexts(
        sel.appeal_timeline(actor=user, appeal=appeal),
        list(appeal.extensions.order_by("-pk")[:5]),
    )


def _holds_number(text: str) -> bool:
    return mask_text(text) != text


def _pii_fields(appeal: Appeal, texts: ShownTexts) -> list[str]:
    """What a reveal shows in clear, as its log row names it: the reporter's fields, and
    each text on the page that holds a number masked there (the appeal's own, the history
    notes, the extension reasons)."""
    fields = [n for n in Appeal.PII_FIELDS if getattr(appeal, n)]
    fields += [n for n in Appeal.PII_TEXT_FIELDS if _holds_number(getattr(appeal, n))]
    if any(_holds_number(e.note) for e in texts.timeline):
        fields.append("history_notes")
    if any(_holds_number(x.reason) for x in texts.extensions):
        fields.append("extension_reasons")
    return fields


@login_required
@require_POST
def reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """查看反映人完整信息: needs the capability and a reason; logged (PiiAccessLog)."""
    appeal = sel.appeal_get(actor=request.user, appeal_id=pk)
    form = f.RevealForm(request.POST)
    if form.is_valid():
        texts = _shown_texts(request.user, appeal)
        try:
            revealed = pii_reveal(
                actor=request.user,
                subject=appeal,
                fields=_pii_fields(appeal, texts),
                reason=form.cleaned_data["reason"],
                region_path=appeal.region_path,
            )
        except ValidationFailed as exc:
            return _detail_page(
                request, appeal, reveal_form=form, status=_add_domain_error(form, exc)
            )
        return _detail_page(request, appeal, revealed=revealed, texts=texts)
    return _detail_page(request, appeal, reveal_form=form, status=400)


# ---------------------------------------------------------------- supervision, stats, inbox


@login_required
def supervision(request: HttpRequest) -> HttpResponse:
    """督办: overdue and amber open cases (oldest deadline first), or those already supervised."""
    _need(request, caps.APPEAL_SUPERVISE)
    show = request.GET.get("show") or "due"
    now = timezone.now()
    if show == "supervised":
        qs = sel.appeal_list(actor=request.user, open_only=True).filter(supervision_count__gt=0)
    else:
        qs = sel.supervision_queue(actor=request.user, now=now)
        if show == "red":
            qs = qs.filter(deadline__lt=now)
        elif show == "amber":
            qs = qs.filter(deadline__gte=now)
    cursor = request.GET.get("cursor") or None
    if show == "supervised":
        page = keyset_page(qs, cursor=cursor, size=PAGE_SIZE)
    else:  # the most urgent deadline first, as the queue promises
        page = keyset_page_by_time(qs, "deadline", cursor=cursor, size=PAGE_SIZE)
    return render(
        request,
        "appeals/supervision.html",
        {
            "page": page,
            "rows": _rows(page.items),
            "query": _query(request),
            "show": show,
            "form": f.SuperviseForm(prefix="supervise"),
        },
    )


RATE_COLUMNS = [
    ("response_rate", gettext_lazy("响应率")),
    ("resolution_rate", gettext_lazy("解决率")),
    ("satisfaction_rate", gettext_lazy("满意率")),
    ("on_time_rate", gettext_lazy("按期办结率")),
    ("closure_rate", gettext_lazy("办结率")),
    ("rework_rate", gettext_lazy("返工率")),
]


@login_required
def stats(request: HttpRequest) -> HttpResponse:
    """三率统计: the rates with their formulas, by region / department / category / month, for
    a current or previous period or the days of a custom range, in all the user's
    jurisdiction or one street or community of it. Bad conditions name their field (400)
    and no figures are shown; the formulas are."""
    _need(request, caps.APPEAL_VIEW)
    # Always bound: conditions not sent take the form's defaults (this month, by region).
    form = f.StatsFilterForm(request.GET, user=request.user)
    context: dict[str, Any] = {
        "form": form,
        "columns": [label for _key, label in RATE_COLUMNS],
    }
    if not form.is_valid():
        district = f.district_for(request.user)
        settings_row = svc.rate_settings_for(district) if district else RateSettings()
        context["formulas"] = list(sel.formulas(settings_row).items())
        return render(request, "appeals/stats.html", context, status=400)
    d = form.cleaned_data
    bounds = d.get("bounds") or (None, None)
    region = d.get("region")
    data = sel.appeal_stats(
        actor=request.user,
        group_by=d["group_by"],
        period=d["period"] if d["period"] != "custom" else None,
        start=bounds[0],
        end=bounds[1],
        region_path=region.path if region is not None else None,
    )

    def cells(row: Any) -> list[Any]:
        return [getattr(row, key) for key, _label in RATE_COLUMNS]

    total = data["total"]
    context.update(
        {
            "rows": [{"row": r, "cells": cells(r)} for r in data["rows"]],
            "total": total,
            "total_cells": cells(total),
            "formulas": list(data["formulas"].items()),
            "region": region,
            # The first column is headed with what its rows are (辖区, 部门, …).
            "group_heading": f.StatsFilterForm.GROUP_HEADINGS[d["group_by"]],
            "start": data["start"],
            # The last moment counted (the end itself is not).
            "last": data["end"] - dt.timedelta(seconds=1),
        }
    )
    return render(request, "appeals/stats.html", context)


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """站内通知."""
    unread = request.GET.get("unread") == "1"
    qs = sel.inbox(actor=request.user, unread_only=unread)
    page = keyset_page(qs, cursor=request.GET.get("cursor") or None, size=PAGE_SIZE)
    return render(
        request,
        "appeals/inbox.html",
        {
            "page": page,
            "rows": page.items,
            "query": _query(request),
            "unread": unread,
            # Staff open a case's page; a resident (party member, partner unit) follows their
            # own report on its tracking page.
            "staff": caps.has_cap(request.user, caps.APPEAL_VIEW),
        },
    )


@login_required
@require_POST
def inbox_read(request: HttpRequest) -> HttpResponse:
    """Mark the user's own notifications read (the chosen ones, or all)."""
    qs = Notification.objects.filter(user=request.user, read_at=None)
    if request.POST.get("all") != "1":
        ids = [pk for pk in map(valid_pk, request.POST.getlist("ids")) if pk is not None]
        qs = qs.filter(pk__in=ids)
    count = qs.update(read_at=timezone.now())
    messages.success(
        request, ngettext("已标记 %(n)s 条为已读", "已标记 %(n)s 条为已读", count) % {"n": count}
    )
    return redirect("appeals:inbox")
