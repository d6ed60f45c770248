from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.cache import cache

from gridgov.appeals.models import Category, Priority
from gridgov.open311.services import apikey_create

POTHOLE_FIELDS = [
    {
        "code": "size",
        "datatype": "number",
        "required": True,
        "description": "坑洞直径(厘米)",
        "order": 1,
        "values": [],
    },
    {
        "code": "lane",
        "datatype": "singlevaluelist",
        "required": False,
        "description": "车道",
        "order": 2,
        "values": [{"key": "left", "name": "左侧"}, {"key": "right", "name": "右侧"}],
    },
    {
        "code": "seen_at",
        "datatype": "datetime",
        "required": False,
        "description": "发现时间",
        "order": 3,
        "values": [],
    },
    {
        "code": "hazards",
        "datatype": "multivaluelist",
        "required": False,
        "description": "伴随隐患",
        "order": 4,
        "values": [{"key": "water", "name": "积水"}, {"key": "night", "name": "夜间无照明"}],
    },
]


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()  # rate-limit counters and the grid index version
    yield
    cache.clear()


@pytest.fixture
def o311(territory, personas) -> SimpleNamespace:
    """Two categories (one with attributes), an API key for the district, one for B."""
    top = Category.objects.create(district=territory.district, code="road", name="道路设施")
    pothole = Category.objects.create(
        district=territory.district,
        code="road.pothole",
        name="路面坑洼",
        parent=top,
        extra_fields=POTHOLE_FIELDS,
        description="道路路面出现坑洼",
    )
    light = Category.objects.create(
        district=territory.district,
        code="road.light",
        name="路灯不亮",
        parent=top,
        default_priority=Priority.NORMAL,
    )
    key, clear = apikey_create(actor=personas.admin, name="市民热线App")
    key_b, clear_b = apikey_create(
        actor=personas.admin, name="B社区小程序", region=territory.comm_b
    )
    return SimpleNamespace(
        top=top, pothole=pothole, light=light, key=key, clear=clear, key_b=key_b, clear_b=clear_b
    )
