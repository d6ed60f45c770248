"""Reads on appeals: scoped lists, one-object look-ups, the timeline, duplicates and rates.

Every selector takes the acting user and filters to what they may see first:
jurisdiction by ``region_path``; department staff see what was dispatched or whistled
to their department. Missing and out-of-reach answer alike (404).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Aggregate,
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridgov.accounts import capabilities as caps
from gridgov.appeals.deadlines import (  # noqa: F401  (deadline_colour re-exported for pages)
    colour_q,
    deadline_colour,
)
from gridgov.appeals.duplicates import (  # noqa: F401  (re-exported)
    appeal_duplicate_candidates,
    duplicates_of,
)
from gridgov.appeals.models import (
    CLOCK_STATUSES,
    OPEN_STATUSES,
    TRACKING_ALPHABET,
    Appeal,
    AppealEvent,
    AppealWhistle,
    Category,
    Notification,
    RateSettings,
    Rating,
    Status,
)
from gridgov.appeals.services import (
    CHANNELS,
    PHONE_INCOMPLETE,
    PRIORITIES,
    is_department_user,
    phone_searched,
    rate_settings_for,
)
from gridgov.core.db import HoursBetween, Median, valid_pk
from gridgov.core.errors import NotFound, PermissionDenied, ValidationFailed
from gridgov.core.pagination import (
    Page,
    check_page_size,
    decode_cursor,
    encode_cursor,
    keyset_page,
)
from gridgov.core.scope import subtree_q, user_scope_path
from gridgov.people import selectors as people
from gridgov.people.models import Resident
from gridgov.territory.models import Region, RegionKind

COLOURS = ("green", "amber", "red")
LIST_RELATED = (
    "category",
    "category__parent",
    "region",
    "grid",
    "assigned_department",
    "assigned_region",
    "assigned_user",
)


def _visible(actor: Any) -> QuerySet:
    qs = Appeal.objects.all()
    if not caps.has_cap(actor, caps.APPEAL_VIEW):
        return qs.none()
    if is_department_user(actor):
        whistled = AppealWhistle.objects.filter(
            appeal_id=OuterRef("pk"), department_id=actor.department_id
        )
        return qs.filter(Q(assigned_department_id=actor.department_id) | Exists(whistled))
    path = user_scope_path(actor)
    if path is None:
        return qs.none()
    if path == "":
        return qs
    return qs.filter(subtree_q("region_path", path))


def appeal_list(*, actor: Any, **filters: Any) -> QuerySet:
    """Appeals the actor may see, filtered (see :func:`narrowed`), newest first, related
    rows joined. Paginate with :func:`appeal_page` (keyset, no COUNT)."""
    return narrowed(_visible(actor), **filters).select_related(*LIST_RELATED).order_by("-pk")


def narrowed(
    qs: QuerySet,
    *,
    code: str | None = None,
    status: str | list[str] | None = None,
    category: Category | int | None = None,
    priority: str | None = None,
    colour: str | None = None,
    channel: str | None = None,
    region_path: str | None = None,
    department_id: int | None = None,
    reporter_phone: str | None = None,
    open_only: bool = False,
    now: dt.datetime | None = None,
) -> QuerySet:
    """``qs`` filtered as the work queue's filters ask.

    ``category`` includes its children; ``colour`` is the deadline colour of open cases
    (green / amber at 80 % / red overdue); ``region_path`` narrows to a subtree; ``code`` is
    a tracking code (the unique index answers it); ``reporter_phone`` is the reporter's
    number in any spelling (``phone_searched``; ``appeal_reporter_phone_idx`` answers it).
    An unknown status, priority, colour or channel, or a phone number that is no complete
    number, is bad input naming it (never an empty answer that reads as "no such cases").
    """
    if code:
        qs = qs.filter(tracking_code=code)
    if reporter_phone:
        number = phone_searched(reporter_phone)
        if number is None:
            raise ValidationFailed(PHONE_INCOMPLETE, field="reporter_phone")
        # Intake stores the number as ``phone_searched`` writes it. The partial index's
        # condition spelt out: SQLite's planner does not infer it.
        qs = qs.filter(reporter_phone=number).exclude(reporter_phone="")
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        bad = [s for s in statuses if s not in Status.values]
        if bad:
            raise ValidationFailed(_("状态无效"), field="status")
        qs = qs.filter(status__in=statuses)
    if open_only:
        qs = qs.filter(status__in=sorted(OPEN_STATUSES - {Status.MERGED}))
    if category is not None:
        cid = category.pk if isinstance(category, Category) else int(category)
        qs = qs.filter(Q(category_id=cid) | Q(category__parent_id=cid))
    if priority:
        if priority not in PRIORITIES:
            raise ValidationFailed(_("紧急程度无效"), field="priority")
        qs = qs.filter(priority=priority)
    if channel:
        if channel not in CHANNELS:
            raise ValidationFailed(_("来源渠道无效"), field="channel")
        qs = qs.filter(channel=channel)
    if region_path:
        qs = qs.filter(subtree_q("region_path", region_path))
    if department_id:
        qs = qs.filter(assigned_department_id=department_id)
    if colour:
        if colour not in COLOURS:
            raise ValidationFailed(_("时限颜色无效"), field="colour")
        qs = qs.filter(colour_q(colour, now or timezone.now()))
    return qs


def appeal_page(*, actor: Any, cursor: str | None = None, size: int = 50, **filters: Any) -> Page:
    """One keyset page of :func:`appeal_list` (``next_cursor`` for the following page)."""
    if not is_department_user(actor) or not caps.has_cap(actor, caps.APPEAL_VIEW):
        return keyset_page(appeal_list(actor=actor, **filters), cursor=cursor, size=size)
    # A department sees two sets: the cases assigned to it and those whistled to it. As one
    # OR they block every index, so a filter that matched few rows read the whole table
    # (5 s on 3 million appeals); each half is read from its own index, and the two merged.
    check_page_size(size)
    after = decode_cursor(cursor)
    department = actor.department_id
    ids: set[int] = set()
    for half in (
        Appeal.objects.filter(assigned_department_id=department),
        Appeal.objects.filter(whistles__department_id=department),
    ):
        half = narrowed(half, **filters)
        if after is not None:
            half = half.filter(pk__lt=after)
        ids.update(half.order_by("-pk").values_list("pk", flat=True)[: size + 1])
    newest = sorted(ids, reverse=True)
    rows = list(
        Appeal.objects.filter(pk__in=newest[:size]).select_related(*LIST_RELATED).order_by("-pk")
    )
    has_next = len(newest) > size
    return Page(rows, encode_cursor(newest[size - 1]) if has_next else None, has_next)


def visible_ids(actor: Any, ids: Iterable[int]) -> set[int]:
    """Those of the appeal ``ids`` the actor may open (the rule of :func:`appeal_get`): one
    query, none for no ids. For showing another case's tracking code or link only to whoever
    may open that case (a merge's ``into_code``, a duplicate's primary)."""
    wanted = {
        pk
        for pk in ids
        if isinstance(pk, int) and not isinstance(pk, bool) and valid_pk(pk) is not None
    }
    if not wanted:
        return set()
    return set(_visible(actor).filter(pk__in=sorted(wanted)).values_list("pk", flat=True))


def visible_among(actor: Any, appeals: list[Appeal]) -> list[Appeal]:
    """Those of ``appeals`` the actor may open, in their order (duplicate candidates are
    found across the district; one may only list what one may open)."""
    pks = visible_ids(actor, [a.pk for a in appeals])
    return [a for a in appeals if a.pk in pks]


def appeals_of_resident(*, actor: Any, resident: Resident, limit: int = 20) -> list[Appeal]:
    """The newest appeals reported by a resident record that the actor may open."""
    return list(
        _visible(actor).filter(reporter=resident).select_related("category").order_by("-pk")[:limit]
    )


# ---------------------------------------------------------------- by the caller's phone


@dataclass
class CallerHistory:
    """来电历史: a caller's newest appeals (``rows``), how many of all their appeals are still
    open (``open_count``), and whether there are more than ``rows`` (``more``)."""

    rows: list[Appeal]
    open_count: int
    more: bool


def caller_history(*, actor: Any, phone: str, limit: int = 10) -> CallerHistory:
    """The newest ``limit`` appeals reported from ``phone`` (any spelling, see
    :func:`phone_searched`) that the actor may open, newest first, with the count of those still
    open. Read from ``appeal_reporter_phone_idx``: one query, two when there are more than
    ``limit``. ValidationFailed naming ``reporter_phone`` when it is no complete number."""
    qs = narrowed(_visible(actor), reporter_phone=phone)
    rows = list(qs.select_related("category", "category__parent").order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    if more:
        open_count = qs.filter(status__in=sorted(OPEN_STATUSES)).count()
    else:
        open_count = sum(row.status in OPEN_STATUSES for row in rows)
    return CallerHistory(rows[:limit], open_count, more)


def appeal_get(*, actor: Any, appeal_id: int | str) -> Appeal:
    """One appeal with its related rows; NotFound for missing and outside alike."""
    pk = valid_pk(appeal_id)
    if pk is None:
        raise NotFound(_("诉求不存在"))
    row = (
        _visible(actor)
        .select_related(*LIST_RELATED, "reporter", "duplicate_of")
        .filter(pk=pk)
        .first()
    )
    if row is None:
        raise NotFound(_("诉求不存在"))
    return row


def appeal_get_by_code(*, tracking_code: str) -> Appeal:
    """The appeal a resident follows with their tracking code (no account needed)."""
    code = (tracking_code or "").strip().upper()
    if len(code) > 16 or any(ch not in TRACKING_ALPHABET for ch in code):
        raise NotFound(_("查询码不存在"))
    row = (
        (
            Appeal.objects.select_related("category", "duplicate_of")
            .filter(tracking_code=code)
            .first()
        )
        if code
        else None
    )
    if row is None:
        raise NotFound(_("查询码不存在"))
    return row


def appeal_timeline(*, actor: Any, appeal: Appeal | int) -> list[AppealEvent]:
    """The history rows of an appeal, oldest first (checks visibility)."""
    pk = appeal.pk if isinstance(appeal, Appeal) else appeal
    appeal_get(actor=actor, appeal_id=pk)
    return list(
        AppealEvent.objects.filter(appeal_id=pk).select_related("actor").order_by("at", "pk")
    )


def reporter_record(
    *, actor: Any, field: str, resident_id: Any = None, id_number: str = ""
) -> Resident | None:
    """The resident record an intake links as its reporter (反映人): by id (the API) or by ID
    number (the staff pages), within the actor's jurisdiction of the register; None when
    neither is given. A record that is not there, or not the actor's to see, is bad input
    naming ``field``."""
    if resident_id is None and not (id_number or "").strip():
        return None
    try:
        if resident_id is not None:
            return people.resident_get(actor=actor, resident_id=valid_pk(resident_id) or 0)
        found = people.resident_by_id_number(actor=actor, id_number=id_number)
    except (NotFound, PermissionDenied):
        found = None
    if found is None:
        raise ValidationFailed(
            _("您管辖范围内的居民档案中没有该居民；请核对，或留空不关联档案"), field=field
        )
    return found


def appeal_available_actions(*, actor: Any, appeal: Appeal) -> list[str]:
    """The actions (``models.Action`` values) the actor may take on the appeal now, for
    showing buttons. Mirrors the services' guards (state first, then capability and
    jurisdiction); the services remain the authority and re-check everything."""
    from gridgov.appeals.models import TRANSITIONS, Action, ExtensionRequest, Level
    from gridgov.appeals.services import (
        can_view,
        handled_by,
        is_handler,
        may_withdraw,
        staff_may_not_withdraw,
    )
    from gridgov.core.scope import in_scope
    from gridgov.territory.models import RegionKind

    if not can_view(actor, appeal):
        return []

    def has(*names: str) -> bool:
        return any(caps.has_cap(actor, n) for n in names)

    local = in_scope(actor, appeal.region_path)
    handler = is_handler(actor, appeal)
    scope = getattr(actor, "scope_region", None)
    # A whistled department that has not reported (报到) yet may still decline (退单).
    pending_whistle = (
        is_department_user(actor)
        and AppealWhistle.objects.filter(
            appeal=appeal, department_id=actor.department_id, reported_at=None
        ).exists()
    )
    checks = {
        Action.REGISTER: lambda: has(caps.APPEAL_TRIAGE, caps.APPEAL_DISPATCH),
        Action.DISPATCH: lambda: has(caps.APPEAL_DISPATCH) and local,
        Action.ACCEPT: lambda: handler,
        Action.HANDLE: lambda: handler,
        Action.RETURN: lambda: handler or pending_whistle,
        Action.EXTEND_REQUEST: lambda: (
            handler and not ExtensionRequest.objects.filter(appeal=appeal, approved=None).exists()
        ),
        # Not whoever recorded the handling (separation of duties).
        Action.VERIFY: lambda: has(caps.APPEAL_VERIFY) and local and handled_by(appeal) != actor.pk,
        # An unsatisfied case goes back for rework; only a supervisor closes it as it is.
        Action.CLOSE: lambda: (
            has(caps.APPEAL_VERIFY, caps.APPEAL_DISPATCH)
            and local
            and (appeal.rating != Rating.UNSATISFIED or has(caps.APPEAL_SUPERVISE))
        ),
        Action.REOPEN: lambda: has(caps.APPEAL_VERIFY, caps.APPEAL_DISPATCH) and local,
        Action.REJECT: lambda: has(caps.APPEAL_TRIAGE, caps.APPEAL_DISPATCH),
        Action.WITHDRAW: lambda: (
            has(caps.APPEAL_TRIAGE)
            and local
            and not staff_may_not_withdraw(appeal, timezone.now())
            and may_withdraw(appeal)
        ),
        Action.EXTEND_DECIDE: lambda: (
            has(caps.APPEAL_DISPATCH, caps.APPEAL_SUPERVISE)
            and local
            and appeal.assigned_user_id != actor.pk
            and ExtensionRequest.objects.filter(appeal=appeal, approved=None)
            .exclude(requested_by=actor)
            .exists()
        ),
        Action.SUPERVISE: lambda: has(caps.APPEAL_SUPERVISE),
        Action.ESCALATE: lambda: (
            (handler or (has(caps.APPEAL_DISPATCH) and local))
            and appeal.assigned_level not in (Level.STREET, Level.DEPARTMENT)
        ),
        Action.WHISTLE: lambda: (
            has(caps.APPEAL_DISPATCH)
            and (
                actor.is_superuser
                or (
                    scope is not None
                    and scope.kind
                    in (
                        RegionKind.COMMUNITY,
                        RegionKind.STREET,
                        RegionKind.TOWNSHIP,
                        RegionKind.DISTRICT,
                    )
                )
            )
        ),
        Action.MERGE: lambda: has(caps.APPEAL_DISPATCH),
    }
    out = [
        str(a)
        for a, (allowed, _t) in TRANSITIONS.items()
        if appeal.status in allowed and checks[a]()
    ]
    if appeal.status == Status.ACCEPTED and pending_whistle:
        out.append(str(Action.REPORT))
    return out


def public_timeline(*, appeal: Appeal) -> list[AppealEvent]:
    """The timeline a reporter sees by tracking code: steps only, no staff names or notes
    that might carry other people's data (reasons for return/reject are kept)."""
    return list(AppealEvent.objects.filter(appeal=appeal).order_by("at", "pk"))


def appeal_list_for_reporter(*, actor: Any) -> QuerySet:
    """The appeals a signed-in resident reported themselves (self-service), newest first."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return Appeal.objects.none()
    return (
        Appeal.objects.filter(reporter_user=actor)
        .select_related("category", "category__parent")
        .order_by("-pk")
    )


@dataclass
class Tracking:
    """What a reporter sees by tracking code. A merged duplicate shows the progress of the
    case it was merged into (``shown``) without revealing that case's own code."""

    appeal: Appeal
    shown: Appeal
    merged: bool
    events: list[AppealEvent]
    can_rate: bool
    can_withdraw: bool


HIDDEN_FROM_REPORTER = ("remind", "overdue", "whistle_flag", "merge_receive")


def appeal_track(*, tracking_code: str) -> Tracking:
    """The public status of an appeal by its tracking code (NotFound for unknown codes)."""
    from gridgov.appeals.services import may_rate, may_withdraw

    appeal = appeal_get_by_code(tracking_code=tracking_code)
    shown = appeal.duplicate_of if appeal.duplicate_of_id else appeal
    events = [e for e in public_timeline(appeal=shown) if e.action not in HIDDEN_FROM_REPORTER]
    return Tracking(
        appeal=appeal,
        shown=shown,
        merged=appeal.duplicate_of_id is not None,
        events=events,
        can_rate=may_rate(appeal),
        can_withdraw=may_withdraw(appeal),
    )


def inbox_unread_count(*, actor: Any) -> int:
    """Unread notifications of the actor (an indexed count over one user's rows)."""
    return Notification.objects.filter(user_id=getattr(actor, "pk", None), read_at=None).count()


def inbox(*, actor: Any, unread_only: bool = False) -> QuerySet:
    """The actor's in-app notifications, newest first."""
    qs = Notification.objects.filter(user_id=getattr(actor, "pk", None)).select_related("appeal")
    if unread_only:
        qs = qs.filter(read_at=None)
    return qs.order_by("-pk")


def supervision_queue(*, actor: Any, now: dt.datetime | None = None) -> QuerySet:
    """Cases whose deadline clock runs and that are overdue or amber, most urgent deadline
    first (for 督办): a handled case waits for its verification, not its handler."""
    now = now or timezone.now()
    return (
        appeal_list(actor=actor)
        .filter(status__in=sorted(CLOCK_STATUSES), deadline__isnull=False, amber_at__lte=now)
        .order_by("deadline", "pk")
    )


# ---------------------------------------------------------------- rates

# Lazy, shown in the reader's language; the limit, value and weights are the district's
# (RateSettings), filled in by ``formulas``.
FORMULAS: dict[str, Any] = {
    "valid": gettext_lazy(
        "受理 = 期间内受理的诉求（被合并的重复件不计，只计主件一次）；有效件 = 受理 − 不予受理 − 撤回"
    ),
    "response_rate": gettext_lazy("响应率 = 受理后 %(hours)s 小时内签收的件数 ÷ 有效件"),
    "resolution_rate": gettext_lazy("解决率 = 回访中“已解决”的件数 ÷ 已回访件数"),
    "satisfaction_rate": gettext_lazy(
        "满意率 = (满意件数 + 基本满意件数 × %(basic)s) ÷ 已回访件数"
    ),
    "on_time_rate": gettext_lazy(
        "按期办结率 = 在办理时限（含批准的延期，返工后重新计时）内处置的已结案件数 ÷ "
        "（已结案件数 + 未结案但已超过办理时限的件数：仍未处置，或处置已超时）"
    ),
    "closure_rate": gettext_lazy("办结率 = 已结案件数 ÷ 有效件"),
    "rework_rate": gettext_lazy("返工率 = 至少返工一次的件数 ÷ 已处置过的件数"),
    "median_hours": gettext_lazy("办理时长中位数 = 已结案件从受理到结案的小时数的中位数"),
    "score": gettext_lazy(
        "综合得分 = 响应率 × %(response)s + 解决率 × %(resolution)s + 满意率 × %(satisfaction)s"
    ),
}


def formulas(settings_row: RateSettings) -> dict[str, str]:
    """FORMULAS with the district's response limit, "basically satisfied" value and weights."""
    values = {
        "hours": settings_row.response_hours,
        "basic": f"{settings_row.basic_value:g}",
        "response": f"{settings_row.weight_response:g}",
        "resolution": f"{settings_row.weight_resolution:g}",
        "satisfaction": f"{settings_row.weight_satisfaction:g}",
    }
    return {key: str(text) % values for key, text in FORMULAS.items()}


GROUPS = ("region", "department", "category", "month", "none")


@dataclass
class RateRow:
    key: Any
    label: str
    received: int = 0
    valid: int = 0
    responded: int = 0
    rated: int = 0
    resolved: int = 0
    satisfied: int = 0
    basic: int = 0
    unsatisfied: int = 0
    closed: int = 0
    closed_on_time: int = 0
    handled: int = 0
    reworked: int = 0
    overdue_open: int = 0
    response_rate: float | None = None
    resolution_rate: float | None = None
    satisfaction_rate: float | None = None
    on_time_rate: float | None = None
    closure_rate: float | None = None
    rework_rate: float | None = None
    median_hours: float | None = None
    score: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _ratio(num: float, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _finish(row: RateRow, settings_row: Any) -> RateRow:
    row.response_rate = _ratio(row.responded, row.valid)
    row.resolution_rate = _ratio(row.resolved, row.rated)
    row.satisfaction_rate = _ratio(row.satisfied + row.basic * settings_row.basic_value, row.rated)
    # An open case past its deadline can only close late: it counts against the rate now
    # (scenario A3), and the rate does not move when it finally closes.
    row.on_time_rate = _ratio(row.closed_on_time, row.closed + row.overdue_open)
    row.closure_rate = _ratio(row.closed, row.valid)
    row.rework_rate = _ratio(row.reworked, row.handled)
    row.median_hours = round(row.median_hours, 2) if row.median_hours is not None else None
    parts = [
        (row.response_rate, settings_row.weight_response),
        (row.resolution_rate, settings_row.weight_resolution),
        (row.satisfaction_rate, settings_row.weight_satisfaction),
    ]
    if all(rate is not None for rate, _w in parts):
        row.score = round(sum(rate * w for rate, w in parts), 4)
    return row


def _districts_of(actor: Any) -> list[int]:
    """The districts whose appeals the actor may see (their own; all for a superuser), so
    that a period is read through the (district, created_at) index."""
    if is_department_user(actor):
        region = actor.department.region
    else:
        region = getattr(actor, "scope_region", None)
        if getattr(actor, "is_superuser", False) or region is None:
            return list(
                Region.objects.filter(kind=RegionKind.DISTRICT).values_list("pk", flat=True)
            )
    return [region.district_id or region.pk]


def _rate_counts(now: dt.datetime) -> dict[str, Aggregate]:
    """The RateRow counters as aggregates over appeals (see ``FORMULAS``)."""
    valid = ~Q(status__in=[Status.REJECTED, Status.WITHDRAWN])
    rated = valid & ~Q(rating="")
    closed = valid & Q(status=Status.CLOSED, closed_at__isnull=False)
    handled = valid & Q(handled_at__isnull=False)
    # The response limit is each district's own (RateSettings.response_hours).
    hours = dict(RateSettings.objects.values_list("district_id", "response_hours"))
    default = RateSettings._meta.get_field("response_hours").default
    by_hours: dict[int, list[int]] = {}
    for district_id, h in hours.items():
        if h != default:
            by_hours.setdefault(h, []).append(district_id)
    limit: Any = Value(dt.timedelta(hours=default), output_field=DurationField())
    if by_hours:
        limit = Case(
            *[
                When(district_id__in=ids, then=Value(dt.timedelta(hours=h)))
                for h, ids in sorted(by_hours.items())
            ],
            default=limit,
            output_field=DurationField(),
        )
    in_time = ExpressionWrapper(F("created_at") + limit, output_field=DateTimeField())
    return {
        "received": Count("pk"),
        "valid": Count("pk", filter=valid),
        "responded": Count("pk", filter=valid & Q(responded_at__lte=in_time)),
        "rated": Count("pk", filter=rated),
        "resolved": Count("pk", filter=rated & Q(resolved=True)),
        "satisfied": Count("pk", filter=valid & Q(rating=Rating.SATISFIED)),
        "basic": Count("pk", filter=valid & Q(rating=Rating.BASIC)),
        "unsatisfied": Count("pk", filter=valid & Q(rating=Rating.UNSATISFIED)),
        "closed": Count("pk", filter=closed),
        "closed_on_time": Count(
            "pk",
            filter=closed
            & (
                Q(deadline__isnull=True)
                | Q(handled_at__lte=F("deadline"))
                | Q(handled_at__isnull=True, closed_at__lte=F("deadline"))
            ),
        ),
        "handled": Count("pk", filter=handled),
        "reworked": Count("pk", filter=handled & Q(reopened_count__gt=0)),
        # Open and already late (red): the clock still runs past the deadline, or it
        # stopped (handled) after it.
        "overdue_open": Count("pk", filter=colour_q("red", now)),
        "median_hours": Median(HoursBetween("created_at", "closed_at"), filter=closed),
    }


def _group_key(group_by: str) -> tuple[Any, Any]:
    """The (key, label) expressions of a grouping (label None: the key labels itself); a
    category counts under its top-level parent, a month is the local month of intake."""
    if group_by == "region":
        return F("region_id"), F("region__name")
    if group_by == "department":
        return F("assigned_department_id"), F("assigned_department__name")
    if group_by == "category":
        return (
            Coalesce("category__parent_id", "category_id"),
            Coalesce("category__parent__name", "category__name"),
        )
    # No separate label: with parameters bound on the server, PostgreSQL cannot match two
    # copies of the expression in the select list to the one in GROUP BY.
    return TruncMonth("created_at", tzinfo=timezone.get_current_timezone()), None


def _group_label(group_by: str, label: Any) -> Any:
    if group_by == "department" and not label:
        return _("未派部门")
    if group_by == "month":
        return f"{timezone.localtime(label):%Y-%m}"
    return label


def _group_order(group_by: str) -> dict[str, Any]:
    """What orders a grouping's rows as the rest of the system lists them: regions in the
    tree's order (by path: a district's streets, then each street's communities, by code),
    departments by code, categories (top level) by their configured order, then code. Each
    is one value per group, so grouping by it too changes no count. Months (and a missing
    region or department, last) need nothing."""
    if group_by == "region":
        return {"o1": F("region__path")}
    if group_by == "department":
        return {"o1": F("assigned_department__code")}
    if group_by == "category":
        return {
            "o1": Coalesce("category__parent__order", "category__order"),
            "o2": Coalesce("category__parent__code", "category__code"),
        }
    return {}


# The periods of the rates: each current one (up to now) and the one before it (whole).
PERIODS = {
    "today": "yesterday",
    "week": "last_week",
    "month": "last_month",
    "quarter": "last_quarter",
    "year": "last_year",
}
PREVIOUS = {previous: current for current, previous in PERIODS.items()}
# A custom range: whole days, at most three years, within years the data can hold.
MAX_RANGE_YEARS = 3
RANGE_YEARS = (2000, 2100)


def _period_start(period: str, day: dt.datetime) -> dt.datetime:
    if period == "today":
        return day
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def period_bounds(period: str, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in local time of a current period ('today', 'week', 'month', 'quarter',
    'year': from its start up to now) or of the whole one before it ('yesterday',
    'last_week', 'last_month', 'last_quarter', 'last_year': up to the current one's start)."""
    now = timezone.localtime(now or timezone.now())
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period in PERIODS:
        return _period_start(period, day), now + dt.timedelta(seconds=1)
    if period not in PREVIOUS:
        raise ValidationFailed(_("统计周期无效"), field="period")
    current = PREVIOUS[period]
    end = _period_start(current, day)
    # The day before the current period's start lies in the previous period.
    return _period_start(current, end - dt.timedelta(days=1)), end


def range_bounds(start: dt.date | None, end: dt.date | None) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00) in local time: the days from ``start`` to
    ``end``, both included. Both are needed, ``end`` not before ``start``, and at most
    three years (``MAX_RANGE_YEARS``: ``end`` before the same day three years on); errors
    name the field ``start`` or ``end``."""
    if start is None:
        raise ValidationFailed(_("请填写开始日期"), field="start")
    if end is None:
        raise ValidationFailed(_("请填写结束日期"), field="end")
    low, high = RANGE_YEARS
    if not low <= start.year <= high:
        raise ValidationFailed(
            _("开始日期须在 %(low)s 至 %(high)s 年之间") % {"low": low, "high": high},
            field="start",
        )
    if not low <= end.year <= high:
        raise ValidationFailed(
            _("结束日期须在 %(low)s 至 %(high)s 年之间") % {"low": low, "high": high},
            field="end",
        )
    if end < start:
        raise ValidationFailed(_("结束日期不能早于开始日期"), field="end")
    try:
        limit = start.replace(year=start.year + MAX_RANGE_YEARS)
    except ValueError:  # 29 February → 1 March
        limit = start.replace(year=start.year + MAX_RANGE_YEARS, day=28) + dt.timedelta(days=1)
    if end >= limit:
        raise ValidationFailed(
            _("统计时段最长 %(n)s 年，请缩短日期范围") % {"n": MAX_RANGE_YEARS}, field="end"
        )
    tz = timezone.get_current_timezone()
    midnight = dt.time()
    return (
        dt.datetime.combine(start, midnight, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), midnight, tzinfo=tz),
    )


def stats_regions(*, actor: Any) -> QuerySet:
    """The streets and communities the rates may be narrowed to: those in the actor's
    jurisdiction (``appeal_stats(region_path=…)``)."""
    from gridgov.core.scope import scope_queryset

    kinds = [RegionKind.STREET, RegionKind.TOWNSHIP, RegionKind.COMMUNITY]
    return scope_queryset(
        Region.objects.filter(kind__in=kinds).select_related("parent").order_by("path"),
        actor,
        field="path",
    )


def appeal_stats(
    *,
    actor: Any,
    group_by: str = "none",
    period: str | None = "month",
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    region_path: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The rates (see ``FORMULAS``) of appeals received in the period, grouped by region,
    department, category (top level), month, or not at all.

    Returns ``{"rows": [RateRow…], "total": RateRow, "formulas": {key: text}, "start",
    "end"}``, the formulas with the district's own limit, value and weights.
    Merged duplicates are excluded (their primary counts once). Computed from the appeal
    fields that the history rows set (``responded_at`` ← accept, ``closed_at`` ← close,
    rating ← verify, ``reopened_count`` ← reopen). Meant for one district and a period;
    dashboards over many years read roll-ups instead.
    """
    if group_by not in GROUPS:
        raise ValidationFailed(_("分组方式无效"), field="group_by")
    now = now or timezone.now()
    if start is None or end is None:
        start, end = period_bounds(period or "month", now)
    qs = (
        _visible(actor)
        .filter(district_id__in=_districts_of(actor), created_at__gte=start, created_at__lt=end)
        .exclude(status=Status.MERGED)
    )
    if region_path:
        qs = qs.filter(subtree_q("region_path", region_path))
    # Counted in the database, grouped there: a year of a district is ~100k rows, which
    # cost seconds to walk in Python.
    counts = _rate_counts(now)
    total = RateRow(key=None, label=_("合计"), **qs.aggregate(**counts))
    ranked: list[tuple[tuple[Any, ...], RateRow]] = []
    if group_by != "none":
        key, label = _group_key(group_by)
        names = {"k": key} if label is None else {"k": key, "l": label}
        order = _group_order(group_by)
        names.update(order)
        for row in qs.annotate(**names).values(*names).annotate(**counts).order_by():
            key = row.pop("k")
            label = _group_label(group_by, row.pop("l", key))
            # None (no region / no department) after every value.
            rank = tuple((value is None, value) for value in [row.pop(o) for o in order])
            rate = RateRow(key=label if group_by == "month" else key, label=label, **row)
            ranked.append((rank, rate))
    ranked.sort(key=lambda pair: (pair[0], str(pair[1].label)))
    out = [row for _rank, row in ranked]
    # Weights and the "basically satisfied" value: those of the district of any one row
    # (without rows: of the actor's first district).
    district_id = next(iter(qs.order_by().values_list("district_id", flat=True)[:1]), None)
    if district_id is not None:
        settings_row = rate_settings_for(district_id)
        for row in [*out, total]:
            _finish(row, settings_row)
    else:
        districts = _districts_of(actor)
        settings_row = rate_settings_for(districts[0]) if districts else RateSettings()
    return {
        "rows": out,
        "total": total,
        "formulas": formulas(settings_row),
        "start": start,
        "end": end,
    }
