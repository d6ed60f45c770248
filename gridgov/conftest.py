"""Shared personas and a small territory for every app's tests.

Tree: district D → street S → communities A and B (each with one compound, one
building and one grid); a second street S2 → community C.
Personas: community worker of A, street official above A, worker of B (who
must get 404 on A's things), district admin, resident, department handler,
command-centre operator.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.conf import settings
from django.utils import translation

from gridgov.accounts.models import Role, User
from gridgov.territory.models import Department, Grid, Region, RegionKind


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Tests create many users; the production hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _versions_read_every_time(settings) -> None:
    """Tests clear the cache and roll tables back between cases in one process: per-process
    caches must compare with the shared version on every use (see core.versions)."""
    settings.GRIDGOV_VERSION_CHECK_SECONDS = 0


@pytest.fixture(autouse=True)
def _system_language():
    """Each test starts in the system's language: a request's LocaleMiddleware activates the
    reader's language for the thread and leaves it, so an English page would otherwise turn
    the services' messages English for the tests that follow."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


def square(lon: float, lat: float, size: float = 0.01) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [
            [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
        ],
    }


@pytest.fixture
def territory(db) -> SimpleNamespace:
    district = Region.objects.create(code="410205", name="禹王台区", kind=RegionKind.DISTRICT)
    street = Region.objects.create(
        code="410205001", name="三里堡街道", kind=RegionKind.STREET, parent=district
    )
    street2 = Region.objects.create(
        code="410205002", name="繁塔街道", kind=RegionKind.STREET, parent=district
    )
    comm_a = Region.objects.create(
        code="410205001001", name="A社区", kind=RegionKind.COMMUNITY, parent=street
    )
    comm_b = Region.objects.create(
        code="410205001002", name="B社区", kind=RegionKind.COMMUNITY, parent=street
    )
    comm_c = Region.objects.create(
        code="410205002001", name="C社区", kind=RegionKind.COMMUNITY, parent=street2
    )
    compound_a = Region.objects.create(
        code="410205001001001", name="47.49号院", kind=RegionKind.COMPOUND, parent=comm_a
    )
    building_a = Region.objects.create(
        code="410205001001001001", name="1号楼", kind=RegionKind.BUILDING, parent=compound_a
    )
    compound_b = Region.objects.create(
        code="410205001002001", name="幸福家园", kind=RegionKind.COMPOUND, parent=comm_b
    )
    grid_a = Grid.objects.create(
        code="410205001001-01",
        name="A社区第一网格",
        level=1,
        region=comm_a,
        polygon=square(114.35, 34.75),
    )
    grid_b = Grid.objects.create(
        code="410205001002-01",
        name="B社区第一网格",
        level=1,
        region=comm_b,
        polygon=square(114.36, 34.75),
    )
    grid_c = Grid.objects.create(
        code="410205002001-01",
        name="C社区第一网格",
        level=1,
        region=comm_c,
        polygon=square(114.37, 34.75),
    )
    dept = Department.objects.create(code="D-CG", name="城市管理局", region=district)
    return SimpleNamespace(
        district=district,
        street=street,
        street2=street2,
        comm_a=comm_a,
        comm_b=comm_b,
        comm_c=comm_c,
        compound_a=compound_a,
        building_a=building_a,
        compound_b=compound_b,
        grid_a=grid_a,
        grid_b=grid_b,
        grid_c=grid_c,
        dept=dept,
    )


def make_user(username: str, role: str, scope: Region | None, **extra) -> User:
    user = User.objects.create_user(
        username=username,
        password="pass-1234",
        role=role,
        scope_region=scope,
        display_name=username,
        **extra,
    )
    return user


@pytest.fixture
def personas(territory) -> SimpleNamespace:
    t = territory
    grid_worker = make_user("grid_a", Role.GRID_WORKER, t.comm_a)
    t.grid_a.owner = grid_worker
    t.grid_a.save()
    return SimpleNamespace(
        worker_a=make_user("worker_a", Role.COMMUNITY_WORKER, t.comm_a),
        street_official=make_user("street_s", Role.STREET_OFFICIAL, t.street),
        worker_b=make_user("worker_b", Role.COMMUNITY_WORKER, t.comm_b),
        admin=make_user("district_admin", Role.DISTRICT_ADMIN, t.district),
        resident=make_user("resident", Role.RESIDENT, None),
        handler=make_user("handler", Role.DEPARTMENT_HANDLER, t.district, department=t.dept),
        operator=make_user("operator", Role.OPERATOR, t.district),
        grid_worker=grid_worker,
    )


# --- Browser tests (Playwright driving Debian's Chromium) ----------------------------------------
# Mark them @pytest.mark.browser and use pytest-django's ``live_server``:
#     def test_x(live_server, page, personas):
#         login(page, live_server.url, "street_s"); page.goto(live_server.url + "/…")
#         screenshot(page, "territory-map")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    import os
    import shutil

    if not os.path.exists(CHROMIUM) and not shutil.which("chromium"):
        pytest.skip(
            f"Chromium not installed at {CHROMIUM}: browser tests skipped "
            "(`make chromium` installs it as root)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright (Python) not installed: pip install -e '.[dev]'")
    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to be
    # called from a thread with a running loop unless told it is safe (tests only).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
            args=CHROMIUM_ARGS,
            headless=True,
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def login(page, base_url: str, username: str, password: str = "pass-1234") -> None:
    """Sign in through the login page as a person would; fails loudly if it does not work."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("domcontentloaded")
    assert "/accounts/login/" not in page.url, f"login as {username} failed"


def screenshot(page, name: str, *, full_page: bool = True) -> str:
    """Save a screenshot to test-artifacts/<name>.png (kept by CI); returns the path."""
    from pathlib import Path

    artifacts = Path(__file__).resolve().parent.parent / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return str(path)
