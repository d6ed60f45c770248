from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditLog(models.Model):
    """Append-only record of every write with business meaning."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("操作人"),
    )
    action = models.CharField(_("动作"), max_length=64)
    target_type = models.CharField(_("对象类型"), max_length=64)
    target_id = models.CharField(_("对象编号"), max_length=64)
    region_path = models.CharField(_("辖区路径"), max_length=255, blank=True)
    data = models.JSONField(_("内容"), default=dict, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        # Indexes in Meta, not ``db_index=True``, which on PostgreSQL adds a second index per
        # text column for LIKE: only the jurisdiction prefix match needs that one.
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["action"], name="auditlog_action_idx"),
            models.Index(
                fields=["region_path"],
                name="auditlog_region_path_idx",
                opclasses=["varchar_pattern_ops"],
            ),
        ]
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_type}#{self.target_id}"


class Holiday(models.Model):
    """One calendar day whose status differs from the Mon–Fri rule.

    ``is_working_day`` False: a public holiday on a weekday (or a weekend day of
    a holiday period); True: an adjusted working weekend day (调休上班).
    Seeded from ``chinese-calendar``; admins add years the package does not know.
    """

    date = models.DateField(_("日期"), unique=True)
    is_working_day = models.BooleanField(_("是否上班"), default=False)
    name = models.CharField(_("名称"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("节假日")
        verbose_name_plural = _("节假日")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class FormSubmission(models.Model):
    """A page's form that made something, by its key: sent again (a resend after a lost
    answer, Back and send), it leads to what the first made instead of making it twice
    (``core.once``). Each user's rows older than a week are removed as new ones are made."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("用户")
    )
    key = models.CharField(_("表单键"), max_length=96)
    target = models.CharField(_("结果页"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("表单提交")
        verbose_name_plural = _("表单提交")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="formsubmission_user_key_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
