"""Fixtures for the appeals tests: the default taxonomy and a helper to walk cases along."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.cache import cache

from gridgov.appeals.channels import LoggingChannel
from gridgov.appeals.models import Category
from gridgov.appeals.services import seed_default_categories
from gridgov.territory import geo

# Inside grid_a (a 0.01° square at 114.35, 34.75) and inside grid_b.
POINT_A = (34.755, 114.355)
POINT_B = (34.755, 114.365)


@pytest.fixture(autouse=True)
def _fresh_state(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GRIDGOV_SMS_BACKEND = "gridgov.appeals.channels.LoggingChannel"
    settings.GRIDGOV_WECHAT_BACKEND = "gridgov.appeals.channels.LoggingChannel"
    LoggingChannel.sent.clear()
    cache.clear()  # rate-limit counters and the grid-index version
    geo.invalidate()
    yield
    geo.invalidate()


@pytest.fixture
def cats(territory) -> SimpleNamespace:
    seed_default_categories(district=territory.district)
    by_code = {c.code: c for c in Category.objects.filter(district=territory.district)}
    return SimpleNamespace(
        sanitation=by_code["city.sanitation"],
        utilities=by_code["facility.utilities"],
        lift=by_code["facility.lift"],
        sewer=by_code["facility.sewer"],
        illegal=by_code["building.illegal"],
        fire=by_code["safety.fire"],
        by_code=by_code,
    )
