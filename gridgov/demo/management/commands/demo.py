"""`python manage.py demo --seed 1 --scale 1 [--if-empty]`: build the demo district."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridgov.demo.generator import DEMO_PASSWORD, generate
from gridgov.territory.models import Region, RegionKind


class Command(BaseCommand):
    help = (
        "生成演示区县（禹王台区）：辖区、网格、居民、党组织、阵地、每个角色的演示账号，"
        "以及近三个月经各环节办理的诉求。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="随机种子（同一种子生成相同数据）")
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="规模倍数：房屋、居民、商铺、诉求按此放大（默认 1，约 3,000 居民、400 件诉求）",
        )
        parser.add_argument("--if-empty", action="store_true", help="已有区县时什么也不做")

    def handle(self, *args: Any, **options: Any) -> None:
        scale = options["scale"]
        if scale <= 0 or scale > 1000:
            raise CommandError("--scale 须大于 0 且不超过 1000")
        if Region.objects.filter(kind=RegionKind.DISTRICT).exists():
            if options["if_empty"]:
                self.stdout.write("已有区县数据，跳过演示数据生成（--if-empty）。")
                return
            raise CommandError("数据库中已有区县；请先清空数据库，或加 --if-empty 跳过。")
        started = time.perf_counter()
        result = generate(seed=options["seed"], scale=scale)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"演示区县 {result.district.name}（{result.district.code}）已生成，用时 {elapsed:.1f} 秒。"
            )
        )
        for key, value in result.counts.items():
            self.stdout.write(f"  {key}: {value}")
        self.stdout.write("")
        self.stdout.write(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
        for username, role, scope in result.logins:
            self.stdout.write(f"  {username:<20} {role:<10} {scope}")
