"""JSON API for appeals at /api/v1/appeals/: intake, list, detail, one POST per action,
rates, and a public self-service part (no account: tracking code, rate-limited per client IP)
under /public/, and the user's in-app inbox.

Handlers are thin: parse, call one service or selector, shape the answer. Personal data
of reporters is masked in every response, and so are phone and ID-card numbers typed
into free text (description, result). Tracking codes, the reporters' credential on the public
part, are shown to intake staff only (``shows_codes``), and to whoever files a case.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, UploadedFile
from ninja.responses import NinjaJSONEncoder
from ninja.responses import Status as HttpStatus
from ninja.security import SessionAuth
from pydantic import ConfigDict

from gridgov.accounts import capabilities as caps
from gridgov.accounts.api_auth import api_auth
from gridgov.appeals import selectors as sel
from gridgov.appeals import services as svc
from gridgov.appeals.attributes import well_formed
from gridgov.appeals.deadlines import deadline_colour
from gridgov.appeals.models import Action, Appeal, AppealEvent, Category, Channel, Status
from gridgov.core.db import valid_pk
from gridgov.core.errors import DomainError, NotFound, ValidationFailed
from gridgov.core.idempotency import idempotency_key
from gridgov.core.pagination import keyset_page
from gridgov.core.pii import mask_name, mask_phone, mask_text
from gridgov.core.ratelimit import enforce_rate
from gridgov.territory.models import Department, Grid, Region

router = Router(auth=api_auth, tags=["诉求 appeals"])

MASKED_TEXT = "其中的电话、身份证号已脱敏"
# The tracking code is the reporter's credential on the public endpoints: intake staff read it
# to the caller, nobody else needs it.
CODE_SHOWN = (
    "查询码（反映人凭码查询、评价、撤回）：仅对有受理权限（appeal_triage）的人员显示，"
    "其他人（部门、API 客户端等）为空"
)


# ---------------------------------------------------------------- schemas


class Ref(Schema):
    id: int
    name: str


class AppealOut(Schema):
    id: int
    tracking_code: str | None = Field(description=CODE_SHOWN)
    status: str
    status_label: str
    channel: str
    priority: str
    category: Ref
    description: str = Field(description=MASKED_TEXT)
    address: str
    latitude: float | None
    longitude: float | None
    region: Ref
    grid: Ref | None
    reporter_name: str = Field(description="已脱敏")
    reporter_phone: str = Field(description="已脱敏")
    deadline: dt.datetime | None
    colour: str = Field(description="green / amber / red；无时限或已办结为空")
    assigned_level: str
    assigned_department: Ref | None
    assigned_user: str | None
    duplicate_of: int | None
    reopened_count: int
    returned_count: int
    supervision_count: int
    rating: str
    resolved: bool | None
    created_at: dt.datetime
    closed_at: dt.datetime | None


class EventOut(Schema):
    action: str
    action_label: str
    from_status: str
    to_status: str
    actor: str | None
    note: str
    data: dict[str, Any] = Field(
        description="步骤的数据；另一诉求的查询码（如合并的 into_code）仅当您能查看该诉求"
        "且有受理权限时给出"
    )
    at: dt.datetime


class PhotoOut(Schema):
    id: int
    stage: str
    url: str
    content_type: str
    size: int


class AppealDetailOut(AppealOut):
    result: str = Field(description=MASKED_TEXT)
    timeline: list[EventOut]
    duplicates: list[int]
    photos: list[PhotoOut]


class AppealPageOut(Schema):
    items: list[AppealOut]
    next_cursor: str | None


class IntakeIn(Schema):
    channel: str = Channel.API
    category_id: int
    description: str = Field(max_length=2000)
    priority: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    address: str = ""
    region_id: int | None = None
    reporter_name: str = ""
    reporter_phone: str = ""
    reporter_id: int | None = Field(None, description="反映人的居民档案 id（须在本人管辖范围内）")


class IntakeOut(AppealOut):
    tracking_code: str = Field(description="新诉求的查询码：总是告知受理它的人")  # type: ignore[assignment]
    duplicate_candidates: list[int]


class PublicIntakeIn(Schema):
    category_id: int
    description: str = Field(max_length=2000)
    latitude: float | None = None
    longitude: float | None = None
    address: str = ""
    reporter_name: str = ""
    reporter_phone: str = ""


class PublicEventOut(Schema):
    action: str
    action_label: str
    at: dt.datetime


class PublicAppealOut(Schema):
    tracking_code: str
    status: str
    status_label: str
    category: str
    description: str = Field(description=MASKED_TEXT)
    created_at: dt.datetime
    deadline: dt.datetime | None
    closed_at: dt.datetime | None
    result: str = Field(description=MASKED_TEXT)
    rating: str
    merged: bool = Field(description="已与同一问题的其他反映合并办理；显示合并后的进度")
    can_rate: bool
    can_withdraw: bool
    timeline: list[PublicEventOut]


class NoteIn(Schema):
    note: str = ""


class ReasonIn(Schema):
    reason: str


class RegisterIn(Schema):
    category_id: int | None = None
    priority: str | None = None
    region_id: int | None = None
    grid_id: int | None = None
    note: str = ""


class DispatchIn(Schema):
    grid_id: int | None = None
    region_id: int | None = None
    department_id: int | None = None
    note: str = ""


class HandleIn(Schema):
    result: str


class VerifyIn(Schema):
    rating: str
    resolved: bool
    comment: str = ""


class ReporterProofIn(Schema):
    reporter_phone: str | None = Field(
        None,
        description="反映时留下的联系电话：诉求留有号码时，凭查询码评价、返工、撤回须一并提供"
        "（承办人员也看得到查询码）；以反映人本人账号登录时不需要。",
    )


class PublicVerifyIn(VerifyIn, ReporterProofIn):
    pass


class PublicReasonIn(ReasonIn, ReporterProofIn):
    pass


class PublicNoteIn(NoteIn, ReporterProofIn):
    pass


class ExtendRequestIn(Schema):
    working_days: int
    reason: str


class ExtendDecideIn(Schema):
    approve: bool
    note: str = ""


class SuperviseIn(Schema):
    note: str


class WhistleIn(Schema):
    department_ids: list[int]
    note: str = ""


class MergeIn(Schema):
    duplicate_ids: list[int]
    note: str = ""


class ListFilters(Schema):
    cursor: str | None = None
    page_size: int = 50
    status: str | None = None
    category_id: int | None = None
    priority: str | None = None
    colour: str | None = None
    channel: str | None = None
    reporter_phone: str | None = Field(
        None,
        description="反映人电话：完整号码（7 至 20 位数字），空格、横线、+86 写法均可；"
        "不完整的号码为 400。仅限受理人员（否则 403），每人每小时有限次（429），每次查询"
        "记入个人信息查看记录",
    )


class CandidateOut(Schema):
    id: int
    tracking_code: str | None = Field(description=CODE_SHOWN)
    description: str = Field(description=MASKED_TEXT)
    distance_m: float | None = Field(None, description="距离（米）；无坐标时按所属社区查重，为空")
    similarity: float
    created_at: dt.datetime


class RateRowOut(Schema):
    key: str | None
    label: str
    received: int
    valid: int
    closed: int
    overdue_open: int = Field(description="已超过办理时限仍未办结的件数")
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    on_time_rate: float | None
    closure_rate: float | None
    rework_rate: float | None
    median_hours: float | None
    score: float | None


class StatsFilters(Schema):
    group_by: str = Field("none", description="none / region / department / category / month")
    period: (
        Literal[
            "today",
            "yesterday",
            "week",
            "last_week",
            "month",
            "last_month",
            "quarter",
            "last_quarter",
            "year",
            "last_year",
            "custom",
        ]
        | None
    ) = Field(
        None,
        description="本期（today/week/month/quarter/year，截至现在）或上一整期（yesterday/"
        "last_week/last_month/last_quarter/last_year）；custom 或不填而给出 start、end："
        "按起止日期；都不填：month",
    )
    start: dt.date | None = Field(None, description="自定义时段的开始日期（含），与 end 同用")
    end: dt.date | None = Field(
        None, description="自定义时段的结束日期（含当日），不早于 start，最长 3 年"
    )
    region_id: int | None = Field(None, description="只统计本人管辖范围内的这一街道或社区")


class StatsOut(Schema):
    period: str = Field(description="所用的统计周期；按起止日期为 custom")
    start: dt.datetime
    end: dt.datetime = Field(description="不含")
    total: RateRowOut
    rows: list[RateRowOut]
    formulas: dict[str, str]


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    parent_id: int | None
    default_priority: str
    extra_fields: list[dict[str, Any]]

    @staticmethod
    def resolve_extra_fields(obj: Category) -> list[dict[str, Any]]:
        return well_formed(obj.extra_fields)


# ---------------------------------------------------------------- shaping

_NINJA_JSON = NinjaJSONEncoder()


def _ref(obj: Any) -> dict[str, Any] | None:
    return {"id": obj.pk, "name": str(obj.name)} if obj is not None else None


def shows_codes(user: Any) -> bool:
    """Does ``user`` see tracking codes in the API's answers (``CODE_SHOWN``)? Decided once
    per request, never per row."""
    return caps.has_cap(user, caps.APPEAL_TRIAGE)


def appeal_out(
    appeal: Appeal, now: dt.datetime | None = None, *, show_code: bool = False
) -> dict[str, Any]:
    """The case as ``AppealOut``; its tracking code only with ``show_code`` (``shows_codes``,
    or the intake answer to whoever filed it)."""
    return {
        "id": appeal.pk,
        "tracking_code": appeal.tracking_code if show_code else None,
        "status": appeal.status,
        "status_label": str(Status(appeal.status).label),
        "channel": appeal.channel,
        "priority": appeal.priority,
        "category": {"id": appeal.category_id, "name": str(appeal.category)},
        "description": mask_text(appeal.description),
        "address": appeal.address,
        "latitude": appeal.latitude,
        "longitude": appeal.longitude,
        "region": _ref(appeal.region),
        "grid": _ref(appeal.grid),
        "reporter_name": mask_name(appeal.reporter_name),
        "reporter_phone": mask_phone(appeal.reporter_phone),
        # In UTC like the stored timestamps: computed deadlines carry the local zone.
        "deadline": appeal.deadline.astimezone(dt.UTC) if appeal.deadline else None,
        "colour": deadline_colour(appeal, now),
        "assigned_level": appeal.assigned_level,
        "assigned_department": _ref(appeal.assigned_department),
        "assigned_user": str(appeal.assigned_user) if appeal.assigned_user_id else None,
        "duplicate_of": appeal.duplicate_of_id,
        "reopened_count": appeal.reopened_count,
        "returned_count": appeal.returned_count,
        "supervision_count": appeal.supervision_count,
        "rating": appeal.rating,
        "resolved": appeal.resolved,
        "created_at": appeal.created_at,
        "closed_at": appeal.closed_at,
    }


# History data naming another case by tracking code → the key holding that case's id.
OTHER_CASE_CODES = {"into_code": "into"}


def other_cases(events: Iterable[AppealEvent]) -> set[int]:
    """The ids of the other cases whose tracking codes the events' data name."""
    return {
        pk
        for e in events
        for id_key in OTHER_CASE_CODES.values()
        if isinstance(pk := (e.data or {}).get(id_key), int)
    }


def event_out(
    event: AppealEvent, openable: set[int] | frozenset[int] = frozenset()
) -> dict[str, Any]:
    """One history row; another case's tracking code in its data (a merge's ``into_code``)
    only when that case's id is in ``openable`` (the viewer may open it and sees codes)."""
    data = event.data or {}
    hidden = [
        k
        for k, id_key in OTHER_CASE_CODES.items()
        if k in data and data.get(id_key) not in openable
    ]
    return {
        "action": event.action,
        "action_label": str(Action(event.action).label),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor": str(event.actor) if event.actor_id else None,
        "note": mask_text(event.note),
        "data": {k: v for k, v in data.items() if k not in hidden} if hidden else data,
        "at": event.at,
    }


def _detail(request: HttpRequest, appeal_id: int) -> dict[str, Any]:
    appeal = sel.appeal_get(actor=request.user, appeal_id=appeal_id)
    show = shows_codes(request.user)
    body = appeal_out(appeal, show_code=show)
    body["result"] = mask_text(appeal.result)
    events = sel.appeal_timeline(actor=request.user, appeal=appeal)
    # One query, and none when the case never went into another.
    openable = sel.visible_ids(request.user, other_cases(events)) if show else set()
    body["timeline"] = [event_out(e, openable) for e in events]
    body["duplicates"] = list(appeal.duplicates.values_list("pk", flat=True)[:200])
    body["photos"] = [
        {
            "id": p.pk,
            "stage": p.stage,
            "url": p.file.url,
            "content_type": p.content_type,
            "size": p.size,
        }
        for p in appeal.photos.order_by("pk")
    ]
    return body


def _obj(model: Any, pk: int | None, field: str) -> Any:
    if pk is None:
        return None
    obj = model.objects.filter(pk=pk).first() if valid_pk(pk) is not None else None
    if obj is None:
        raise ValidationFailed(_("所选对象不存在"), field=field)
    return obj


def _category(pk: int) -> Category:
    """The category (from the per-process cache: parent and time limits loaded)."""
    from gridgov.appeals.caches import category_by_id

    category = category_by_id(pk) if valid_pk(pk) is not None else None
    if category is None:
        raise ValidationFailed(_("所选对象不存在"), field="category_id")
    return category


# The services name a field as the pages' forms do; the API names it as its request does.
CLIENT_FIELDS = {
    "category": "category_id",
    "region": "region_id",
    "grid": "grid_id",
    "department": "department_id",
    "departments": "department_ids",
    "duplicates": "duplicate_ids",
    "reporter": "reporter_id",
    "location": "latitude",
}


@contextmanager
def _client_fields() -> Iterator[None]:
    """Errors raised inside name the request's field (``CLIENT_FIELDS``)."""
    try:
        yield
    except DomainError as exc:
        exc.field = CLIENT_FIELDS.get(exc.field or "", exc.field)
        raise


def _signed_in(request: HttpRequest) -> Any:
    """Who is signed in on a public (code-only) request, as the staff endpoints know them: a
    token, an API key or the session (CSRF checked, as there); None for nobody. The tracking
    page passes its signed-in user to the services alike, so the same rules hold on both
    (e.g. whoever handled a case may not rate it, not even with its tracking code)."""
    for auth in api_auth:
        if isinstance(auth, SessionAuth) and not request.user.is_authenticated:
            continue  # no session: nothing to check (an anonymous POST carries no CSRF token)
        user = auth(request)
        if user:
            return user
    return None


def _idempotency(request: HttpRequest, prefix: str) -> str | None:
    key = idempotency_key(request)
    return f"{prefix}:{key}" if key else None


# ---------------------------------------------------------------- staff endpoints


@router.get("/categories", response=list[CategoryOut], summary="诉求分类")
def categories(request: HttpRequest) -> Any:
    district_id = getattr(getattr(request.user, "scope_region", None), "district_id", None) or (
        getattr(getattr(request.user, "scope_region", None), "pk", None)
    )
    qs = Category.objects.filter(is_active=True).order_by("parent_id", "order", "code")
    if district_id:
        qs = qs.filter(district_id=district_id)
    return list(qs[:500])


@router.post(
    "/",
    response={200: IntakeOut, 201: IntakeOut},
    summary="受理诉求",
    description="支持 Idempotency-Key 请求头：同一键只生成一个诉求（重放返回 200）。",
)
def intake(request: HttpRequest, payload: IntakeIn) -> Any:
    with _client_fields():
        appeal = svc.appeal_intake(
            actor=request.user,
            channel=payload.channel,
            category=_category(payload.category_id),
            description=payload.description,
            priority=payload.priority,
            latitude=payload.latitude,
            longitude=payload.longitude,
            address=payload.address,
            region=_obj(Region, payload.region_id, "region_id"),
            reporter_name=payload.reporter_name,
            reporter_phone=payload.reporter_phone,
            reporter=sel.reporter_record(
                actor=request.user, field="reporter_id", resident_id=payload.reporter_id
            ),
            idempotency_key=_idempotency(request, f"api:u{request.user.pk}"),
            # A key files only where it is scoped (a report without a grid: in its own
            # region); a person reporting across a boundary is told.
            confined=getattr(request, "api_key", None) is not None,
        )
    # Whoever filed the case is given its code, whatever they see in lists.
    body = appeal_out(appeal, show_code=True)
    body["duplicate_candidates"] = list(getattr(appeal, "duplicate_candidates", []))
    # Built by appeal_out to IntakeOut's shape (a test holds it to the schema), not validated
    # again (a quarter of a millisecond per intake), and written by orjson, with timestamps
    # and lazy texts handed to ninja's encoder so they read as in every other answer.
    return HttpResponse(
        orjson.dumps(body, default=_NINJA_JSON.default, option=orjson.OPT_PASSTHROUGH_DATETIME),
        status=200 if getattr(appeal, "replayed", False) else 201,
        content_type="application/json; charset=utf-8",
    )


@router.get("/", response=AppealPageOut, summary="诉求列表（游标分页）")
def list_appeals(request: HttpRequest, filters: Query[ListFilters]) -> Any:
    if filters.category_id is not None and valid_pk(filters.category_id) is None:
        raise ValidationFailed(_("所选对象不存在"), field="category_id")
    phone = (filters.reporter_phone or "").strip() or None
    if phone:
        svc.phone_search(actor=request.user, phone=phone, purpose=_("按电话查询诉求"))
    page = sel.appeal_page(
        actor=request.user,
        cursor=filters.cursor,
        size=filters.page_size,
        status=filters.status,
        category=filters.category_id,
        priority=filters.priority,
        colour=filters.colour,
        channel=filters.channel,
        reporter_phone=phone,
    )
    now, show = timezone.now(), shows_codes(request.user)
    return {
        "items": [appeal_out(a, now, show_code=show) for a in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get("/stats", response=StatsOut, summary="三率等考核指标")
def stats(request: HttpRequest, filters: Query[StatsFilters]) -> Any:
    from gridgov.accounts import capabilities as caps

    caps.require_cap(request.user, caps.APPEAL_VIEW)
    period = filters.period
    start = end = None
    if period == "custom" or filters.start is not None or filters.end is not None:
        if period not in (None, "custom"):
            raise ValidationFailed(_("按起止日期统计时，period 须为 custom 或不填"), field="period")
        period = "custom"
        start, end = sel.range_bounds(filters.start, filters.end)
    region = None
    if filters.region_id is not None:
        region = (
            sel.stats_regions(actor=request.user).filter(pk=valid_pk(filters.region_id)).first()
        )
        if region is None:
            raise ValidationFailed(_("所选辖区不存在或不在您的管辖范围内"), field="region_id")
    period = period or "month"
    result = sel.appeal_stats(
        actor=request.user,
        group_by=filters.group_by,
        period=None if period == "custom" else period,
        start=start,
        end=end,
        region_path=region.path if region is not None else None,
    )

    def row(r: Any) -> dict[str, Any]:
        data = r.as_dict()
        data["key"] = None if r.key is None else str(r.key)
        data["label"] = str(r.label)
        return data

    return {
        "period": period,
        "start": result["start"],
        "end": result["end"],
        "total": row(result["total"]),
        "rows": [row(r) for r in result["rows"]],
        "formulas": {k: str(v) for k, v in result["formulas"].items()},
    }


@router.get("/{int:appeal_id}", response=AppealDetailOut, summary="诉求详情与流转记录")
def detail(request: HttpRequest, appeal_id: int) -> Any:
    return _detail(request, appeal_id)


@router.get("/{int:appeal_id}/duplicates", response=list[CandidateOut], summary="疑似重复件")
def duplicates(request: HttpRequest, appeal_id: int) -> Any:
    appeal = sel.appeal_get(actor=request.user, appeal_id=appeal_id)
    show = shows_codes(request.user)
    return [
        {
            "id": c.pk,
            "tracking_code": c.tracking_code if show else None,
            "description": mask_text(c.description),
            "distance_m": getattr(c, "distance_m", None),
            "similarity": c.similarity,
            "created_at": c.created_at,
        }
        for c in sel.visible_among(request.user, sel.duplicates_of(appeal))
    ]


def _act(request: HttpRequest, appeal_id: int, fn: Any, **kwargs: Any) -> dict[str, Any]:
    """Run one step and answer with the case. A step that leaves the case outside the
    actor's reach (a department's 退单) succeeded all the same: the answer is then the case
    as the step left it, with no more than a list row shows (no history, result or photos)."""
    with _client_fields():
        row = fn(actor=request.user, appeal=appeal_id, **kwargs)
    try:
        return _detail(request, appeal_id)
    except NotFound:
        body = appeal_out(row, show_code=shows_codes(request.user))
        body.update(result="", timeline=[], duplicates=[], photos=[])
        return body


@router.post("/{int:appeal_id}/register", response=AppealDetailOut, summary="立案")
def register(request: HttpRequest, appeal_id: int, payload: RegisterIn) -> Any:
    return _act(
        request,
        appeal_id,
        svc.appeal_register,
        category=_obj(Category, payload.category_id, "category_id"),
        priority=payload.priority,
        region=_obj(Region, payload.region_id, "region_id"),
        grid=_obj(Grid, payload.grid_id, "grid_id"),
        note=payload.note,
    )


@router.post("/{int:appeal_id}/dispatch", response=AppealDetailOut, summary="派遣")
def dispatch(request: HttpRequest, appeal_id: int, payload: DispatchIn) -> Any:
    return _act(
        request,
        appeal_id,
        svc.appeal_dispatch,
        grid=_obj(Grid, payload.grid_id, "grid_id"),
        region=_obj(Region, payload.region_id, "region_id"),
        department=_obj(Department, payload.department_id, "department_id"),
        note=payload.note,
    )


@router.post("/{int:appeal_id}/accept", response=AppealDetailOut, summary="签收/报到")
def accept(request: HttpRequest, appeal_id: int, payload: NoteIn) -> Any:
    return _act(request, appeal_id, svc.appeal_accept, note=payload.note)


@router.post("/{int:appeal_id}/handle", response=AppealDetailOut, summary="处置")
def handle(request: HttpRequest, appeal_id: int, payload: HandleIn) -> Any:
    return _act(request, appeal_id, svc.appeal_handle, result=payload.result)


@router.post("/{int:appeal_id}/return", response=AppealDetailOut, summary="退单")
def return_(request: HttpRequest, appeal_id: int, payload: ReasonIn) -> Any:
    return _act(request, appeal_id, svc.appeal_return, reason=payload.reason)


@router.post("/{int:appeal_id}/verify", response=AppealDetailOut, summary="回访评价")
def verify(request: HttpRequest, appeal_id: int, payload: VerifyIn) -> Any:
    return _act(
        request,
        appeal_id,
        svc.appeal_verify,
        rating=payload.rating,
        resolved=payload.resolved,
        comment=payload.comment,
    )


@router.post("/{int:appeal_id}/close", response=AppealDetailOut, summary="结案")
def close(request: HttpRequest, appeal_id: int, payload: NoteIn) -> Any:
    return _act(request, appeal_id, svc.appeal_close, note=payload.note)


@router.post("/{int:appeal_id}/reopen", response=AppealDetailOut, summary="返工")
def reopen(request: HttpRequest, appeal_id: int, payload: ReasonIn) -> Any:
    return _act(request, appeal_id, svc.appeal_reopen, reason=payload.reason)


@router.post("/{int:appeal_id}/reject", response=AppealDetailOut, summary="不予受理")
def reject(request: HttpRequest, appeal_id: int, payload: ReasonIn) -> Any:
    return _act(request, appeal_id, svc.appeal_reject, reason=payload.reason)


@router.post("/{int:appeal_id}/withdraw", response=AppealDetailOut, summary="撤回")
def withdraw(request: HttpRequest, appeal_id: int, payload: NoteIn) -> Any:
    return _act(request, appeal_id, svc.appeal_withdraw, reason=payload.note)


@router.post("/{int:appeal_id}/extend-request", response=AppealDetailOut, summary="申请延期")
def extend_request(request: HttpRequest, appeal_id: int, payload: ExtendRequestIn) -> Any:
    return _act(
        request,
        appeal_id,
        svc.appeal_extend_request,
        working_days=payload.working_days,
        reason=payload.reason,
    )


@router.post("/{int:appeal_id}/extend-decide", response=AppealDetailOut, summary="延期审批")
def extend_decide(request: HttpRequest, appeal_id: int, payload: ExtendDecideIn) -> Any:
    return _act(
        request, appeal_id, svc.appeal_extend_decide, approve=payload.approve, note=payload.note
    )


@router.post("/{int:appeal_id}/supervise", response=AppealDetailOut, summary="督办")
def supervise(request: HttpRequest, appeal_id: int, payload: SuperviseIn) -> Any:
    return _act(request, appeal_id, svc.appeal_supervise, note=payload.note)


@router.post("/{int:appeal_id}/escalate", response=AppealDetailOut, summary="上报")
def escalate(request: HttpRequest, appeal_id: int, payload: ReasonIn) -> Any:
    return _act(request, appeal_id, svc.appeal_escalate, reason=payload.reason)


@router.post("/{int:appeal_id}/whistle", response=AppealDetailOut, summary="吹哨")
def whistle(request: HttpRequest, appeal_id: int, payload: WhistleIn) -> Any:
    ids = [pk for pk in payload.department_ids if valid_pk(pk) is not None]
    depts = list(Department.objects.filter(pk__in=ids))
    if len(depts) != len(set(payload.department_ids)):
        raise ValidationFailed(_("所选部门不存在"), field="department_ids")
    return _act(request, appeal_id, svc.appeal_whistle, departments=depts, note=payload.note)


@router.post("/{int:appeal_id}/merge", response=AppealDetailOut, summary="合并重复件")
def merge(request: HttpRequest, appeal_id: int, payload: MergeIn) -> Any:
    return _act(
        request, appeal_id, svc.appeal_merge, duplicates=payload.duplicate_ids, note=payload.note
    )


class NotificationOut(Schema):
    id: int
    kind: str
    text: str = Field(description=MASKED_TEXT)
    appeal_id: int | None
    created_at: dt.datetime
    read_at: dt.datetime | None

    @staticmethod
    def resolve_text(obj: Any) -> str:
        # In the reader's language, masked (rows written before that are masked here too).
        return obj.shown_text


class InboxPageOut(Schema):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int


class ReadIn(Schema):
    # Leaving ids out marks every notification read, so a misspelt key must not do it.
    model_config = ConfigDict(extra="forbid")

    ids: list[int] | None = None


class ReadOut(Schema):
    marked: int


@router.get("/inbox", response=InboxPageOut, summary="站内通知")
def inbox(
    request: HttpRequest, cursor: str | None = None, page_size: int = 50, unread_only: bool = False
) -> Any:
    page = keyset_page(
        sel.inbox(actor=request.user, unread_only=unread_only), cursor=cursor, size=page_size
    )
    return {
        "items": page.items,
        "next_cursor": page.next_cursor,
        "unread": sel.inbox_unread_count(actor=request.user),
    }


@router.post(
    "/inbox/read",
    response=ReadOut,
    summary="标记通知已读",
    description="ids：要标记的通知；省略 ids（发送 {}）则全部标记为已读。",
)
def inbox_read(request: HttpRequest, payload: ReadIn) -> Any:
    return {"marked": svc.notification_mark_read(actor=request.user, ids=payload.ids)}


@router.post(
    "/{int:appeal_id}/photos",
    response=AppealDetailOut,
    summary="上传照片",
    description="multipart/form-data：stage=intake（受理照片）或 result（处置照片），"
    "photos 为 JPEG/PNG 文件（每张 ≤ 8 MB，位置信息会被去除）。",
)
def add_photos(
    request: HttpRequest,
    appeal_id: int,
    photos: File[list[UploadedFile]],
    stage: Form[str] = "intake",
) -> Any:
    return _act(request, appeal_id, svc.appeal_add_photos, photos=photos, stage=stage)


# ---------------------------------------------------------------- public self-service


def public_out(appeal: Appeal) -> dict[str, Any]:
    """The reporter's view; a merged duplicate shows the progress of its merged case."""
    t = sel.appeal_track(tracking_code=appeal.tracking_code)
    shown = t.shown
    return {
        "tracking_code": appeal.tracking_code,
        "status": shown.status,
        "status_label": str(Status(shown.status).label),
        "merged": t.merged,
        "category": str(appeal.category),
        "description": mask_text(appeal.description),
        "created_at": appeal.created_at,
        "deadline": shown.deadline,
        "closed_at": shown.closed_at,
        "result": mask_text(shown.result),
        "rating": appeal.rating,
        "can_rate": t.can_rate,
        "can_withdraw": t.can_withdraw,
        "timeline": [
            {"action": e.action, "action_label": str(Action(e.action).label), "at": e.at}
            for e in t.events
        ],
    }


@router.post(
    "/public/",
    auth=None,
    response={200: PublicAppealOut, 201: PublicAppealOut},
    summary="居民自助反映（无需账号）",
    description="返回查询码；支持 Idempotency-Key 请求头。",
)
def public_intake(request: HttpRequest, payload: PublicIntakeIn) -> Any:
    enforce_rate(request, scope="appeals-public")
    category = _category(payload.category_id)
    with _client_fields():
        appeal = svc.appeal_intake(
            actor=None,
            channel=Channel.SELF_SERVICE,
            category=category,
            description=payload.description,
            latitude=payload.latitude,
            longitude=payload.longitude,
            address=payload.address,
            reporter_name=payload.reporter_name,
            reporter_phone=payload.reporter_phone,
            idempotency_key=_idempotency(request, "public"),
        )
    return HttpStatus(200 if getattr(appeal, "replayed", False) else 201, public_out(appeal))


@router.post(
    "/public/{code}/photos",
    auth=None,
    response=PublicAppealOut,
    summary="凭查询码补充照片",
)
def public_photos(request: HttpRequest, code: str, photos: File[list[UploadedFile]]) -> Any:
    enforce_rate(request, scope="appeals-public")
    appeal = sel.appeal_get_by_code(tracking_code=code)
    svc.appeal_add_photos(actor=None, appeal=appeal.pk, photos=photos, tracking_code=code)
    return public_out(appeal)


@router.get("/public/{code}", auth=None, response=PublicAppealOut, summary="凭查询码查询进度")
def public_track(request: HttpRequest, code: str) -> Any:
    enforce_rate(request, scope="appeals-public")
    return public_out(sel.appeal_get_by_code(tracking_code=code))


@router.post(
    "/public/{code}/rate",
    auth=None,
    response=PublicAppealOut,
    summary="凭查询码评价",
    description="已登录（令牌、API 密钥或会话）时以本人身份评价，与查询页面同一规则："
    "处置人不能评价自己办理的诉求（403）。",
)
def public_rate(request: HttpRequest, code: str, payload: PublicVerifyIn) -> Any:
    enforce_rate(request, scope="appeals-public")
    appeal = sel.appeal_get_by_code(tracking_code=code)
    svc.appeal_verify(
        actor=_signed_in(request),
        appeal=appeal.pk,
        rating=payload.rating,
        resolved=payload.resolved,
        comment=payload.comment,
        tracking_code=code,
        reporter_phone=payload.reporter_phone,
    )
    appeal.refresh_from_db()
    return public_out(appeal)


@router.post(
    "/public/{code}/reopen",
    auth=None,
    response=PublicAppealOut,
    summary="凭查询码要求返工",
    description="居民对处理结果不满意时退回重新办理（计入返工率）。",
)
def public_reopen(request: HttpRequest, code: str, payload: PublicReasonIn) -> Any:
    enforce_rate(request, scope="appeals-public")
    appeal = sel.appeal_get_by_code(tracking_code=code)
    svc.appeal_reopen(
        actor=_signed_in(request),
        appeal=appeal.pk,
        reason=payload.reason,
        tracking_code=code,
        reporter_phone=payload.reporter_phone,
    )
    appeal.refresh_from_db()
    return public_out(appeal)


@router.post("/public/{code}/withdraw", auth=None, response=PublicAppealOut, summary="凭查询码撤回")
def public_withdraw(request: HttpRequest, code: str, payload: PublicNoteIn) -> Any:
    enforce_rate(request, scope="appeals-public")
    appeal = sel.appeal_get_by_code(tracking_code=code)
    svc.appeal_withdraw(
        actor=_signed_in(request),
        appeal=appeal.pk,
        reason=payload.note,
        tracking_code=code,
        reporter_phone=payload.reporter_phone,
    )
    appeal.refresh_from_db()
    return public_out(appeal)
