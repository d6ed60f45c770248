"""People, houses, businesses (人、房、事、物、企), the party tree, roles, partner units."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.core.pii import mask_name
from gridgov.territory.models import Grid, Region


class Governed(models.Model):
    """A row that belongs to a region (its jurisdiction) and carries its district."""

    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("所属辖区")
    )
    district = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("所属区县")
    )
    region_path = models.CharField(_("辖区路径"), max_length=255, db_index=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.region_path = self.region.path
        self.district_id = self.region.district_id or self.region_id
        super().save(*args, **kwargs)


class Gender(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class Tenure(models.TextChoices):
    OWNER_OCCUPIED = "owner_occupied", _("自住")
    RENTED = "rented", _("出租")
    VACANT = "vacant", _("空置")


class House(Governed):
    """A dwelling (房). ``region`` is its building or unit."""

    grid = models.ForeignKey(
        Grid,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="houses",
        verbose_name=_("网格"),
    )
    room = models.CharField(_("门牌/房号"), max_length=32)
    address = models.CharField(_("详细地址"), max_length=255)
    area_m2 = models.DecimalField(
        _("面积(平方米)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    tenure = models.CharField(
        _("居住类型"), max_length=16, choices=Tenure.choices, default=Tenure.OWNER_OCCUPIED
    )

    class Meta:
        verbose_name = _("房屋")
        verbose_name_plural = _("房屋")
        constraints = [models.UniqueConstraint(fields=["region", "room"], name="house_room_unique")]
        indexes = [models.Index(fields=["grid", "id"], name="house_grid_id_idx")]

    def __str__(self) -> str:
        return f"{self.region.name}{self.room}"


class Household(Governed):
    """户: the people living together in one house."""

    house = models.ForeignKey(
        House, on_delete=models.PROTECT, related_name="households", verbose_name=_("房屋")
    )
    head = models.ForeignKey(
        "people.Resident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("户主"),
    )

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")

    def __str__(self) -> str:
        return f"{self.house}"


class Resident(Governed):
    """A person living in the district (人). Name, phone, ID number are personal data."""

    PII_FIELDS = ("name", "phone", "id_number")

    grid = models.ForeignKey(
        Grid,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="residents",
        verbose_name=_("网格"),
    )
    household = models.ForeignKey(
        Household,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        verbose_name=_("户"),
    )
    name = models.CharField(_("姓名"), max_length=64)
    gender = models.CharField(_("性别"), max_length=8, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    id_number = models.CharField(_("身份证号"), max_length=18, blank=True, db_index=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    is_party_member = models.BooleanField(_("党员"), default=False)
    is_active = models.BooleanField(_("在册"), default=True)
    tags = models.CharField(
        _("标签"), max_length=255, blank=True, help_text=_("如：独居老人、低保、残疾人，逗号分隔")
    )

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        # The resident list's filters: grid (keyset on id), name prefix, party members.
        # PostgreSQL uses the pattern opclass for LIKE 'x%'; other databases ignore it.
        indexes = [
            models.Index(fields=["grid", "id"], name="resident_grid_id_idx"),
            models.Index(
                fields=["name"], name="resident_name_prefix_idx", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(
                fields=["region_path"],
                name="resident_party_scope_idx",
                opclasses=["varchar_pattern_ops"],
                condition=models.Q(is_party_member=True),
            ),
        ]

    def __str__(self) -> str:
        # Masked, as everywhere by default: admin titles, labels and links show this; the
        # full name is read from ``name`` where a logged reveal allows it.
        return mask_name(self.name)


class OccupancyRole(models.TextChoices):
    OWNER = "owner", _("产权人")
    TENANT = "tenant", _("租户")
    FAMILY = "family", _("家庭成员")


class Occupancy(models.Model):
    """Who lives in a house, from when to when. A change of tenants ends one row and adds another."""

    house = models.ForeignKey(
        House, on_delete=models.CASCADE, related_name="occupancies", verbose_name=_("房屋")
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="occupancies", verbose_name=_("居民")
    )
    role = models.CharField(_("关系"), max_length=16, choices=OccupancyRole.choices)
    started_on = models.DateField(_("入住日期"), default=timezone.localdate)
    ended_on = models.DateField(_("迁出日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("居住记录")
        verbose_name_plural = _("居住记录")
        indexes = [models.Index(fields=["house", "ended_on"])]

    def __str__(self) -> str:
        return f"{self.house} {self.resident} {self.get_role_display()}"


class BusinessKind(models.TextChoices):
    SHOP = "shop", _("商铺")
    ENTERPRISE = "enterprise", _("企业")


class BusinessStatus(models.TextChoices):
    OPEN = "open", _("营业")
    CLOSED = "closed", _("已关闭")


class Business(Governed):
    """A shop or enterprise (企). Closing keeps the record with its closing date."""

    grid = models.ForeignKey(
        Grid,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="businesses",
        verbose_name=_("网格"),
    )
    kind = models.CharField(
        _("类型"), max_length=16, choices=BusinessKind.choices, default=BusinessKind.SHOP
    )
    name = models.CharField(_("名称"), max_length=128)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=32, blank=True)
    address = models.CharField(_("地址"), max_length=255, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=64, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=BusinessStatus.choices, default=BusinessStatus.OPEN
    )
    opened_on = models.DateField(_("开业日期"), null=True, blank=True)
    closed_on = models.DateField(_("关闭日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("商铺企业")
        verbose_name_plural = _("商铺企业")
        indexes = [models.Index(fields=["grid", "status"], name="business_grid_status_idx")]

    def __str__(self) -> str:
        return self.name


class PartyOrgKind(models.TextChoices):
    WORKING_COMMITTEE = "working_committee", _("街道党工委")
    GRAND_COMMITTEE = "grand_committee", _("社区大党委")
    BRANCH = "branch", _("党支部")
    GROUP = "group", _("党小组")
    HOUSEHOLD = "household", _("党员中心户")


PARTY_CHILDREN: dict[str, set[str]] = {
    PartyOrgKind.WORKING_COMMITTEE: {PartyOrgKind.GRAND_COMMITTEE, PartyOrgKind.BRANCH},
    PartyOrgKind.GRAND_COMMITTEE: {PartyOrgKind.BRANCH},
    PartyOrgKind.BRANCH: {PartyOrgKind.GROUP, PartyOrgKind.HOUSEHOLD},
    PartyOrgKind.GROUP: {PartyOrgKind.HOUSEHOLD},
    PartyOrgKind.HOUSEHOLD: set(),
}


class PartyOrg(Governed):
    """A party organisation, attached to the territory node it leads."""

    kind = models.CharField(_("类型"), max_length=24, choices=PartyOrgKind.choices)
    code = models.CharField(
        _("组织编码"),
        max_length=40,
        blank=True,
        help_text=_("台账中引用上级组织用；留空则导出时按编号生成"),
    )
    name = models.CharField(_("名称"), max_length=128)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("上级组织"),
    )
    secretary = models.CharField(_("书记"), max_length=64, blank=True)
    household = models.ForeignKey(
        House,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("中心户房屋"),
    )

    class Meta:
        verbose_name = _("党组织")
        verbose_name_plural = _("党组织")
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="party_org_code_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class MemberKind(models.TextChoices):
    COMMUNITY = "community", _("社区党员")
    IN_SERVICE = "in_service", _("在职党员")
    RETIRED = "retired", _("退休党员")


class PartyMember(Governed):
    """A party member: ``region`` is the home community; ``branch`` their organisation."""

    resident = models.ForeignKey(
        Resident,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="party_memberships",
        verbose_name=_("居民"),
    )
    name = models.CharField(_("姓名"), max_length=64)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    kind = models.CharField(_("党员类型"), max_length=16, choices=MemberKind.choices)
    branch = models.ForeignKey(
        PartyOrg, on_delete=models.PROTECT, related_name="members", verbose_name=_("所在党组织")
    )
    workplace = models.ForeignKey(
        "people.PartnerUnit",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        verbose_name=_("工作单位"),
    )
    joined_on = models.DateField(_("入党日期"), null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="party_member",
        verbose_name=_("账号"),
    )

    class Meta:
        verbose_name = _("党员")
        verbose_name_plural = _("党员")

    def __str__(self) -> str:
        return mask_name(self.name)  # masked by default, as a resident's


class RoleKind(models.TextChoices):
    GRID_WORKER = "grid_worker", _("网格员")
    GRID_HEAD = "grid_head", _("网格长")
    STREET_HEAD = "street_head", _("街长")
    PARTY_GROUP_HEAD = "party_group_head", _("党小组长")
    BUILDING_HEAD = "building_head", _("楼栋长")
    UNIT_HEAD = "unit_head", _("单元长")
    HONORARY_SECRETARY = "honorary_secretary", _("荣誉书记")
    FIVE_ELDERS = "five_elders", _("五老")
    PARTY_HOUSEHOLD = "party_household", _("党员中心户")
    REPRESENTATIVE = "representative", _("两代表一委员")


FIVE_HEADS = {
    RoleKind.GRID_HEAD,
    RoleKind.STREET_HEAD,
    RoleKind.PARTY_GROUP_HEAD,
    RoleKind.BUILDING_HEAD,
    RoleKind.UNIT_HEAD,
}


class RoleAssignment(Governed):
    """A person holding a role on a grid or region (网格员, 五长, 五老, 两代表一委员 …)."""

    kind = models.CharField(_("角色"), max_length=24, choices=RoleKind.choices, db_index=True)
    grid = models.ForeignKey(
        Grid,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="roles",
        verbose_name=_("网格"),
    )
    person_name = models.CharField(_("姓名"), max_length=64)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    resident = models.ForeignKey(
        Resident,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="roles",
        verbose_name=_("居民"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="role_assignments",
        verbose_name=_("账号"),
    )
    detail = models.CharField(
        _("说明"), max_length=128, blank=True, help_text=_("如代表类别：党代表、人大代表、政协委员")
    )
    started_on = models.DateField(_("任职日期"), default=timezone.localdate)
    ended_on = models.DateField(_("卸任日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("岗位任职")
        verbose_name_plural = _("岗位任职")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.person_name}"


class PartnerUnit(Governed):
    """共建单位 / 驻区单位: registered with the community in ``region``."""

    name = models.CharField(_("名称"), max_length=128)
    category = models.CharField(
        _("单位类别"),
        max_length=64,
        blank=True,
        help_text=_("机关、事业单位、国企、学校、医院、非公企业…"),
    )
    has_party_org = models.BooleanField(_("有党组织"), default=True)
    contact_name = models.CharField(_("联系人"), max_length=64, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    address = models.CharField(_("地址"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("共建单位")
        verbose_name_plural = _("共建单位")

    def __str__(self) -> str:
        return self.name


class NewOrgKind(models.TextChoices):
    ECONOMIC = "economic", _("新经济组织")
    SOCIAL = "social", _("新社会组织")
    NEW_EMPLOYMENT = "new_employment", _("新就业群体")


class PartyCoverage(models.TextChoices):
    OWN_ORG = "own_org", _("单独建立党组织")
    JOINT_ORG = "joint_org", _("联合建立党组织")
    INSTRUCTOR = "instructor", _("选派党建指导员")
    NONE = "none", _("未覆盖")


class NewOrg(Governed):
    """ "三新"组织 and their party coverage."""

    name = models.CharField(_("名称"), max_length=128)
    kind = models.CharField(_("类型"), max_length=16, choices=NewOrgKind.choices)
    coverage = models.CharField(
        _("党建覆盖"), max_length=16, choices=PartyCoverage.choices, default=PartyCoverage.NONE
    )
    member_count = models.PositiveIntegerField(_("从业人员数"), default=0)
    party_member_count = models.PositiveIntegerField(_("党员数"), default=0)

    class Meta:
        verbose_name = _("三新组织")
        verbose_name_plural = _("三新组织")

    def __str__(self) -> str:
        return self.name
