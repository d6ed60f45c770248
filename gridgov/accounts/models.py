from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("区级管理员")
    ORG_DEPT = "org_dept", _("组织部")
    OPERATOR = "operator", _("指挥中心话务员")
    STREET_OFFICIAL = "street_official", _("街道干部")
    COMMUNITY_WORKER = "community_worker", _("社区工作者")
    GRID_WORKER = "grid_worker", _("网格员")
    DEPARTMENT_HANDLER = "department_handler", _("部门办理人员")
    PARTY_MEMBER = "party_member", _("党员")
    PARTNER_UNIT = "partner_unit", _("共建单位")
    RESIDENT = "resident", _("居民")
    # The service user of an integrator's API key (gridgov.open311.ApiKey): files appeals
    # and reads them in its region; cannot sign in.
    API_CLIENT = "api_client", _("接口客户端")


class User(AbstractUser):
    """A person who signs in. Acts only inside the subtree of ``scope_region``."""

    display_name = models.CharField(_("姓名"), max_length=64, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices, default=Role.RESIDENT)
    scope_region = models.ForeignKey(
        "territory.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("管辖范围"),
    )
    department = models.ForeignKey(
        "territory.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        verbose_name=_("所属部门"),
    )

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def scope_path(self) -> str | None:
        from gridgov.core.scope import user_scope_path

        return user_scope_path(self)


class PiiAccessLog(models.Model):
    """One reveal of a person's unmasked data: who, whose, when, why."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="pii_reveals",
        verbose_name=_("查看人"),
    )
    subject_type = models.CharField(_("对象类型"), max_length=64)
    subject_id = models.CharField(_("对象编号"), max_length=64)
    subject_label = models.CharField(_("对象"), max_length=128, blank=True)
    fields = models.CharField(_("字段"), max_length=255)
    reason = models.CharField(_("事由"), max_length=255)
    region_path = models.CharField(_("辖区路径"), max_length=255, db_index=True)
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("个人信息查看记录")
        verbose_name_plural = _("个人信息查看记录")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.actor} {self.subject_type}#{self.subject_id} {self.at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("用户"),
    )
    name = models.CharField(_("名称"), max_length=64)
    digest = models.CharField(_("摘要"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("前缀"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("个人令牌")
        verbose_name_plural = _("个人令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
