from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gridgov.core.workdays import known_holiday_years, seed_holidays


class Command(BaseCommand):
    help = (
        "从 chinese-calendar 写入节假日与调休上班日（已有的日期不覆盖）。"
        "升级 chinese-calendar 得到新一年的安排后运行。"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "years", nargs="*", type=int, help="年份；不填则为 chinese-calendar 已知的所有年份"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        known = known_holiday_years()
        years = options["years"] or known
        unknown = sorted(set(years) - set(known))
        if unknown:
            raise CommandError(
                f"chinese-calendar 尚无 {', '.join(map(str, unknown))} 年的安排："
                "请升级该软件包，或在后台「节假日」中逐日录入"
            )
        self.stdout.write(f"holidays={seed_holidays(years)}")
