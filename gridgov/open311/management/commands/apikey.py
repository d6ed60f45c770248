"""``manage.py apikey create|list|revoke``: the primary way to manage Open311/API keys."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridgov.core.db import valid_pk
from gridgov.core.errors import DomainError
from gridgov.open311.models import ApiKey
from gridgov.open311.services import KEY_ROLES, apikey_create, apikey_revoke
from gridgov.territory.models import Region


class Command(BaseCommand):
    help = "管理API密钥: create 打印新密钥(仅此一次), list 列出, revoke 吊销"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="创建密钥, 只在标准输出打印密钥本身")
        create.add_argument("--name", required=True)
        create.add_argument("--region", default="", help="辖区编码; 缺省为整个区县")
        create.add_argument(
            "--role",
            default=KEY_ROLES[0],
            choices=[str(role) for role in KEY_ROLES],
            help="api_client(缺省): 只能提交和查看诉求; operator: 还能立案、派遣、结案(如热线系统)",
        )
        sub.add_parser("list", help="列出密钥")
        revoke = sub.add_parser("revoke", help="吊销密钥 (编号或前缀)")
        revoke.add_argument("key", help="密钥编号或前缀")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "create":
                region = None
                if options["region"]:
                    region = Region.objects.filter(code=options["region"]).first()
                    if region is None:
                        raise CommandError(f"辖区编码不存在: {options['region']}")
                _key, clear = apikey_create(
                    actor=None, name=options["name"], region=region, role=options["role"]
                )
                self.stdout.write(clear)
            elif action == "list":
                for key in ApiKey.objects.select_related("region", "user").order_by("pk"):
                    state = "revoked" if key.revoked_at else "active"
                    region = key.region.code if key.region_id else "-"
                    self.stdout.write(
                        f"{key.pk}\t{key.prefix}…\t{state}\t{key.role or '-'}\t{region}\t"
                        f"{key.created_at:%Y-%m-%d %H:%M}\t{key.name}"
                    )
            elif action == "revoke":
                ref = options["key"]
                # An id is ASCII digits ("²" and huge numbers are no id); else a prefix.
                pk = valid_pk(ref) if ref.isascii() and ref.isdigit() else None
                key = (
                    ApiKey.objects.filter(pk=pk).first()
                    if pk is not None
                    else ApiKey.objects.filter(prefix=ref.rstrip("…")).first()
                )
                if key is None:
                    raise CommandError(f"未找到密钥: {ref}")
                apikey_revoke(actor=None, key_id=key.pk)
                self.stderr.write(f"已吊销 {key.prefix}…")
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
