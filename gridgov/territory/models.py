from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionKind(models.TextChoices):
    DISTRICT = "district", _("区/县")
    STREET = "street", _("街道")
    TOWNSHIP = "township", _("乡镇")
    COMMUNITY = "community", _("社区")
    COMPOUND = "compound", _("小区/院落")
    BUILDING = "building", _("楼栋")
    UNIT = "unit", _("单元")


# Which kinds may hang under which: the tree's one rule.
ALLOWED_CHILDREN: dict[str, set[str]] = {
    RegionKind.DISTRICT: {RegionKind.STREET, RegionKind.TOWNSHIP},
    RegionKind.STREET: {RegionKind.COMMUNITY},
    RegionKind.TOWNSHIP: {RegionKind.COMMUNITY},
    RegionKind.COMMUNITY: {RegionKind.COMPOUND, RegionKind.BUILDING},
    RegionKind.COMPOUND: {RegionKind.BUILDING},
    RegionKind.BUILDING: {RegionKind.UNIT},
    RegionKind.UNIT: set(),
}


class PropertyManager(models.Model):
    """物业服务企业 (红色物业 when it has a party organisation and joins co-governance)."""

    district = models.ForeignKey(
        "territory.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("所属区县")
    )
    name = models.CharField(_("名称"), max_length=128)
    is_red = models.BooleanField(_("红色物业"), default=False)
    contact_phone = models.CharField(_("联系电话"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("物业服务企业")
        verbose_name_plural = _("物业服务企业")

    def __str__(self) -> str:
        return self.name


class Region(models.Model):
    """A node of the territory tree: district → street/township → community → compound → building → unit."""

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=128)
    kind = models.CharField(_("层级"), max_length=16, choices=RegionKind.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("上级"),
    )
    district = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("所属区县"),
    )
    # Materialised path of codes, e.g. "/410205/410205001/410205001001/".
    path = models.CharField(_("路径"), max_length=255, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("深度"), default=0, editable=False)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    boundary = models.JSONField(_("边界(GeoJSON)"), null=True, blank=True)
    # Compound fields (小区): property management, owners' committee, supervising unit.
    property_manager = models.ForeignKey(
        PropertyManager,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="compounds",
        verbose_name=_("物业"),
    )
    has_owners_committee = models.BooleanField(_("有业委会"), default=False)
    supervising_unit = models.CharField(_("主管单位"), max_length=128, blank=True)
    population = models.PositiveIntegerField(_("人口"), default=0)

    class Meta:
        verbose_name = _("辖区")
        verbose_name_plural = _("辖区")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.build_path()
        super().save(*args, **kwargs)

    @property
    def is_three_no(self) -> bool:
        """三无小区: no property management, no owners' committee, no supervising unit."""
        return (
            self.kind == RegionKind.COMPOUND
            and self.property_manager_id is None
            and not self.has_owners_committee
            and not self.supervising_unit
        )

    def build_path(self) -> None:
        if self.parent_id is None:
            self.path = f"/{self.code}/"
            self.depth = 0
        else:
            parent = self.parent
            self.path = f"{parent.path}{self.code}/"
            self.depth = parent.depth + 1
            self.district_id = parent.district_id or parent.pk


class Grid(models.Model):
    """A management grid (网格), levels 1–5 nested under a community."""

    code = models.CharField(_("网格编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=128)
    level = models.PositiveSmallIntegerField(_("网格层级"), default=1)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="grids", verbose_name=_("所属社区")
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("上级网格"),
    )
    district = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("所属区县")
    )
    region_path = models.CharField(_("辖区路径"), max_length=255, db_index=True, editable=False)
    polygon = models.JSONField(_("范围(GeoJSON)"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_grids",
        verbose_name=_("网格员"),
    )

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}({self.code})"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.region_path = self.region.path
        self.district_id = self.region.district_id or self.region_id
        super().save(*args, **kwargs)


class FacilityKind(models.TextChoices):
    PARTY_CENTER = "party_center", _("党群服务中心")
    PARTY_HOME = "party_home", _("党群之家")
    REST_STOP = "rest_stop", _("暖心驿站")
    SERVICE_STATION = "service_station", _("便民服务站")
    MUSEUM = "museum", _("小微博物馆")
    DELIBERATION_HALL = "deliberation_hall", _("居民议事厅")


class Facility(models.Model):
    kind = models.CharField(_("类型"), max_length=32, choices=FacilityKind.choices, db_index=True)
    name = models.CharField(_("名称"), max_length=128)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="facilities", verbose_name=_("所属辖区")
    )
    district = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("所属区县")
    )
    address = models.CharField(_("地址"), max_length=255, blank=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    opening_hours = models.CharField(_("开放时间"), max_length=128, blank=True)

    class Meta:
        verbose_name = _("服务阵地")
        verbose_name_plural = _("服务阵地")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.district_id = self.region.district_id or self.region_id
        super().save(*args, **kwargs)


class Department(models.Model):
    """A functional department (职能部门) or a street-level station that handles appeals."""

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=128)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="departments", verbose_name=_("所属辖区")
    )
    district = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("所属区县")
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("职能部门")
        verbose_name_plural = _("职能部门")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.district_id = self.region.district_id or self.region_id
        super().save(*args, **kwargs)
