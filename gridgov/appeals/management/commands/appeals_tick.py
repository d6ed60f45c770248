from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from gridgov.appeals.tasks import tick


class Command(BaseCommand):
    help = (
        "诉求定时任务：标记超期、到期提醒、吹哨报到超时、重发失败消息、"
        "提醒节假日表缺年份（可重复执行）"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = tick()
        self.stdout.write(" ".join(f"{k}={v}" for k, v in result.items()))
