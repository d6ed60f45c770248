"""来电历史 and the search by phone: the hotline's partial lists a caller's earlier appeals that
the operator may open (codes only for intake staff, the number never in clear), and the work
queue and the API list filter by the reporter's phone in any usual spelling."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gridgov.accounts.models import PiiAccessLog, Role
from gridgov.accounts.tokens import token_create
from gridgov.appeals import selectors as sel
from gridgov.appeals import services as s
from gridgov.appeals.models import Appeal
from gridgov.appeals.tests.conftest import POINT_B
from gridgov.appeals.tests.helpers import new_appeal, spot
from gridgov.conftest import make_user

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
CALLER = reverse("appeals:hotline_caller")


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


def reported(personas, cats, phone: str, *, description: str = "楼道灯坏了", point=None):
    """A case filed through the services by the district admin, from ``phone``."""
    return new_appeal(
        personas.admin,
        cats.sanitation,
        description=description,
        point=point or spot(),
        reporter_phone=phone,
    )


def appeal_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "appeals_appeal" in q["sql"]]


# ---------------------------------------------------------------- the hotline partial


def test_the_partial_lists_the_callers_cases_in_reach_newest_first(personas, cats):
    first = reported(personas, cats, PHONE, description="垃圾桶满了")
    second = reported(personas, cats, PHONE, description="路灯不亮")
    in_b = reported(personas, cats, PHONE, description="B社区井盖缺失", point=POINT_B)
    other = reported(personas, cats, "13900139000", description="别人的诉求")
    # Community B's worker takes the call: only B's case is theirs to see.
    page = text(as_user(personas.worker_b).post(CALLER, {"reporter_phone": PHONE}))
    assert in_b.tracking_code in page
    assert first.tracking_code not in page and second.tracking_code not in page
    assert "该号码有 1 件未办结诉求" in page
    # The district's operator sees all three, newest first, and not the other caller's.
    page = text(as_user(personas.operator).post(CALLER, {"reporter_phone": PHONE}))
    assert page.index(in_b.tracking_code) < page.index(second.tracking_code)
    assert page.index(second.tracking_code) < page.index(first.tracking_code)
    assert other.tracking_code not in page
    assert "该号码有 3 件未办结诉求" in page
    assert f'href="{reverse("appeals:detail", args=[first.pk])}"' in page
    assert "<html" not in page


def test_the_open_count_leaves_out_finished_cases(personas, cats):
    done = reported(personas, cats, PHONE)
    s.appeal_reject(actor=personas.admin, appeal=done, reason="无效诉求")
    page = text(as_user(personas.operator).post(CALLER, {"reporter_phone": PHONE}))
    assert done.tracking_code in page and "不予受理" in page
    assert "该号码无未办结诉求" in page and "件未办结诉求" not in page
    assert "时限" not in page  # no deadline colour on a finished case
    reported(personas, cats, PHONE)
    page = text(as_user(personas.operator).post(CALLER, {"reporter_phone": PHONE}))
    assert "该号码有 1 件未办结诉求" in page
    assert "时限" in page and "正常" in page  # an open one shows its colour


def test_the_partial_shows_ten_and_counts_every_open_case(personas, cats):
    cases = [reported(personas, cats, PHONE, description=f"第{i}次反映") for i in range(12)]
    with CaptureQueriesContext(connection) as queries:
        page = text(as_user(personas.operator).post(CALLER, {"reporter_phone": PHONE}))
    assert all(c.tracking_code in page for c in cases[2:])
    assert cases[0].tracking_code not in page and cases[1].tracking_code not in page
    assert "该号码有 12 件未办结诉求" in page and "仅显示最近 10 件" in page
    assert len(appeal_queries(queries)) == 2  # the rows, and the count past them


def test_a_few_cases_are_read_in_one_query(personas, cats):
    for _ in range(3):
        reported(personas, cats, PHONE)
    with CaptureQueriesContext(connection) as queries:
        response = as_user(personas.operator).post(CALLER, {"reporter_phone": PHONE})
    assert "该号码有 3 件未办结诉求" in text(response)
    assert len(appeal_queries(queries)) == 1


def test_the_phone_is_never_printed_in_clear(personas, cats):
    reported(personas, cats, PHONE, description=f"请回电 {PHONE} 或 138 0013 8000")
    page = text(as_user(personas.operator).post(CALLER, {"reporter_phone": "138 0013 8000"}))
    assert "该号码有 1 件未办结诉求" in page
    assert PHONE not in page and "138 0013 8000" not in page and "0013" not in page
    assert "138****8000" in page  # the description, masked


@pytest.mark.parametrize(
    ("given", "typed"),
    [
        ("138-0013-8000", PHONE),
        ("138 0013 8000", PHONE),
        ("+86 13800138000", "138-0013-8000"),
        (PHONE, "+86 138 0013 8000"),
        (PHONE, "008613800138000"),
        ("0371-23456789", "037123456789"),
        ("037123456789", "0371 2345 6789"),
        ("0371 2345-6789", "0371-2345 6789"),
    ],
)
def test_a_number_is_found_however_it_was_given_and_typed(personas, cats, given, typed):
    appeal = reported(personas, cats, given)
    # Intake stores the number one way, so the look-up is one exact probe of the index.
    assert appeal.reporter_phone == sel.phone_searched(given)
    page = text(as_user(personas.operator).post(CALLER, {"reporter_phone": typed}))
    assert appeal.tracking_code in page


def test_numbers_stored_before_are_written_one_way_by_the_migration(personas, cats):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("gridgov.appeals.migrations.0009_reporter_phone_one_way")
    old = reported(personas, cats, PHONE)
    Appeal.objects.filter(pk=old.pk).update(reporter_phone="+86 138-0013-8000")
    migration.one_way(apps, None)
    assert Appeal.objects.get(pk=old.pk).reporter_phone == PHONE


@pytest.mark.parametrize("typed", ["", "138", "138001", "13800abc000", "１３８", "1" * 21, "+"])
def test_an_incomplete_number_gives_the_hint_and_looks_nothing_up(personas, cats, typed):
    appeal = reported(personas, cats, "1380013")  # a 7-digit number stored: "138" is no match
    with CaptureQueriesContext(connection) as queries:
        response = as_user(personas.operator).post(CALLER, {"reporter_phone": typed})
    assert response.status_code == 200
    assert "输入完整电话号码后显示来电历史" in text(response)
    assert appeal.tracking_code not in text(response)
    assert appeal_queries(queries) == []


def test_a_caller_with_no_cases_is_told_so(personas, cats):
    reported(personas, cats, "13900139000")
    page = text(as_user(personas.operator).post(CALLER, {"reporter_phone": PHONE}))
    assert "该号码暂无历史诉求" in page


def test_a_case_out_of_reach_reads_as_no_history(personas, cats):
    in_a = reported(personas, cats, PHONE)
    page = text(as_user(personas.worker_b).post(CALLER, {"reporter_phone": PHONE}))
    assert in_a.tracking_code not in page and "该号码暂无历史诉求" in page


def test_the_search_is_for_intake_staff_only(personas, cats, territory):
    # Whether a number reported tells the number lists show masked: departments and API
    # clients (which may file cases) do not search by it.
    reported(personas, cats, PHONE)
    client_user = make_user("integrator", Role.API_CLIENT, territory.district)
    for user in (personas.handler, personas.resident, client_user):
        assert as_user(user).post(CALLER, {"reporter_phone": PHONE}).status_code == 403
    anonymous = Client().post(CALLER, {"reporter_phone": PHONE})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    # Posted only: the number stays out of addresses and access logs.
    assert as_user(personas.operator).get(CALLER, {"reporter_phone": PHONE}).status_code == 405


def test_each_search_is_logged_with_the_number_masked(personas, cats):
    appeal = reported(personas, cats, PHONE)
    page = text(as_user(personas.operator).post(CALLER, {"reporter_phone": "138 0013 8000"}))
    assert appeal.tracking_code in page
    [entry] = PiiAccessLog.objects.filter(actor=personas.operator)
    assert entry.subject_type == "appeals.phone_search" and entry.subject_label == "138****8000"
    assert entry.fields == "reporter_phone" and entry.reason == "热线来电历史"
    # An incomplete number looks nothing up and logs nothing.
    as_user(personas.operator).post(CALLER, {"reporter_phone": "138"})
    assert PiiAccessLog.objects.filter(actor=personas.operator).count() == 1


def test_searches_are_limited_per_person(personas, cats, settings):
    settings.GRIDGOV_PHONE_SEARCHES_PER_HOUR = 2
    operator = as_user(personas.operator)
    for _ in range(2):
        assert "该号码暂无历史诉求" in text(operator.post(CALLER, {"reporter_phone": PHONE}))
    over = text(operator.post(CALLER, {"reporter_phone": PHONE}))
    assert "请求过于频繁" in over and "该号码" not in over
    assert PiiAccessLog.objects.filter(actor=personas.operator).count() == 2
    # The queue's search counts against the same limit: 429.
    queue = operator.post(reverse("appeals:queue"), {"reporter_phone": PHONE})
    assert queue.status_code == 429
    # Someone else has their own count.
    assert "该号码暂无历史诉求" in text(
        as_user(personas.worker_a).post(CALLER, {"reporter_phone": PHONE})
    )


def test_the_hotline_form_asks_for_the_history_with_the_phone_only(personas):
    page = text(as_user(personas.operator).get(reverse("appeals:hotline")))
    assert f'hx-post="{CALLER}"' in page
    assert 'hx-include="#id_reporter_phone, #hotline-form [name=csrfmiddlewaretoken]"' in page
    assert 'id="caller-history"' in page and "输入完整电话号码后显示来电历史" in page
    # A fresh form does not ask at once; one that comes back with a number does.
    assert 'hx-trigger="load' not in page


def test_a_hotline_form_that_comes_back_with_a_number_loads_its_history(personas):
    response = as_user(personas.operator).post(
        reverse("appeals:hotline"), {"reporter_phone": PHONE, "description": ""}
    )
    assert response.status_code == 400
    assert 'hx-trigger="load, ' in text(response)


# ---------------------------------------------------------------- the queue and the API


def search_queue(client, phone: str):
    """The queue's search by phone as the page does it: posted, then the redirect followed."""
    return client.post(reverse("appeals:queue"), {"reporter_phone": phone}, follow=True)


def test_the_queue_finds_the_cases_of_one_number(personas, cats):
    mine = [reported(personas, cats, PHONE), reported(personas, cats, "138-0013-8000")]
    other = reported(personas, cats, "13900139000")
    blank = reported(personas, cats, "")
    client = as_user(personas.operator)
    response = search_queue(client, PHONE)
    page = text(response)
    assert all(a.tracking_code in page for a in mine)
    assert other.tracking_code not in page and blank.tracking_code not in page
    # The address, the pager's and filters' links and the language switch carry a token,
    # never the number; the page names it masked.
    (url, _status), *_ = response.redirect_chain
    assert "0013" not in url and "phone=" in url
    assert "13800138000" not in page and "138****8000" in page
    # Changing another filter keeps the search; the token alone (the page reloaded, a pager
    # link) does not log it again.
    token = url.split("phone=")[1]
    again = text(client.get(reverse("appeals:queue"), {"phone": token, "status": "received"}))
    assert all(a.tracking_code in again for a in mine) and other.tracking_code not in again
    assert PiiAccessLog.objects.filter(actor=personas.operator).count() == 1
    # Another person's session knows no such token.
    elsewhere = as_user(personas.admin).get(reverse("appeals:queue"), {"phone": token})
    assert elsewhere.status_code == 400 and "已失效" in text(elsewhere)


def test_the_queue_never_takes_the_number_from_the_address(personas, cats):
    reported(personas, cats, PHONE)
    response = as_user(personas.operator).get(reverse("appeals:queue"), {"reporter_phone": PHONE})
    assert response.status_code == 400 and "号码不放在网址中" in text(response)
    assert not PiiAccessLog.objects.exists()


def test_the_queue_search_by_phone_stays_in_reach(personas, cats):
    in_a = reported(personas, cats, PHONE)
    in_b = reported(personas, cats, PHONE, point=POINT_B)
    page = text(search_queue(as_user(personas.worker_b), PHONE))
    assert in_b.tracking_code in page and in_a.tracking_code not in page


@pytest.mark.parametrize("typed", ["138", "abc", "1" * 21])
def test_an_incomplete_number_in_the_queue_is_an_error_naming_the_field(personas, cats, typed):
    reported(personas, cats, PHONE)
    response = as_user(personas.operator).post(reverse("appeals:queue"), {"reporter_phone": typed})
    assert response.status_code == 400
    page = text(response)
    assert "反映人电话应为完整的电话号码" in page
    assert f'name="reporter_phone" value="{typed}"' in page  # as typed, to correct
    assert not PiiAccessLog.objects.exists()


def test_the_api_list_filters_by_phone(client, personas, cats):
    mine = reported(personas, cats, "138 0013 8000")
    reported(personas, cats, "13900139000")
    _, token = token_create(user=personas.operator, name="test")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    found = client.get("/api/v1/appeals/", {"reporter_phone": "+8613800138000"}, **auth)
    assert found.status_code == 200
    assert [row["id"] for row in found.json()["items"]] == [mine.pk]
    assert "0013" not in found.json()["items"][0]["reporter_phone"]  # masked as ever
    bad = client.get("/api/v1/appeals/", {"reporter_phone": "12345"}, **auth)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "reporter_phone"
    # Blank is no filter, as on the page.
    assert client.get("/api/v1/appeals/", {"reporter_phone": "   "}, **auth).status_code == 200
    assert PiiAccessLog.objects.filter(actor=personas.operator).count() == 1


def test_a_department_cannot_search_its_cases_by_phone(client, personas, cats, territory):
    # A department reads its cases with the number masked; a search by number would tell it
    # the hidden digits, guess by guess.
    appeal = reported(personas, cats, PHONE)
    s.appeal_register(actor=personas.admin, appeal=appeal)
    s.appeal_dispatch(actor=personas.admin, appeal=appeal, department=territory.dept)
    handler = as_user(personas.handler)
    assert handler.get(reverse("appeals:queue")).status_code == 200
    assert 'name="reporter_phone"' not in text(handler.get(reverse("appeals:queue")))
    refused = handler.post(reverse("appeals:queue"), {"reporter_phone": PHONE})
    assert refused.status_code == 403
    assert handler.get(reverse("appeals:queue"), {"reporter_phone": PHONE}).status_code == 403
    _, token = token_create(user=personas.handler, name="test")
    api = client.get(
        "/api/v1/appeals/", {"reporter_phone": PHONE}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert api.status_code == 403
    assert not PiiAccessLog.objects.filter(actor=personas.handler).exists()


# ---------------------------------------------------------------- the selector and its index


def test_the_normalised_number_is_one_for_every_spelling():
    for typed in (PHONE, "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "008613800138000"):
        assert sel.phone_searched(typed) == PHONE
    assert sel.phone_searched("0371-2345 6789") == "037123456789"
    assert sel.phone_searched("+44 20 7946 0958") == "+442079460958"
    for bad in ("", "  ", "123456", "1" * 21, "138abc00000", "++13800138000", "13800138000转1"):
        assert sel.phone_searched(bad) is None


def test_the_callers_history_reads_the_phone_index(personas, cats):
    reported(personas, cats, PHONE)
    qs = sel.narrowed(Appeal.objects.all(), reporter_phone=PHONE).order_by("-pk")[:11]
    if connection.vendor == "sqlite":
        assert "appeal_reporter_phone_idx" in qs.explain()
        return
    # PostgreSQL on a table of a few rows prefers reading it whole: forbid that to see
    # whether the index serves the query at all (its partial condition is implied).
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    assert "appeal_reporter_phone_idx" in qs.explain()


# ---------------------------------------------------------------- in a browser


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_typing_the_number_shows_the_history_on_a_desk_and_on_a_phone(
    live_server, browser, page, personas, cats, settings
):
    from gridgov.conftest import login, screenshot

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "caller-history-browser",
        }
    }
    earlier = reported(personas, cats, "137-0000-1111", description="上次反映的下水道问题")
    base = live_server.url
    asked: list[tuple[str, str, str]] = []
    page.on(
        "request",
        lambda r: (
            asked.append((r.method, r.url, r.post_data or ""))
            if "/hotline/caller/" in r.url
            else None
        ),
    )
    login(page, base, "operator")
    page.goto(f"{base}/appeals/hotline/")
    assert "输入完整电话号码后显示来电历史" in page.locator("#caller-history").inner_text()
    page.keyboard.type("13700001111")  # the phone field has the focus
    page.wait_for_selector(f"#caller-history >> text={earlier.tracking_code}")
    assert "该号码有 1 件未办结诉求" in page.locator("#caller-history").inner_text()
    # Only the number is sent, posted (never in the address), and the panel never shows it.
    assert asked and all(method == "POST" and "1111" not in url for method, url, _ in asked)
    assert all(
        {pair.split("=")[0] for pair in body.split("&")}
        == {"reporter_phone", "csrfmiddlewaretoken"}
        for _, _, body in asked
    )
    assert "1111" not in page.locator("#caller-history").inner_text()
    screenshot(page, "appeals-hotline-caller-history")
    # On a desk the duplicates panel stands beside the form: no note above the button.
    page.select_option("#id_category", value=str(earlier.category_id))
    page.select_option("#id_region", value=str(earlier.region_id))
    page.wait_for_selector(f"#duplicates >> text={earlier.tracking_code}")
    assert page.locator("#dup-note a").count() == 1
    assert not page.locator("#dup-note").is_visible()

    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    context.set_default_timeout(15_000)
    try:
        phone = context.new_page()
        login(phone, base, "operator")
        phone.goto(f"{base}/appeals/hotline/")
        phone.fill("#id_reporter_phone", "137 0000 1111")
        phone.wait_for_selector(f"#caller-history >> text={earlier.tracking_code}")
        screenshot(phone, "appeals-hotline-caller-history-phone")
        overflow = "() => document.documentElement.scrollWidth - window.innerWidth"
        assert phone.evaluate(overflow) <= 0
        # One column: the history sits above the form, where the number is typed.
        panel = phone.locator(".caller-panel").bounding_box()
        form = phone.locator("#hotline-form").bounding_box()
        assert panel["y"] < form["y"]
        # The possible duplicates come after the form; the note above the button says so.
        phone.select_option("#id_category", value=str(earlier.category_id))
        phone.select_option("#id_region", value=str(earlier.region_id))
        note = phone.locator("#dup-note a")
        note.wait_for()
        assert note.inner_text() == "发现 1 件疑似重复，请先查看"
        assert note.bounding_box()["y"] < phone.locator("button.big").bounding_box()["y"]
        assert phone.locator("#duplicates").bounding_box()["y"] > form["y"] + form["height"]
        screenshot(phone, "appeals-hotline-duplicate-note-phone")
        note.click()
        phone.wait_for_function("() => location.hash === '#duplicates'")
    finally:
        context.close()
