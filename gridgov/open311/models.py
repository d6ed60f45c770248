"""Open311 GeoReport v2: API keys for integrators (and a tiny table for the HTTP bench)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiKey(models.Model):
    """An integrator's key. Only its SHA-256 is stored; the key is shown once.

    Each key acts through its own service user (role api_client, or operator for an
    integrator that runs the loop; scoped to ``region`` or, without one, to the whole
    district), so every jurisdiction and capability rule applies to it unchanged and its
    writes are attributed in the history.
    """

    name = models.CharField(_("名称"), max_length=64)
    digest = models.CharField(_("摘要"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("前缀"), max_length=12, editable=False)
    region = models.ForeignKey(
        "territory.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("授权范围"),
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_key",
        editable=False,
        verbose_name=_("服务账号"),
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API密钥")
        verbose_name_plural = _("API密钥")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def role(self) -> str:
        """The service user's role (``open311.services.KEY_ROLES``); "" without a user."""
        return self.user.role if self.user_id else ""


class BenchRow(models.Model):
    """One row written by the bare baseline view of the HTTP benchmark (never in production URLs)."""

    note = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("基准测试行")
        verbose_name_plural = _("基准测试行")

    def __str__(self) -> str:
        return f"{self.pk} {self.note}"
