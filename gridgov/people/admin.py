"""Back office for the people registry: every list scoped, personal data masked in lists and
titles; a change page that shows a person's data in full is a logged reveal."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.services import pii_reveal
from gridgov.core.admin import ScopedAdmin
from gridgov.core.pii import mask_id_number, mask_name, mask_phone
from gridgov.people.models import (
    Business,
    House,
    Household,
    NewOrg,
    Occupancy,
    PartnerUnit,
    PartyMember,
    PartyOrg,
    Resident,
    RoleAssignment,
)


class OccupancyInline(admin.TabularInline):
    model = Occupancy
    extra = 0
    raw_id_fields = ("resident",)
    fields = ("resident", "role", "started_on", "ended_on")


class RevealOnChangePage(ScopedAdmin):
    """A change page shows a person's data in full, to correct it: opening it is a reveal,
    as on the site's own pages. It needs the reveal capability (403 without) and is written
    to the personal-data access log with the fields shown. Lists and titles stay masked."""

    pii_fields: tuple[str, ...] = ()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "GET":
            obj = self.get_object(request, unquote(object_id))
            if obj is not None:
                pii_reveal(
                    actor=request.user,
                    subject=obj,
                    fields=[f for f in self.pii_fields if getattr(obj, f)],
                    reason="后台管理页面查看、修改",  # a log row is data: the system's language
                    region_path=obj.region_path,
                )
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Resident)
class ResidentAdmin(RevealOnChangePage):
    list_display = (
        "masked_name",
        "gender",
        "masked_phone",
        "masked_id_number",
        "region",
        "grid",
        "is_party_member",
        "is_active",
    )
    list_filter = ("is_party_member", "is_active", "gender")
    raw_id_fields = ("region", "grid", "household")
    list_select_related = ("region", "grid")
    exclude = ("district",)
    pii_fields = Resident.PII_FIELDS

    @admin.display(description=_("姓名"))
    def masked_name(self, obj: Resident) -> str:
        return mask_name(obj.name)

    @admin.display(description=_("联系电话"))
    def masked_phone(self, obj: Resident) -> str:
        return mask_phone(obj.phone)

    @admin.display(description=_("身份证号"))
    def masked_id_number(self, obj: Resident) -> str:
        return mask_id_number(obj.id_number)


@admin.register(House)
class HouseAdmin(ScopedAdmin):
    list_display = ("__str__", "room", "tenure", "grid")
    list_filter = ("tenure",)
    raw_id_fields = ("region", "grid")
    list_select_related = ("region", "grid")
    exclude = ("district",)
    inlines = [OccupancyInline]


@admin.register(Household)
class HouseholdAdmin(ScopedAdmin):
    list_display = ("__str__", "region")
    raw_id_fields = ("region", "house", "head")
    exclude = ("district",)


@admin.register(Business)
class BusinessAdmin(ScopedAdmin):
    list_display = ("name", "kind", "status", "grid", "masked_phone", "opened_on", "closed_on")
    list_filter = ("status", "kind")
    search_fields = ("name",)
    raw_id_fields = ("region", "grid")
    list_select_related = ("grid",)
    exclude = ("district",)

    @admin.display(description=_("联系电话"))
    def masked_phone(self, obj: Business) -> str:
        return mask_phone(obj.contact_phone)


@admin.register(PartyOrg)
class PartyOrgAdmin(ScopedAdmin):
    list_display = ("name", "kind", "parent", "region", "secretary")
    list_filter = ("kind",)
    search_fields = ("name",)
    raw_id_fields = ("region", "parent", "household")
    list_select_related = ("parent", "region")
    exclude = ("district",)


@admin.register(PartyMember)
class PartyMemberAdmin(RevealOnChangePage):
    list_display = ("masked_name", "kind", "branch", "region", "masked_phone")
    list_filter = ("kind",)
    raw_id_fields = ("region", "branch", "resident", "workplace", "user")
    list_select_related = ("branch", "region")
    exclude = ("district",)
    pii_fields = ("name", "phone")

    @admin.display(description=_("姓名"))
    def masked_name(self, obj: PartyMember) -> str:
        return mask_name(obj.name)

    @admin.display(description=_("联系电话"))
    def masked_phone(self, obj: PartyMember) -> str:
        return mask_phone(obj.phone)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ScopedAdmin):
    list_display = (
        "kind",
        "person_name",
        "grid",
        "region",
        "masked_phone",
        "started_on",
        "ended_on",
    )
    list_filter = ("kind",)
    raw_id_fields = ("region", "grid", "resident", "user")
    list_select_related = ("grid", "region")
    exclude = ("district",)

    @admin.display(description=_("联系电话"))
    def masked_phone(self, obj: RoleAssignment) -> str:
        return mask_phone(obj.phone)


@admin.register(PartnerUnit)
class PartnerUnitAdmin(ScopedAdmin):
    list_display = ("name", "category", "region", "has_party_org")
    list_filter = ("has_party_org",)
    search_fields = ("name",)
    raw_id_fields = ("region",)
    exclude = ("district",)


@admin.register(NewOrg)
class NewOrgAdmin(ScopedAdmin):
    list_display = ("name", "kind", "coverage", "region", "member_count", "party_member_count")
    list_filter = ("kind", "coverage")
    search_fields = ("name",)
    raw_id_fields = ("region",)
    exclude = ("district",)
