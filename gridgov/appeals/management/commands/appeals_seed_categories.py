from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gridgov.appeals.services import seed_default_categories
from gridgov.territory.models import Region


class Command(BaseCommand):
    help = "为区县写入默认诉求分类与办理时限（已有的不覆盖）"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--district", default=settings.GRIDGOV_DISTRICT_CODE)

    def handle(self, *args: Any, **options: Any) -> None:
        district = Region.objects.filter(code=options["district"], parent=None).first()
        if district is None:
            raise CommandError(f"区县 {options['district']} 不存在")
        made = seed_default_categories(district=district)
        self.stdout.write(f"categories={len(made)}")
