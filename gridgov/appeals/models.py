"""Appeals (诉求/工单): the closed loop from intake to closure, with history and deadlines.

The allowed transitions live next to the status field (``TRANSITIONS``); the
one place that checks them is :func:`gridgov.appeals.services._check_transition`.
Every transition writes one append-only :class:`AppealEvent`.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridgov.appeals.attributes import PLAIN_CODE, clean_extra_fields
from gridgov.core.notice import Notice
from gridgov.core.pii import mask_contact, mask_text
from gridgov.territory.models import Department, Grid, Region


class Priority(models.TextChoices):
    URGENT = "urgent", _("紧急")
    NORMAL = "normal", _("一般")
    COMPLEX = "complex", _("复杂")


class Status(models.TextChoices):
    RECEIVED = "received", _("已受理")
    REGISTERED = "registered", _("已立案")
    DISPATCHED = "dispatched", _("已派遣")
    ACCEPTED = "accepted", _("办理中")
    RETURNED = "returned", _("已退单")
    HANDLED = "handled", _("已处置")
    VERIFIED = "verified", _("已回访")
    CLOSED = "closed", _("已结案")
    REJECTED = "rejected", _("不予受理")
    WITHDRAWN = "withdrawn", _("已撤回")
    MERGED = "merged", _("已合并")


# Finished states: no further work except reopen (closed) — see TRANSITIONS.
FINAL_STATUSES = frozenset({Status.CLOSED, Status.REJECTED, Status.WITHDRAWN, Status.MERGED})
OPEN_STATUSES = frozenset(set(Status) - FINAL_STATUSES)
# States in which the case is with a handler (the deadline clock matters for supervisors).
WORKING_STATUSES = frozenset(
    {Status.REGISTERED, Status.DISPATCHED, Status.ACCEPTED, Status.RETURNED}
)
# States in which the deadline clock runs: from intake until the handler records the result
# (处置). A handled case waits for the resident's verdict, not for its handler; 返工 starts a
# new clock (``Appeal.clock_started_at``).
CLOCK_STATUSES = WORKING_STATUSES | {Status.RECEIVED}


class Action(models.TextChoices):
    """Every history row names one action; transitions use the same names as services."""

    # "受理" is also the count of appeals taken in (stats) and the hotline's button.
    INTAKE = "intake", pgettext_lazy("history action", "受理")
    REGISTER = "register", _("立案")
    DISPATCH = "dispatch", _("派遣")
    ACCEPT = "accept", _("签收")
    REPORT = "report", _("部门报到")
    HANDLE = "handle", _("处置")
    RETURN = "return", _("退单")
    VERIFY = "verify", _("回访")
    CLOSE = "close", _("结案")
    REOPEN = "reopen", _("返工")
    REJECT = "reject", _("不予受理")
    WITHDRAW = "withdraw", _("撤回")
    EXTEND_REQUEST = "extend_request", _("申请延期")
    EXTEND_DECIDE = "extend_decide", _("延期审批")
    SUPERVISE = "supervise", _("督办")
    ESCALATE = "escalate", _("上报")
    WHISTLE = "whistle", _("吹哨")
    MERGE = "merge", _("合并")
    MERGE_RECEIVE = "merge_receive", _("合并重复件")
    OVERDUE = "overdue", _("超期")
    REMIND = "remind", _("到期提醒")
    WHISTLE_FLAG = "whistle_flag", _("报到超时")
    # A merged duplicate's reporter rates the joint case's handling (services.appeal_verify).
    RATE_MERGED = "rate_merged", _("评价合并办理结果")


S = Status
# action → (states it may start from, state it leads to; None = unchanged)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    Action.REGISTER: (frozenset({S.RECEIVED}), S.REGISTERED),
    Action.DISPATCH: (frozenset({S.REGISTERED, S.RETURNED}), S.DISPATCHED),
    Action.ACCEPT: (frozenset({S.DISPATCHED}), S.ACCEPTED),
    Action.HANDLE: (frozenset({S.ACCEPTED}), S.HANDLED),
    Action.RETURN: (frozenset({S.DISPATCHED, S.ACCEPTED}), S.RETURNED),
    Action.VERIFY: (frozenset({S.HANDLED}), S.VERIFIED),
    Action.CLOSE: (frozenset({S.VERIFIED}), S.CLOSED),
    Action.REOPEN: (frozenset({S.VERIFIED, S.CLOSED}), S.ACCEPTED),
    Action.REJECT: (frozenset({S.RECEIVED, S.REGISTERED, S.RETURNED}), S.REJECTED),
    Action.WITHDRAW: (
        frozenset({S.RECEIVED, S.REGISTERED, S.DISPATCHED, S.ACCEPTED, S.RETURNED}),
        S.WITHDRAWN,
    ),
    Action.EXTEND_REQUEST: (frozenset({S.DISPATCHED, S.ACCEPTED}), None),
    Action.EXTEND_DECIDE: (frozenset({S.DISPATCHED, S.ACCEPTED}), None),
    Action.SUPERVISE: (
        frozenset({S.RECEIVED, S.REGISTERED, S.DISPATCHED, S.ACCEPTED, S.RETURNED}),
        None,
    ),
    Action.ESCALATE: (frozenset({S.REGISTERED, S.DISPATCHED, S.ACCEPTED}), S.DISPATCHED),
    Action.WHISTLE: (frozenset({S.REGISTERED, S.DISPATCHED, S.ACCEPTED}), S.DISPATCHED),
    Action.MERGE: (
        frozenset({S.RECEIVED, S.REGISTERED, S.DISPATCHED, S.ACCEPTED, S.RETURNED}),
        S.MERGED,
    ),
}
del S


class Channel(models.TextChoices):
    DOORSTEP = "doorstep", _("党群之家/服务站")
    GRID_PATROL = "grid_patrol", _("网格员巡查")
    HOTLINE = "hotline", _("热线")
    SELF_SERVICE = "self_service", _("居民自助")
    MEETING = "meeting", _("议事会")
    REPRESENTATIVE = "representative", _("两代表一委员")
    API = "api", _("接口")


class Level(models.TextChoices):
    """Who currently handles the case: the escalation ladder plus departments."""

    GRID = "grid", _("网格")
    COMMUNITY = "community", _("社区")
    STREET = "street", _("街道")
    DEPARTMENT = "department", _("部门")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class TimeUnit(models.TextChoices):
    WORKING_HOURS = "working_hours", _("工作小时")
    WORKING_DAYS = "working_days", _("工作日")
    CALENDAR_HOURS = "calendar_hours", _("自然小时")


class Category(models.Model):
    """A two-level appeal category configured by the district (e.g. 设施维护 → 水电气暖).

    ``extra_fields`` describes the attributes an Open311 client may send:
    ``[{code, datatype, required, description, order, values: [{key, name}]}]``.
    """

    district = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("所属区县"),
        limit_choices_to={"kind": "district"},
    )
    # Open311's service_code: a path segment, and a list item in its filters.
    code = models.CharField(
        _("编码"),
        max_length=32,
        validators=[
            RegexValidator(
                rf"\A{PLAIN_CODE}\Z",
                _("编码只能由字母、数字、点、下划线和连字符组成，以字母或数字开头"),
            )
        ],
    )
    name = models.CharField(_("名称"), max_length=64)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("上级分类"),
    )
    is_active = models.BooleanField(_("启用"), default=True)
    default_priority = models.CharField(
        _("默认紧急程度"), max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    description = models.CharField(_("说明"), max_length=255, blank=True)
    extra_fields = models.JSONField(_("附加属性"), default=list, blank=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_public = models.BooleanField(
        _("公开"),
        default=True,
        help_text=_(
            "公开查询（Open311）是否显示此类诉求的内容、地址和位置；家庭、邻里纠纷等涉及"
            "隐私的分类应设为不公开，只显示办理状态。上级分类不公开时，下级也不公开。"
        ),
    )

    class Meta:
        verbose_name = _("诉求分类")
        verbose_name_plural = _("诉求分类")
        ordering = ["district_id", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["district", "code"], name="category_code_unique"),
        ]

    def __str__(self) -> str:
        if self.parent_id:
            return f"{self.parent.name} / {self.name}"
        return self.name

    def clean(self) -> None:
        try:
            self.extra_fields = clean_extra_fields(self.extra_fields)
        except ValidationError as exc:
            raise ValidationError({"extra_fields": exc.messages}) from None
        if not self.parent_id:
            return
        if self.parent_id == self.pk:
            raise ValidationError({"parent": _("分类不能是自己的上级")})
        if self.parent.parent_id:
            raise ValidationError({"parent": _("分类最多两级")})
        if self.pk and Category.objects.filter(parent=self.pk).exists():
            raise ValidationError({"parent": _("此分类下有下级分类，不能再设上级（分类最多两级）")})
        if self.parent.district_id != self.district_id:
            raise ValidationError({"parent": _("上级分类须属于同一区县")})

    @staticmethod
    def accepting_q() -> Q:
        """The categories a case can be filed under, in every channel: active, not in an
        inactive group, and not a group with an active sub-category (a group is filed under
        through its sub-categories)."""
        active_children = Category.objects.filter(parent=OuterRef("pk"), is_active=True)
        return (
            Q(is_active=True)
            & (Q(parent__isnull=True) | Q(parent__is_active=True))
            & ~Exists(active_children)
        )

    @property
    def accepts_cases(self) -> bool:
        """Whether a case can be filed under this category (``accepting_q``); the category
        cache says so for its copies without a query."""
        known = self.__dict__.get("_accepts_cases")
        if known is None:
            return Category.objects.filter(Category.accepting_q(), pk=self.pk).exists()
        return known


# The longest time limit of each unit: about a year. A longer one is a typing error, and
# would make every intake in the category count a year's days one by one.
MAX_TIME_LIMIT = {
    TimeUnit.WORKING_HOURS: 2000,
    TimeUnit.WORKING_DAYS: 250,
    TimeUnit.CALENDAR_HOURS: 8760,
}


class TimeLimit(models.Model):
    """办理时限 for one category (or its parent) and priority."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="time_limits", verbose_name=_("分类")
    )
    priority = models.CharField(_("紧急程度"), max_length=16, choices=Priority.choices)
    amount = models.PositiveIntegerField(_("时限"), validators=[MinValueValidator(1)])
    unit = models.CharField(
        _("单位"), max_length=16, choices=TimeUnit.choices, default=TimeUnit.WORKING_DAYS
    )

    class Meta:
        verbose_name = _("办理时限")
        verbose_name_plural = _("办理时限")
        constraints = [
            models.UniqueConstraint(fields=["category", "priority"], name="timelimit_unique"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.category} {self.get_priority_display()} {self.amount}{self.get_unit_display()}"
        )

    def clean(self) -> None:
        cap = MAX_TIME_LIMIT.get(self.unit)
        if cap is not None and self.amount is not None and self.amount > cap:
            raise ValidationError(
                {
                    "amount": _("时限不能超过 %(n)s %(unit)s（约一年）")
                    % {"n": cap, "unit": self.get_unit_display()}
                }
            )


SHARE = [MinValueValidator(0.0), MaxValueValidator(1.0)]
MAX_RESPONSE_HOURS = 720  # 30 days
MAX_WHISTLE_REPORT_HOURS = 200  # 25 working days


class RateSettings(models.Model):
    """How the rates are weighed in one district (see ``gridgov.appeals.rates.FORMULAS``)."""

    district = models.OneToOneField(
        Region,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("所属区县"),
        limit_choices_to={"kind": "district"},
    )
    basic_value = models.FloatField(_("基本满意折算值"), default=0.8, validators=SHARE)
    response_hours = models.PositiveIntegerField(
        _("响应时限(自然小时)"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_RESPONSE_HOURS)],
    )
    weight_response = models.FloatField(_("响应率权重"), default=0.2, validators=SHARE)
    weight_resolution = models.FloatField(_("解决率权重"), default=0.4, validators=SHARE)
    weight_satisfaction = models.FloatField(_("满意率权重"), default=0.4, validators=SHARE)
    whistle_report_hours = models.PositiveIntegerField(
        _("吹哨报到时限(工作小时)"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_WHISTLE_REPORT_HOURS)],
    )

    class Meta:
        verbose_name = _("考核参数")
        verbose_name_plural = _("考核参数")

    def __str__(self) -> str:
        return str(self.district)

    def clean(self) -> None:
        weights = (self.weight_response, self.weight_resolution, self.weight_satisfaction)
        if None not in weights and abs(sum(weights) - 1) > 0.001:
            # The composite score is a rate: its weights share out the whole.
            raise ValidationError(
                _("响应率权重、解决率权重、满意率权重之和须为 1（现为 %(sum)s）")
                % {"sum": round(sum(weights), 3)}
            )


TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I


def new_tracking_code() -> str:
    """10 characters from 32 symbols: 50 bits, not guessable, short enough to read out.
    One read of the system's random source; each byte's low 5 bits pick a symbol evenly."""
    return "".join(TRACKING_ALPHABET[b & 31] for b in secrets.token_bytes(10))


AMBER_SHARE = 0.8  # amber once 80 % of the time allowed has passed
GEO_CELL_DEG = 0.002  # ≈ 220 m north-south: a 3×3 block of cells covers any 100 m radius


def dup_cell(category_id: int | None, latitude: float | None, longitude: float | None) -> str:
    """The duplicate look-up's key: the category and a coarse cell of the point, in one
    column, so the look-up (an indexed ``IN`` over the nine cells around a point) has one
    index that fits it and no other to choose, whatever the table's statistics say."""
    if category_id is None or latitude is None or longitude is None:
        return ""
    row, col = math.floor(latitude / GEO_CELL_DEG), math.floor(longitude / GEO_CELL_DEG)
    return f"{category_id}:{row}:{col}"


def neighbour_cells(category_id: int, latitude: float, longitude: float) -> list[str]:
    """The ``dup_cell`` keys of the 3 × 3 cells around a point, in one category."""
    row = math.floor(latitude / GEO_CELL_DEG)
    col = math.floor(longitude / GEO_CELL_DEG)
    return [f"{category_id}:{row + dr}:{col + dc}" for dr in (-1, 0, 1) for dc in (-1, 0, 1)]


class Appeal(models.Model):
    """One resident appeal / reported problem (诉求/工单)."""

    PII_FIELDS = ("reporter_name", "reporter_phone")
    # Free text in which a resident's phone or ID number may stand (shown masked).
    PII_TEXT_FIELDS = ("description", "result", "rating_comment")

    district = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("所属区县"),
        db_index=False,  # appeal_district_created_id_idx leads with it
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("所属辖区")
    )
    region_path = models.CharField(_("辖区路径"), max_length=255, editable=False)
    grid = models.ForeignKey(
        Grid,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appeals",
        verbose_name=_("网格"),
    )
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        related_name="appeals",
        verbose_name=_("分类"),
        db_index=False,  # appeal_cat_status_idx leads with it
    )
    priority = models.CharField(
        _("紧急程度"), max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.RECEIVED
    )
    channel = models.CharField(_("来源渠道"), max_length=16, choices=Channel.choices)
    description = models.TextField(_("诉求内容"))
    # jieba tokens of the description, space-separated, written once at intake so the
    # duplicate check compares stored tokens instead of segmenting every candidate again.
    description_tokens = models.TextField(_("诉求内容分词"), blank=True, editable=False)
    address = models.CharField(_("地址"), max_length=255, blank=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    dup_cell = models.CharField(_("查重格"), max_length=40, blank=True, editable=False)
    reporter = models.ForeignKey(
        "people.Resident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appeals",
        verbose_name=_("反映人"),
    )
    reporter_name = models.CharField(_("反映人姓名"), max_length=64, blank=True)
    reporter_phone = models.CharField(_("反映人电话"), max_length=20, blank=True)
    reporter_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("反映人账号"),
    )
    # Unique by constraints (Meta), not ``unique=True``, which on PostgreSQL adds a second
    # index for LIKE look-ups that nothing makes on these columns.
    tracking_code = models.CharField(
        _("查询码"), max_length=16, default=new_tracking_code, editable=False
    )
    # NULL, not "", when absent: the unique constraint then allows any number of them.
    idempotency_key = models.CharField(  # noqa: DJ001
        _("幂等键"), max_length=128, null=True, blank=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("受理人"),
    )
    deadline = models.DateTimeField(_("办理时限"), null=True, blank=True)
    # When the current deadline's clock started: NULL for the first round (intake time,
    # ``created_at``); the moment of the last 返工 after one (see ``clock_start``).
    clock_started_at = models.DateTimeField(
        _("本轮计时起点"), null=True, blank=True, editable=False
    )
    # When the deadline colour turns amber (80 % of the time used): kept in step with the
    # deadline by save(), so "amber" is one indexed range filter.
    amber_at = models.DateTimeField(_("黄灯时间"), null=True, blank=True, editable=False)
    # The current handler: a region level (grid's community, community, street) and/or a
    # department, and the person who accepted it.
    assigned_region = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("承办层级"),
    )
    assigned_level = models.CharField(
        _("承办级别"), max_length=16, choices=Level.choices, blank=True
    )
    assigned_department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appeals",
        verbose_name=_("承办部门"),
        db_index=False,  # appeal_dept_status_idx leads with it
    )
    assigned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("承办人"),
    )
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
        verbose_name=_("重复于"),
    )
    result = models.TextField(_("办理结果"), blank=True)
    rating = models.CharField(_("评价"), max_length=16, choices=Rating.choices, blank=True)
    resolved = models.BooleanField(_("是否解决"), null=True, blank=True)
    rating_comment = models.CharField(_("评价意见"), max_length=255, blank=True)
    reopened_count = models.PositiveSmallIntegerField(_("返工次数"), default=0)
    returned_count = models.PositiveSmallIntegerField(_("退单次数"), default=0)
    supervision_count = models.PositiveSmallIntegerField(_("督办次数"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    responded_at = models.DateTimeField(_("首次响应时间"), null=True, blank=True)
    handled_at = models.DateTimeField(_("处置时间"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("超期标记时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("受理时间"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("诉求")
        verbose_name_plural = _("诉求")
        indexes = [
            # Duplicate proposal: one indexed query per intake.
            models.Index(fields=["dup_cell", "created_at"], name="appeal_dup_cell_idx"),
            models.Index(fields=["category", "status", "created_at"], name="appeal_cat_status_idx"),
            models.Index(fields=["status", "deadline"], name="appeal_status_deadline_idx"),
            models.Index(fields=["assigned_department", "status"], name="appeal_dept_status_idx"),
            # The queue's priority filter, newest first: urgent cases are few, and a scan of
            # all ids for them read the whole table (3 s on 3 million appeals).
            models.Index(fields=["priority", "id"], name="appeal_priority_id_idx"),
            # Newest first with the id as tie-breaker (Open311 pages, the lists): the index
            # order is the page order, so a page reads its rows and stops.
            models.Index(
                fields=["district", "created_at", "id"], name="appeal_district_created_id_idx"
            ),
            # The jurisdiction filter is a prefix match (``subtree_q``): the pattern operator
            # class serves it on PostgreSQL (and equality too); elsewhere a plain index.
            models.Index(
                fields=["region_path"],
                name="appeal_region_path_idx",
                opclasses=["varchar_pattern_ops"],
            ),
            # A caller's earlier appeals by phone number (the hotline form, the queue's
            # search): only rows with a number are indexed, so intake without one pays nothing.
            models.Index(
                fields=["reporter_phone", "id"],
                name="appeal_reporter_phone_idx",
                condition=~models.Q(reporter_phone=""),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["tracking_code"], name="appeal_tracking_code_uniq"),
            models.UniqueConstraint(fields=["idempotency_key"], name="appeal_idempotency_key_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_code} {self.category.name}"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # Derived columns are refreshed only when their sources are saved, so a status
        # change (update_fields=[…]) does not load the region again.
        fields = kwargs.get("update_fields")
        fields = self.fill_derived(None if fields is None else set(fields))
        if fields is not None:
            kwargs["update_fields"] = fields
        super().save(*args, **kwargs)

    def fill_derived(self, fields: set[str] | None = None) -> set[str] | None:
        """Refresh the columns derived from others (all of them, or those whose sources are
        in ``fields``); returns ``fields`` with the derived columns added."""
        if fields is None or "region" in fields:
            self.region_path = self.region.path
            self.district_id = self.region.district_id or self.region_id
            if fields is not None:
                fields |= {"region_path", "district"}
        if fields is None or {"category", "latitude", "longitude"} & fields:
            self.dup_cell = dup_cell(self.category_id, self.latitude, self.longitude)
            if fields is not None:
                fields.add("dup_cell")
        if fields is None or "deadline" in fields:
            start = self.clock_start
            self.amber_at = start + (self.deadline - start) * AMBER_SHARE if self.deadline else None
            if fields is not None:
                fields.add("amber_at")
        return fields

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def clock_start(self) -> dt.datetime:
        """Where the current deadline's time is counted from: intake, or the last 返工."""
        return self.clock_started_at or self.created_at


class AppealEvent(models.Model):
    """Append-only history of an appeal: the timeline and the source of the rates."""

    appeal = models.ForeignKey(
        Appeal,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("诉求"),
        db_index=False,  # appealevent_appeal_at_idx leads with it
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("操作人"),
    )
    action = models.CharField(_("动作"), max_length=24, choices=Action.choices)
    from_status = models.CharField(_("原状态"), max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, choices=Status.choices, blank=True)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("诉求流转记录")
        verbose_name_plural = _("诉求流转记录")
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["appeal", "at"], name="appealevent_appeal_at_idx"),
            models.Index(fields=["action", "at"], name="appealevent_action_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class PhotoStage(models.TextChoices):
    INTAKE = "intake", _("受理照片")
    RESULT = "result", _("处置照片")


def photo_path(instance: AppealPhoto, filename: str) -> str:
    now = timezone.now()
    return f"appeals/{now:%Y/%m}/{secrets.token_hex(12)}.{filename.rsplit('.', 1)[-1]}"


class AppealPhoto(models.Model):
    """A photo (JPEG/PNG ≤ 8 MB), re-encoded without EXIF/GPS before it is stored."""

    appeal = models.ForeignKey(
        Appeal, on_delete=models.CASCADE, related_name="photos", verbose_name=_("诉求")
    )
    stage = models.CharField(
        _("阶段"), max_length=8, choices=PhotoStage.choices, default=PhotoStage.INTAKE
    )
    file = models.FileField(_("文件"), upload_to=photo_path)
    content_type = models.CharField(_("类型"), max_length=32)
    size = models.PositiveIntegerField(_("大小(字节)"))
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        verbose_name = _("诉求照片")
        verbose_name_plural = _("诉求照片")

    def __str__(self) -> str:
        return self.file.name


class AppealWhistle(models.Model):
    """吹哨: a community or street calls a department, which must report (报到) in time."""

    appeal = models.ForeignKey(
        Appeal, on_delete=models.CASCADE, related_name="whistles", verbose_name=_("诉求")
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="whistles", verbose_name=_("部门")
    )
    whistled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("吹哨人"),
    )
    whistled_at = models.DateTimeField(_("吹哨时间"), default=timezone.now)
    report_deadline = models.DateTimeField(_("报到时限"))
    reported_at = models.DateTimeField(_("报到时间"), null=True, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("报到人"),
    )
    flagged_at = models.DateTimeField(_("超时标记"), null=True, blank=True)

    class Meta:
        verbose_name = _("吹哨报到")
        verbose_name_plural = _("吹哨报到")
        constraints = [
            models.UniqueConstraint(fields=["appeal", "department"], name="whistle_unique")
        ]
        indexes = [models.Index(fields=["department", "reported_at"], name="whistle_dept_idx")]

    def __str__(self) -> str:
        return f"{self.appeal_id} → {self.department}"


class ExtensionRequest(models.Model):
    """延期: requested by the handler, approved or refused by the dispatcher/supervisor."""

    appeal = models.ForeignKey(
        Appeal, on_delete=models.CASCADE, related_name="extensions", verbose_name=_("诉求")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("申请人"),
    )
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    working_days = models.PositiveSmallIntegerField(_("延长工作日"))
    reason = models.CharField(_("理由"), max_length=255)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("审批人"),
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    approved = models.BooleanField(_("是否批准"), null=True, blank=True)
    old_deadline = models.DateTimeField(_("原时限"), null=True, blank=True)
    new_deadline = models.DateTimeField(_("新时限"), null=True, blank=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")

    def __str__(self) -> str:
        return f"{self.appeal_id} +{self.working_days}"

    @property
    def lapsed(self) -> bool:
        """Closed without a decision: the case left the requester's unit first."""
        return self.approved is False and self.decided_by_id is None


class NotificationKind(models.TextChoices):
    DISPATCHED = "dispatched", _("新派遣")
    WHISTLED = "whistled", _("吹哨")
    RETURNED = "returned", _("退单")
    REMINDER = "reminder", _("到期提醒")
    OVERDUE = "overdue", _("超期")
    SUPERVISED = "supervised", _("督办")
    EXTENSION = "extension", _("延期")
    OUTCOME = "outcome", _("办理结果")
    WHISTLE_LATE = "whistle_late", _("报到超时")
    OTHER = "other", _("其他")


class Notification(models.Model):
    """One message in a user's in-app inbox."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("接收人"),
    )
    appeal = models.ForeignKey(
        Appeal,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("诉求"),
    )
    kind = models.CharField(_("类型"), max_length=16, choices=NotificationKind.choices)
    text = models.CharField(_("内容"), max_length=500)
    # The untranslated message and its parameters: the inbox shows each reader the text in
    # their own language (``shown_text``); ``text`` is its rendering in the system's language.
    message = models.CharField(
        _("消息模板"), max_length=500, blank=True, default="", editable=False
    )
    params = models.JSONField(_("消息参数"), default=dict, blank=True, editable=False)
    dedupe_key = models.CharField(
        _("去重键"), max_length=128, unique=True, null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内通知")
        verbose_name_plural = _("站内通知")
        ordering = ["-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]

    def __str__(self) -> str:
        return self.text[:40]

    @property
    def shown_text(self) -> str:
        """The text in the active (the reader's) language, masked. A row written before
        messages were kept, or whose message no longer fits its parameters, shows ``text``."""
        if self.message:
            try:
                notice = Notice.from_stored(self.message, self.params or {})
                return mask_text(notice.render(translation.get_language()))
            except (KeyError, TypeError, ValueError):
                pass
        return mask_text(self.text)


class OutboxChannel(models.TextChoices):
    EMAIL = "email", _("邮件")
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信")


class OutboxMessage(models.Model):
    """A message to send outside (e-mail, SMS, WeChat). Written in the same transaction as
    the change it reports; a worker sends it after commit and retries with backoff."""

    channel = models.CharField(_("渠道"), max_length=8, choices=OutboxChannel.choices)
    recipient = models.CharField(_("接收方"), max_length=255)
    payload = models.JSONField(_("内容"), default=dict)
    dedupe_key = models.CharField(
        _("去重键"), max_length=128, unique=True, null=True, blank=True, editable=False
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), default=timezone.now)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("待发消息")
        verbose_name_plural = _("待发消息")
        indexes = [models.Index(fields=["sent_at", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        # Shown in admin titles, breadcrumbs and row labels: never the full phone or address.
        return f"{self.channel} → {mask_contact(self.recipient)}"
