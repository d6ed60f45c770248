"""Forms for the people pages: they parse input; services decide and validate the rest."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.people.models import (
    BusinessKind,
    Gender,
    OccupancyRole,
    PartyCoverage,
    PartyOrgKind,
    RoleKind,
    Tenure,
)


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=_("查看事由"),
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("如：入户走访核实联系方式")}),
    )


class ChangeTenantForm(forms.Form):
    """A rented flat changes tenants: who leaves, who comes, from when."""

    leaving = forms.MultipleChoiceField(
        label=_("迁出人员"), required=False, widget=forms.CheckboxSelectMultiple
    )
    name = forms.CharField(label=_("新住户姓名"), max_length=64, required=False)
    phone = forms.CharField(
        label=_("新住户联系电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    id_number = forms.CharField(label=_("新住户身份证号"), max_length=18, required=False)
    gender = forms.ChoiceField(
        label=_("性别"), required=False, choices=[("", _("（按身份证号）")), *Gender.choices]
    )
    moved_on = forms.DateField(
        label=_("变更日期"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    tenure = forms.ChoiceField(
        label=_("变更后居住类型"), required=False, choices=[("", _("（自动）")), *Tenure.choices]
    )

    def __init__(self, *args, occupants=(), **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["leaving"].choices = [
            (str(o["resident_id"]), _("%(a)s（%(b)s）") % {"a": o["name"], "b": o["role"]})
            for o in occupants
        ]


class BusinessOpenForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=128)
    kind = forms.ChoiceField(label=_("类型"), choices=BusinessKind.choices)
    region = forms.ChoiceField(label=_("所属辖区"))
    grid = forms.ChoiceField(label=_("网格"), required=False)
    address = forms.CharField(label=_("地址"), max_length=255, required=False)
    contact_name = forms.CharField(label=_("联系人"), max_length=64, required=False)
    contact_phone = forms.CharField(
        label=_("联系电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    opened_on = forms.DateField(
        label=_("开业日期"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, regions=(), grids=(), **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(str(r.pk), f"{'　' * r.depth}{r.name}") for r in regions]
        self.fields["grid"].choices = [("", _("（自动）"))] + [(str(g.pk), g.name) for g in grids]


class BusinessCloseForm(forms.Form):
    closed_on = forms.DateField(
        label=_("关闭日期"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    note = forms.CharField(label=_("说明"), max_length=255, required=False)


class PartyOrgForm(forms.Form):
    kind = forms.ChoiceField(label=_("组织类型"), choices=PartyOrgKind.choices)
    name = forms.CharField(label=_("名称"), max_length=128)
    parent = forms.ChoiceField(label=_("上级组织"), required=False)
    region = forms.ChoiceField(label=_("所属辖区"))
    secretary = forms.CharField(label=_("书记"), max_length=64, required=False)

    def __init__(self, *args, orgs=(), regions=(), **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", _("（无，街道党工委）"))] + [
            (str(o.pk), o.name) for o in orgs
        ]
        self.fields["region"].choices = [(str(r.pk), f"{'　' * r.depth}{r.name}") for r in regions]


class CoverageForm(forms.Form):
    coverage = forms.ChoiceField(label=_("党建覆盖"), choices=PartyCoverage.choices)
    party_member_count = forms.IntegerField(label=_("党员数"), min_value=0, required=False)


class RoleAssignForm(forms.Form):
    """Appoint a grid worker, one of the five heads, a 五老 or a representative."""

    kind = forms.ChoiceField(label=_("角色"), choices=RoleKind.choices)
    grid = forms.ChoiceField(label=_("网格"), required=False)
    region = forms.ChoiceField(label=_("或辖区（无网格的岗位）"), required=False)
    person_name = forms.CharField(label=_("姓名"), max_length=64)
    phone = forms.CharField(
        label=_("联系电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    username = forms.CharField(
        label=_("已有账号（用户名，可不填）"), max_length=150, required=False
    )
    detail = forms.CharField(label=_("说明"), max_length=128, required=False)

    def __init__(self, *args, grids=(), regions=(), **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["grid"].choices = [("", "—")] + [(str(g.pk), g.name) for g in grids]
        self.fields["region"].choices = [("", "—")] + [
            (str(r.pk), f"{'　' * r.depth}{r.name}") for r in regions
        ]


class ResidentCreateForm(forms.Form):
    """Register a resident (人); with a room, they are recorded as living in that house."""

    name = forms.CharField(label=_("姓名"), max_length=64)
    gender = forms.ChoiceField(
        label=_("性别"), required=False, choices=[("", _("（按身份证号）")), *Gender.choices]
    )
    id_number = forms.CharField(label=_("身份证号"), max_length=18, required=False)
    phone = forms.CharField(
        label=_("联系电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    region = forms.ChoiceField(label=_("所属辖区（社区、小区或楼栋）"))
    room = forms.CharField(label=_("房号（可不填）"), max_length=32, required=False)
    occupancy_role = forms.ChoiceField(
        label=_("居住关系"), required=False, choices=[("", _("（按房屋）")), *OccupancyRole.choices]
    )
    tags = forms.CharField(label=_("标签"), max_length=255, required=False)
    is_party_member = forms.BooleanField(label=_("党员"), required=False)

    def __init__(self, *args, regions=(), **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(str(r.pk), f"{'　' * r.depth}{r.name}") for r in regions]


class HouseCreateForm(forms.Form):
    region = forms.ChoiceField(label=_("楼栋（或小区、单元）"))
    room = forms.CharField(label=_("房号"), max_length=32)
    tenure = forms.ChoiceField(label=_("居住类型"), choices=Tenure.choices)
    area_m2 = forms.DecimalField(
        label=_("面积(平方米)"), max_digits=8, decimal_places=2, required=False, min_value=0
    )
    address = forms.CharField(label=_("详细地址（可不填）"), max_length=255, required=False)

    def __init__(self, *args, regions=(), **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(str(r.pk), f"{'　' * r.depth}{r.name}") for r in regions]


class ResidentUpdateForm(forms.Form):
    """Update what changes often; blank personal fields stay as they are (never prefilled)."""

    phone = forms.CharField(
        label=_("新联系电话（不改请留空）"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    tags = forms.CharField(label=_("标签"), max_length=255, required=False)
    is_party_member = forms.BooleanField(label=_("党员"), required=False)
    is_active = forms.BooleanField(label=_("在册（取消即为迁出或注销）"), required=False)
