"""Forms of the appeal pages: they parse input; the services decide and raise DomainError."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.appeals.models import Category, Channel, Priority, Rating, Status
from gridgov.appeals.selectors import range_bounds, stats_regions
from gridgov.appeals.services import PHONE_INCOMPLETE, phone_searched
from gridgov.core.db import valid_pk
from gridgov.core.errors import ValidationFailed
from gridgov.core.pii import mask_text
from gridgov.core.scope import scope_queryset
from gridgov.people.validators import id_number_error
from gridgov.territory.models import Department, Grid, Region, RegionKind

COLOUR_CHOICES = [("", _("全部")), ("green", _("绿灯")), ("amber", _("黄灯")), ("red", _("红灯"))]


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Zero or more photos; the service checks format and size (field ``photos``)."""

    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png", "multiple": True})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(PhotosField, self).clean(f, initial) for f in files if f]


def district_for(user: Any) -> Region | None:
    """The district a user works in; for residents (no account) the deployment's district."""
    region = getattr(user, "scope_region", None) if getattr(user, "is_authenticated", 0) else None
    if region is not None:
        return region if region.kind == RegionKind.DISTRICT else region.district
    return Region.objects.filter(kind=RegionKind.DISTRICT).order_by("pk").first()


def category_choices(district: Region | None) -> list[Any]:
    """The two-level taxonomy as grouped choices: parent → its children."""
    if district is None:
        return []
    rows = list(
        Category.objects.filter(district=district, is_active=True)
        .select_related("parent")
        .order_by("order", "code")
    )
    children: dict[int, list[Category]] = {}
    for row in rows:
        if row.parent_id:
            children.setdefault(row.parent_id, []).append(row)
    out: list[Any] = [("", _("请选择分类"))]
    for row in rows:
        if row.parent_id:
            continue
        kids = children.get(row.pk)
        if kids:
            out.append((row.name, [(str(k.pk), k.name) for k in kids]))
        else:
            out.append((str(row.pk), row.name))
    return out


def category_filter_choices(district: Region | None) -> list[Any]:
    """For filters: top-level categories (which include their children) and the children."""
    out: list[Any] = [("", _("全部"))]
    if district is None:
        return out
    rows = list(
        Category.objects.filter(district=district, is_active=True)
        .select_related("parent")
        .order_by("order", "code")
    )
    for top in (r for r in rows if not r.parent_id):
        kids = [r for r in rows if r.parent_id == top.pk]
        label = _("%(name)s（全部）") % {"name": top.name} if kids else top.name
        out.append((str(top.pk), label))
        out += [(str(k.pk), f"{top.name} / {k.name}") for k in kids]
    return out


def target_choices(user: Any) -> list[Any]:
    """Where a dispatcher may send a case: grids, communities/streets in scope, departments.

    Values are ``g:<id>``, ``r:<id>`` and ``d:<id>`` so one keyboard-friendly select does.
    """
    district = district_for(user)
    grids = scope_queryset(
        Grid.objects.select_related("region").order_by("code"), user, field="region_path"
    )[:300]
    regions = scope_queryset(
        Region.objects.filter(
            kind__in=[RegionKind.COMMUNITY, RegionKind.STREET, RegionKind.TOWNSHIP]
        ).order_by("path"),
        user,
        field="path",
    )[:300]
    depts = Department.objects.filter(district=district, is_active=True).order_by("code")[:300]
    return [
        ("", _("请选择派遣对象")),
        (_("职能部门"), [(f"d:{d.pk}", d.name) for d in depts]),
        (_("社区/街道"), [(f"r:{r.pk}", r.name) for r in regions]),
        (
            _("网格"),
            [(f"g:{g.pk}", _("%(a)s（%(b)s）") % {"a": g.name, "b": g.region.name}) for g in grids],
        ),
    ]


def resolve_target(value: str, user: Any) -> dict[str, Any]:
    """``g:1`` → {"grid": Grid}; the service checks jurisdiction and kind."""
    kind, _sep, number = (value or "").partition(":")
    model = {"g": Grid, "r": Region, "d": Department}.get(kind)
    pk = valid_pk(number)
    row = model.objects.filter(pk=pk).first() if model and pk is not None else None
    if row is None:
        raise ValidationFailed(_("请选择一个派遣对象：网格、社区/街道或部门"), field="target")
    return {{"g": "grid", "r": "region", "d": "department"}[kind]: row}


class CategoryFormMixin:
    def setup_categories(self, district: Region | None) -> None:
        self.district = district
        self.fields["category"].choices = category_choices(district)

    def clean_category(self) -> Category:
        value = self.cleaned_data.get("category")
        pk = valid_pk(value)
        row = (
            Category.objects.filter(Category.accepting_q(), pk=pk, district=self.district).first()
            if pk is not None
            else None
        )
        if row is None:
            raise forms.ValidationError(_("请选择有效的诉求分类"))
        return row


class PointMixin:
    def clean(self) -> dict[str, Any]:
        data = super().clean()  # type: ignore[misc]
        lat, lng = data.get("latitude"), data.get("longitude")
        if (lat is None) != (lng is None):
            self.add_error("latitude", _("经纬度须同时填写"))
        return data


class ResidentReportForm(PointMixin, CategoryFormMixin, forms.Form):
    """居民自助反映 (no account)."""

    category = forms.ChoiceField(label=_("问题分类"))
    description = forms.CharField(
        label=_("问题描述"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("请描述发生了什么、在哪里")}),
    )
    latitude = forms.FloatField(required=False, widget=forms.HiddenInput)
    longitude = forms.FloatField(required=False, widget=forms.HiddenInput)
    address = forms.CharField(
        label=_("地址"),
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("如：47.49号院 3号楼东侧")}),
    )
    photos = PhotosField(label=_("照片（可选）"))
    reporter_name = forms.CharField(label=_("称呼（可选）"), max_length=64, required=False)
    reporter_phone = forms.CharField(
        label=_("联系电话（可选，用于接收办理结果）"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def __init__(self, *args: Any, district: Region | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_categories(district)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            data.get("latitude") is None
            and not (data.get("address") or "").strip()
            and not self.has_error("latitude")
        ):
            self.add_error("address", _("请点击“使用我的位置”或填写地址"))
        return data


class ReporterRecordForm(forms.Form):
    """Staff intake: the reporter's ID number links the case to their resident record
    (居民档案); name and phone, when left blank, come from the record."""

    reporter_id_number = forms.CharField(
        label=_("反映人身份证号（可选，关联居民档案）"), max_length=18, required=False
    )

    def clean_reporter_id_number(self) -> str:
        value = self.cleaned_data["reporter_id_number"].strip().upper()
        if value and (error := id_number_error(value)):
            raise forms.ValidationError(error)
        return value


class GridReportForm(PointMixin, CategoryFormMixin, ReporterRecordForm):
    """网格员上报: photo and the phone's location; the grid follows from the point."""

    category = forms.ChoiceField(label=_("事件分类"))
    channel = forms.ChoiceField(
        label=_("来源"),
        choices=[
            (c, c.label)
            for c in (
                Channel.GRID_PATROL,
                Channel.DOORSTEP,
                Channel.MEETING,
                Channel.REPRESENTATIVE,
            )
        ],
        initial=Channel.GRID_PATROL,
        required=False,
        widget=forms.RadioSelect,
    )
    priority = forms.ChoiceField(
        label=_("紧急程度"), choices=[("", _("按分类默认")), *Priority.choices], required=False
    )
    description = forms.CharField(
        label=_("事件描述"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    latitude = forms.FloatField(required=False, widget=forms.HiddenInput)
    longitude = forms.FloatField(required=False, widget=forms.HiddenInput)
    address = forms.CharField(label=_("地址/位置说明"), max_length=255, required=False)
    photos = PhotosField(label=_("现场照片"))
    handle_myself = forms.BooleanField(
        label=_("本人就地处置（小事不出网格）"),
        help_text=_("在本人网格内、能当场解决的事：上报后由您签收，处置后填写结果"),
        required=False,
    )
    reporter_name = forms.CharField(label=_("反映人（可选）"), max_length=64, required=False)
    reporter_phone = forms.CharField(
        label=_("反映人电话（可选）"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )

    def __init__(self, *args: Any, district: Region | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_categories(district)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # Without a point (the phone could not locate) the address places it in the worker's
        # own community, for the community to locate.
        if (
            data.get("latitude") is None
            and not (data.get("address") or "").strip()
            and not self.has_error("latitude")
        ):
            self.add_error("latitude", _("请点击“获取当前位置”或填写地址/位置说明"))
        return data


class HotlineForm(PointMixin, CategoryFormMixin, ReporterRecordForm):
    """热线受理: few fields, in the order the operator asks them on the phone."""

    reporter_phone = forms.CharField(
        label=_("来电号码"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autofocus": True}),
    )
    reporter_name = forms.CharField(label=_("来电人"), max_length=64, required=False)
    category = forms.ChoiceField(label=_("分类"))
    priority = forms.ChoiceField(
        label=_("紧急程度"), choices=[("", _("按分类默认")), *Priority.choices], required=False
    )
    region = forms.ModelChoiceField(
        label=_("所属社区"), queryset=Region.objects.none(), required=False
    )
    address = forms.CharField(label=_("地址"), max_length=255, required=False)
    latitude = forms.FloatField(label=_("纬度"), required=False)
    longitude = forms.FloatField(label=_("经度"), required=False)
    description = forms.CharField(
        label=_("诉求内容"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    # A matter raised at a station, a deliberation meeting or by a representative is
    # registered here too, under its own channel.
    channel = forms.ChoiceField(
        label=_("来源渠道"),
        choices=[
            (c, c.label)
            for c in (Channel.HOTLINE, Channel.DOORSTEP, Channel.MEETING, Channel.REPRESENTATIVE)
        ],
        initial=Channel.HOTLINE,
        required=False,
    )
    register = forms.BooleanField(label=_("同时立案"), required=False, initial=True)
    target = forms.ChoiceField(label=_("立即派遣至（可选）"), required=False)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_categories(district_for(user))
        self.fields["region"].queryset = scope_queryset(
            Region.objects.filter(kind=RegionKind.COMMUNITY).order_by("path"), user, field="path"
        )
        self.fields["region"].empty_label = _("按坐标自动确定")
        self.fields["target"].choices = target_choices(user)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("target") and not data.get("register"):
            self.add_error("register", _("派遣前须先立案，请勾选“同时立案”"))
        if data.get("latitude") is None and data.get("region") is None:
            self.add_error("region", _("请选择所属社区或填写坐标"))
        return data


class PhoneSearchForm(forms.Form):
    """The work queue's search by the number a caller calls from (in any spelling: see
    services.phone_searched). Posted, so that the number never stands in an address, the
    browser's history or a server log."""

    reporter_phone = forms.CharField(
        label=_("反映人电话"),
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )

    def clean_reporter_phone(self) -> str:
        value = self.cleaned_data["reporter_phone"].strip()
        if phone_searched(value) is None:
            raise forms.ValidationError(PHONE_INCOMPLETE)
        return value


class QueueFilterForm(forms.Form):
    # An operator answering a follow-up call finds the case by the code the caller reads out
    # (or by the number they call from: PhoneSearchForm, posted).
    code = forms.CharField(label=_("查询码"), max_length=16, required=False)
    status = forms.ChoiceField(
        label=_("状态"), choices=[("", _("全部")), *list(Status.choices)], required=False
    )
    category = forms.ChoiceField(label=_("分类"), required=False)
    priority = forms.ChoiceField(
        label=_("紧急程度"), choices=[("", _("全部")), *list(Priority.choices)], required=False
    )
    colour = forms.ChoiceField(label=_("时限"), choices=COLOUR_CHOICES, required=False)
    channel = forms.ChoiceField(
        label=_("渠道"), choices=[("", _("全部")), *list(Channel.choices)], required=False
    )

    def __init__(self, *args: Any, district: Region | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_filter_choices(district)

    def filters(self) -> dict[str, Any]:
        """The filters that are valid; the form keeps the others' errors to show."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if v}
        if "code" in data:
            data["code"] = data["code"].strip().upper()
        if "category" in data:
            data["category"] = int(data["category"])
        return data


class BulkDispatchForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(label=_("选中的诉求"), coerce=int, choices=())
    target = forms.ChoiceField(label=_("派遣至"))
    note = forms.CharField(label=_("派遣说明"), max_length=500, required=False)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = target_choices(user)
        ids = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        self.fields["ids"].choices = [(i, i) for i in ids if valid_pk(i) is not None]
        self.fields["ids"].error_messages["required"] = _("请至少选择一件诉求")


# ---------------------------------------------------------------- actions on one appeal


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("说明（可选）"), max_length=500, required=False, widget=forms.TextInput()
    )


class CloseForm(forms.Form):
    """结案: the note is required only for a supervisor closing an unsatisfied case."""

    note = forms.CharField(
        label=_("结案说明（居民不满意时必填）"),
        max_length=500,
        required=False,
        widget=forms.TextInput(),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("理由"), max_length=500, widget=forms.TextInput())


class WithdrawForm(forms.Form):
    """Staff record the reporter's withdrawal: the reason is required."""

    note = forms.CharField(label=_("撤回理由"), max_length=500, widget=forms.TextInput())


class RegisterForm(CategoryFormMixin, forms.Form):
    category = forms.ChoiceField(label=_("分类"), required=False)
    priority = forms.ChoiceField(
        label=_("紧急程度"), choices=[("", _("不变")), *list(Priority.choices)], required=False
    )
    note = forms.CharField(label=_("说明（可选）"), max_length=500, required=False)

    def __init__(self, *args: Any, district: Region | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_categories(district)
        # Left blank, the case keeps its category: the first choice says so.
        self.fields["category"].choices = [("", _("不变")), *self.fields["category"].choices[1:]]

    def clean_category(self) -> Category | None:
        if not self.cleaned_data.get("category"):
            return None
        return super().clean_category()


class DispatchForm(forms.Form):
    target = forms.ChoiceField(label=_("派遣至"))
    note = forms.CharField(label=_("派遣说明（可选）"), max_length=500, required=False)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = target_choices(user)


class HandleForm(forms.Form):
    result = forms.CharField(
        label=_("办理结果"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    photos = PhotosField(label=_("处置照片（可选）"))


class VerifyForm(forms.Form):
    rating = forms.ChoiceField(label=_("满意度"), choices=Rating.choices, widget=forms.RadioSelect)
    resolved = forms.TypedChoiceField(
        label=_("问题是否解决"),
        choices=[("1", _("已解决")), ("0", _("未解决"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(label=_("意见（可选）"), max_length=255, required=False)


class ExtendRequestForm(forms.Form):
    working_days = forms.IntegerField(label=_("延长工作日"), min_value=1, max_value=30)
    reason = forms.CharField(label=_("延期理由"), max_length=500)


class ExtendDecideForm(forms.Form):
    approve = forms.TypedChoiceField(
        label=_("审批"),
        choices=[("1", _("批准")), ("0", _("不批准"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("说明（可选）"), max_length=500, required=False)


class SuperviseForm(forms.Form):
    note = forms.CharField(label=_("督办意见"), max_length=500)


class WhistleForm(forms.Form):
    departments = forms.ModelMultipleChoiceField(
        label=_("吹哨部门"),
        queryset=Department.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(label=_("说明（可选）"), max_length=500, required=False)

    def __init__(self, *args: Any, district: Region | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["departments"].queryset = Department.objects.filter(
            Q(district=district), is_active=True
        ).order_by("code")
        self.fields["departments"].error_messages["required"] = _("请选择至少一个部门")


class MergeForm(forms.Form):
    """合并: the duplicates ticked, or (``all=1``, the 全部合并 button) every one proposed:
    twelve reports of one broken lift are merged in one step."""

    duplicates = forms.TypedMultipleChoiceField(
        label=_("重复件"),
        coerce=int,
        choices=(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        # Merged by someone else meanwhile (or sent twice): say so, not Django's generic text.
        error_messages={
            "invalid_choice": _("所选的重复件已被合并或不再是疑似重复，请核对后重新选择")
        },
    )
    note = forms.CharField(label=_("说明（可选）"), max_length=500, required=False)

    def __init__(self, *args: Any, candidates: list[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["duplicates"].choices = [(c.pk, _candidate_label(c)) for c in candidates]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.data.get("all") == "1":
            data["duplicates"] = [pk for pk, _label in self.fields["duplicates"].choices]
        if not data.get("duplicates") and "duplicates" not in self.errors:
            self.add_error("duplicates", _("请选择要合并的重复件"))
        return data


def _candidate_label(case: Any) -> str:
    """A proposed duplicate as the operator weighs it: code, how far, when, how alike."""
    parts = [case.tracking_code]
    if getattr(case, "distance_m", None) is not None:
        parts.append(_("%(d)s 米") % {"d": case.distance_m})
    parts.append(f"{timezone.localtime(case.created_at):%m-%d %H:%M}")
    if getattr(case, "similarity", None) is not None:
        parts.append(_("相似度 %(s)s") % {"s": case.similarity})
    return " · ".join(parts) + f" {mask_text(case.description)[:30]}"


class RevealForm(forms.Form):
    reason = forms.CharField(label=_("查看事由"), max_length=255)


class TrackForm(forms.Form):
    code = forms.CharField(
        label=_("查询码"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )


class ReporterPhoneMixin:
    """Acting with the tracking code on a case with a phone number on file (``needs_phone``):
    the number is asked too, since the staff who handle the case read its code."""

    def __init__(self, *args: Any, needs_phone: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if needs_phone:
            self.fields["reporter_phone"] = forms.CharField(
                label=_("反映问题时留下的联系电话"),
                max_length=20,
                help_text=_("核对号码后才能评价、返工或撤回，以防查询码被他人冒用"),
                widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
            )


class RateForm(ReporterPhoneMixin, VerifyForm):
    """The resident's own rating (with the tracking code)."""


class TrackWithdrawForm(ReporterPhoneMixin, NoteForm):
    """The resident withdraws with the tracking code; the note is optional."""


class TrackReopenForm(ReporterPhoneMixin, ReasonForm):
    """The resident asks for the case to be handled again (返工)."""


# ---------------------------------------------------------------- rates


STATS_PERIODS = [
    ("today", _("今日")),
    ("yesterday", _("昨日")),
    ("week", _("本周")),
    ("last_week", _("上周")),
    ("month", _("本月")),
    ("last_month", _("上月")),
    ("quarter", _("本季度")),
    ("last_quarter", _("上季度")),
    ("year", _("本年")),
    ("last_year", _("上年")),
    ("custom", _("自定义日期")),
]
STATS_GROUPINGS = [
    ("none", _("合计")),
    ("region", _("按辖区")),
    ("department", _("按部门")),
    ("category", _("按分类")),
    ("month", _("按月")),
]


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Region) -> str:
        if obj.kind == RegionKind.COMMUNITY and obj.parent_id:
            return f"{obj.parent.name} / {obj.name}"
        return obj.name


class StatsFilterForm(forms.Form):
    """三率统计的条件: a period (current or previous) or, with 自定义日期, the days from
    ``start`` to ``end`` (both included, at most three years); a street or community in the
    user's jurisdiction; the grouping. Dates with another period are an error (field
    period), as in the API."""

    period = forms.ChoiceField(
        label=_("统计周期"),
        choices=STATS_PERIODS,
        initial="month",
        required=False,
        error_messages={"invalid_choice": _("统计周期无效")},
    )
    start = forms.DateField(
        label=_("开始日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("开始日期无效，请按 年-月-日 填写，如 2025-03-01")},
    )
    end = forms.DateField(
        label=_("结束日期（含当日）"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("结束日期无效，请按 年-月-日 填写，如 2025-03-31")},
    )
    region = RegionChoiceField(
        label=_("辖区"),
        queryset=Region.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("所选辖区不存在或不在您的管辖范围内")},
    )
    group_by = forms.ChoiceField(
        label=_("分组"),
        choices=STATS_GROUPINGS,
        initial="region",
        required=False,
        error_messages={"invalid_choice": _("分组方式无效")},
    )
    # The heading of the table's first column for each grouping: what its rows are.
    GROUP_HEADINGS = {
        "none": _("统计范围"),
        "region": _("辖区"),
        "department": _("部门"),
        "category": _("分类"),
        "month": _("受理月份"),
    }

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = stats_regions(actor=user)
        self.fields["region"].empty_label = _("全部辖区")
        # Filters sent without a period count this month (``clean``): the menus say so too,
        # not the first choice of each.
        for name in ("period", "group_by"):
            if self.is_bound and not self.data.get(name):
                self.data = self.data.copy()
                self.data[name] = self.fields[name].initial

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["period"] = data.get("period") or "month"
        data["group_by"] = data.get("group_by") or "region"
        data["bounds"] = None
        custom = data["period"] == "custom"
        if not custom and (data.get("start") or data.get("end")):
            # As the API answers: dates that would be dropped without a word are an error.
            self.add_error("period", _("按起止日期统计请选择“自定义日期”，否则请清空日期"))
        elif custom and not (self.has_error("start") or self.has_error("end")):
            try:
                data["bounds"] = range_bounds(data.get("start"), data.get("end"))
            except ValidationFailed as exc:
                self.add_error(exc.field, exc.message)
        return data
