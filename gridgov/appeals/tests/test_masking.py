"""Phone and ID-card numbers typed into an appeal's free text are masked wherever the text
is listed or shown to the public; staff reveal them on the detail page with a logged reason."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from gridgov.accounts.models import PiiAccessLog
from gridgov.accounts.tokens import token_create
from gridgov.appeals import services as s
from gridgov.appeals.models import Appeal, OutboxMessage
from gridgov.appeals.tests.conftest import POINT_A
from gridgov.appeals.tests.helpers import new_appeal, superuser

TEXT = "联系电话13812345678，身份证410205199001011234"
CLEAR = ("13812345678", "410205199001011234")
MASKED = ("138****5678", "4102**********1234")
RESULT = "已与居民13912345678电话沟通"


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Rate-limit counters in a private in-memory cache (never a shared Redis)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "mask"}
    }


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user) -> dict:
    _, token = token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def assert_masked(body: str, *, masked: tuple[str, ...] = MASKED) -> None:
    for number in CLEAR:
        assert number not in body
    for shown in masked:
        assert shown in body


@pytest.fixture
def appeal(personas, cats) -> Appeal:
    """A registered appeal in community A whose description holds a phone and an ID number."""
    appeal = new_appeal(
        personas.grid_worker,
        cats.sanitation,
        description=TEXT,
        reporter_name="王小明",
        reporter_phone="13800138000",
    )
    return s.appeal_register(actor=personas.grid_worker, appeal=appeal)


# ---------------------------------------------------------------- staff pages


def test_work_queue_rows_mask_numbers_in_the_description(personas, appeal):
    page = as_user(personas.worker_a).get(reverse("appeals:queue")).content.decode()
    assert appeal.tracking_code in page
    assert_masked(page)


def test_work_queue_masks_before_truncating(personas, cats):
    """A number cut by the 40-character truncation must not leak its first digits."""
    appeal = new_appeal(personas.grid_worker, cats.sanitation, description="路" * 32 + TEXT[4:])
    s.appeal_register(actor=personas.grid_worker, appeal=appeal)
    page = as_user(personas.worker_a).get(reverse("appeals:queue")).content.decode()
    assert appeal.tracking_code in page
    assert "13812" not in page and "路138**" in page


def test_supervision_rows_mask_numbers_in_the_description(personas, appeal):
    root = superuser()
    s.appeal_dispatch(actor=root, appeal=appeal, grid=appeal.grid)
    s.appeal_supervise(actor=root, appeal=appeal, note="请尽快办理")
    response = as_user(personas.operator).get(reverse("appeals:supervision") + "?show=supervised")
    page = response.content.decode()
    assert appeal.tracking_code in page
    # Truncated at 30 characters: the ID number is cut, but never shown in clear.
    assert "13812345678" not in page and "138****5678" in page and "41020519" not in page


def test_hotline_duplicate_hints_mask_numbers_in_the_description(personas, cats, appeal):
    response = as_user(personas.operator).post(
        reverse("appeals:hotline_duplicates"),
        {
            "category": cats.sanitation.pk,
            "latitude": POINT_A[0],
            "longitude": POINT_A[1],
            "description": TEXT,
        },
    )
    page = response.content.decode()
    assert appeal.tracking_code in page
    assert_masked(page)


def test_detail_masks_description_until_a_logged_reveal(personas, appeal):
    client = as_user(personas.worker_a)
    page = client.get(reverse("appeals:detail", args=[appeal.pk])).content.decode()
    assert_masked(page)
    assert "诉求内容、办理结果、评价、办理记录和延期理由中的电话和身份证号将一并显示。" in page
    assert PiiAccessLog.objects.count() == 0

    response = client.post(reverse("appeals:reveal", args=[appeal.pk]), {"reason": "回访核实"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "13812345678" in page and "410205199001011234" in page and "13800138000" in page
    log = PiiAccessLog.objects.get()  # one click, one log row
    assert log.actor == personas.worker_a and log.subject_id == str(appeal.pk)
    assert log.fields == "reporter_name,reporter_phone,description"  # what was shown


def test_a_number_in_the_text_alone_can_be_revealed(personas, cats):
    appeal = new_appeal(personas.grid_worker, cats.sanitation, description=TEXT)
    client = as_user(personas.worker_a)
    page = client.get(reverse("appeals:detail", args=[appeal.pk])).content.decode()
    assert reverse("appeals:reveal", args=[appeal.pk]) in page
    page = client.post(reverse("appeals:reveal", args=[appeal.pk]), {"reason": "核实"})
    assert "13812345678" in page.content.decode()
    assert PiiAccessLog.objects.get().fields == "description"


def test_detail_without_the_reveal_capability_stays_masked(personas, appeal):
    page = as_user(personas.grid_worker).get(reverse("appeals:detail", args=[appeal.pk]))
    assert_masked(page.content.decode())


def handled(appeal: Appeal) -> Appeal:
    """Walk ``appeal`` to handled with a result (and so a timeline note) holding a phone."""
    root = superuser()
    s.appeal_dispatch(actor=root, appeal=appeal, grid=appeal.grid)
    s.appeal_accept(actor=root, appeal=appeal)
    return s.appeal_handle(actor=root, appeal=appeal, result=RESULT)


def test_detail_masks_numbers_in_the_result_and_the_timeline(personas, appeal):
    handled(appeal)
    page = as_user(personas.worker_a).get(reverse("appeals:detail", args=[appeal.pk]))
    page = page.content.decode()
    assert "13912345678" not in page
    assert page.count("139****5678") == 2  # 办理结果 and the handle step's note


def test_admin_appeal_page_masks_description_result_and_notes(appeal):
    handled(appeal)
    page = as_user(superuser("admin")).get(f"/admin/appeals/appeal/{appeal.pk}/change/")
    assert page.status_code == 200
    assert_masked(page.content.decode(), masked=(*MASKED, "139****5678"))
    assert "13912345678" not in page.content.decode()


# ---------------------------------------------------------------- JSON API


def test_api_list_and_detail_mask_description_result_and_notes(personas, appeal):
    handled(appeal)
    headers = api(personas.worker_a)
    listing = Client().get("/api/v1/appeals/", **headers)
    assert listing.status_code == 200
    row = next(r for r in listing.json()["items"] if r["id"] == appeal.pk)
    assert row["description"] == "联系电话138****5678，身份证4102**********1234"
    detail = Client().get(f"/api/v1/appeals/{appeal.pk}", **headers)
    assert detail.status_code == 200
    body = detail.json()
    assert body["description"] == row["description"]
    assert body["result"] == "已与居民139****5678电话沟通"
    assert "已与居民139****5678电话沟通" in [e["note"] for e in body["timeline"]]
    assert "13912345678" not in detail.content.decode()
    assert body["reporter_phone"] == "138****8000"  # as before: masked the same way


def test_api_duplicate_candidates_mask_description(personas, cats, appeal):
    other = new_appeal(personas.grid_worker, cats.sanitation, description=TEXT)
    response = Client().get(f"/api/v1/appeals/{other.pk}/duplicates", **api(personas.worker_a))
    assert response.status_code == 200
    found = {c["id"]: c["description"] for c in response.json()}
    assert found[appeal.pk] == "联系电话138****5678，身份证4102**********1234"


# ---------------------------------------------------------------- public (tracking code)


def test_public_tracking_page_masks_description_and_result(appeal):
    handled(appeal)
    page = Client().get(reverse("appeals:track_code", args=[appeal.tracking_code]))
    assert page.status_code == 200
    assert_masked(page.content.decode(), masked=(*MASKED, "已与居民139****5678电话沟通"))
    assert "13912345678" not in page.content.decode()


def test_public_tracking_page_masks_the_rejection_reason(personas, appeal):
    s.appeal_reject(actor=superuser(), appeal=appeal, reason="请拨打13912345678咨询")
    page = Client().get(reverse("appeals:track_code", args=[appeal.tracking_code]))
    assert "请拨打139****5678咨询" in page.content.decode()
    assert "13912345678" not in page.content.decode()


def test_public_api_masks_description_and_result(appeal):
    handled(appeal)
    response = Client().get(f"/api/v1/appeals/public/{appeal.tracking_code}")
    assert response.status_code == 200
    assert response.json()["description"] == "联系电话138****5678，身份证4102**********1234"
    assert response.json()["result"] == "已与居民139****5678电话沟通"


# ---------------------------------------------------------------- outbox (admin)


def test_outbox_message_str_masks_the_recipient():
    assert str(OutboxMessage(channel="sms", recipient="13611112222")) == "sms → 136****2222"
    assert str(OutboxMessage(channel="email", recipient="zhang.san@example.gov.cn")) == (
        "email → z***@example.gov.cn"
    )


def test_outbox_admin_shows_no_recipient_in_clear(db):
    msg = OutboxMessage.objects.create(channel="sms", recipient="13611112222", payload={})
    client = as_user(superuser())
    listing = client.get("/admin/appeals/outboxmessage/")
    change = client.get(f"/admin/appeals/outboxmessage/{msg.pk}/change/")
    assert listing.status_code == 200 and change.status_code == 200
    for page in (listing.content.decode(), change.content.decode()):
        assert "13611112222" not in page and "136****2222" in page


def test_extension_reasons_and_the_rating_comment_are_masked_until_the_reveal(personas, cats):
    """Every text on the detail page that may hold a resident's number is masked, and the
    reveal's log row names each one it shows in clear."""
    appeal = new_appeal(personas.grid_worker, cats.sanitation, description="楼道灯坏了")
    root = superuser()
    s.appeal_register(actor=root, appeal=appeal)
    s.appeal_dispatch(actor=root, appeal=appeal, grid=appeal.grid)
    s.appeal_accept(actor=root, appeal=appeal)
    s.appeal_extend_request(
        actor=root,
        appeal=appeal,
        working_days=2,
        reason="居民 139 87650013 外出，身份证ID410205199002024561",
    )
    s.appeal_handle(actor=root, appeal=appeal, result="已修好")
    s.appeal_verify(
        actor=personas.worker_a,
        appeal=appeal,
        rating="satisfied",
        resolved=True,
        comment="满意，回拨13987650016",
    )
    client = as_user(personas.worker_a)
    page = client.get(reverse("appeals:detail", args=[appeal.pk])).content.decode()
    for number in ("87650013", "410205199002024561", "13987650016"):
        assert number not in page
    assert "139****0013" in page and "4102**********4561" in page and "139****0016" in page

    page = client.post(reverse("appeals:reveal", args=[appeal.pk]), {"reason": "回访核实"})
    page = page.content.decode()
    assert "139 87650013" in page and "410205199002024561" in page and "13987650016" in page
    log = PiiAccessLog.objects.get()
    assert log.fields == "rating_comment,history_notes,extension_reasons"
