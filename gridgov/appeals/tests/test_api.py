from __future__ import annotations

import json

import pytest

from gridgov.accounts.tokens import token_create
from gridgov.appeals.models import Appeal, AppealEvent, Status
from gridgov.appeals.tests.conftest import POINT_A, POINT_B

BASE = "/api/v1/appeals"


def auth(user) -> dict:
    _, token = token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post(client, path, body, headers):
    return client.post(
        f"{BASE}{path}", json.dumps(body), content_type="application/json", **headers
    )


@pytest.fixture
def staff(personas):
    return {
        name: auth(getattr(personas, name))
        for name in (
            "operator",
            "worker_a",
            "worker_b",
            "grid_worker",
            "handler",
            "street_official",
        )
    }


def intake_body(cats, point=POINT_A, **extra):
    return {
        "channel": "hotline",
        "category_id": cats.sewer.pk,
        "description": "下水管道破裂",
        "latitude": point[0],
        "longitude": point[1],
        "reporter_name": "张三",
        "reporter_phone": "13812345678",
        **extra,
    }


def test_intake_honours_idempotency_key_and_masks_reporter(client, staff, cats):
    headers = {**staff["operator"], "HTTP_IDEMPOTENCY_KEY": "abc-1"}
    first = post(client, "/", intake_body(cats), headers)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["reporter_phone"] == "138****5678"
    assert body["reporter_name"] == "张*"
    again = post(client, "/", intake_body(cats), headers)
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert Appeal.objects.count() == 1


def test_list_is_cursor_paginated_and_scoped(client, staff, cats):
    for _ in range(3):
        post(client, "/", intake_body(cats), staff["operator"])
    post(client, "/", intake_body(cats, point=POINT_B), staff["operator"])
    page = client.get(f"{BASE}/", {"page_size": 2}, **staff["worker_a"]).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(
        f"{BASE}/", {"page_size": 2, "cursor": page["next_cursor"]}, **staff["worker_a"]
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    seen_b = client.get(f"{BASE}/", **staff["worker_b"]).json()["items"]
    assert len(seen_b) == 1
    # A category id no row can have is bad input on that field.
    huge = client.get(f"{BASE}/", {"category_id": 2**63}, **staff["worker_a"])
    assert huge.status_code == 400 and huge.json()["error"]["field"] == "category_id"


def test_worker_of_b_gets_404_on_community_a_appeal(client, staff, cats, territory):
    appeal_id = post(client, "/", intake_body(cats), staff["operator"]).json()["id"]
    assert client.get(f"{BASE}/{appeal_id}", **staff["worker_b"]).status_code == 404
    response = post(client, f"/{appeal_id}/register", {}, staff["worker_b"])
    assert response.status_code == 404
    assert AppealEvent.objects.filter(appeal_id=appeal_id).count() == 1


def test_actions_walk_the_loop_and_forbidden_action_is_409(client, staff, cats, territory):
    appeal_id = post(client, "/", intake_body(cats), staff["operator"]).json()["id"]
    wrong = post(client, f"/{appeal_id}/close", {}, staff["worker_a"])
    assert wrong.status_code == 409
    assert wrong.json()["error"]["code"] == "conflict"
    assert post(client, f"/{appeal_id}/register", {}, staff["worker_a"]).status_code == 200
    r = post(
        client, f"/{appeal_id}/dispatch", {"department_id": territory.dept.pk}, staff["operator"]
    )
    assert r.json()["status"] == Status.DISPATCHED
    r = post(client, f"/{appeal_id}/accept", {}, staff["handler"])
    assert r.status_code == 200 and r.json()["status"] == Status.ACCEPTED
    r = post(client, f"/{appeal_id}/handle", {"result": "已更换管道"}, staff["handler"])
    assert r.json()["status"] == Status.HANDLED
    r = post(
        client, f"/{appeal_id}/verify", {"rating": "satisfied", "resolved": True}, staff["worker_a"]
    )
    assert r.json()["status"] == Status.VERIFIED
    r = post(client, f"/{appeal_id}/close", {}, staff["worker_a"])
    detail = r.json()
    assert detail["status"] == Status.CLOSED
    assert [e["action"] for e in detail["timeline"]] == [
        "intake",
        "register",
        "dispatch",
        "accept",
        "handle",
        "verify",
        "close",
    ]


def test_bad_input_names_the_field(client, staff, cats):
    r = post(client, "/", intake_body(cats, description="   "), staff["operator"])
    assert r.status_code == 400 and r.json()["error"]["field"] == "description"
    r = post(client, "/", intake_body(cats, category_id=999999), staff["operator"])
    assert r.status_code == 400 and r.json()["error"]["field"] == "category_id"
    # Refused by the schema, not the service: still the client's own name for the field.
    r = post(client, "/", intake_body(cats, category_id="x"), staff["operator"])
    assert r.status_code == 400 and r.json()["error"]["field"] == "category_id"
    assert [d["field"] for d in r.json()["error"]["details"]] == ["category_id"]


def test_anonymous_needs_auth_for_staff_api(client, cats):
    assert client.get(f"{BASE}/").status_code == 401


def handle_through_the_api(client, staff, code: str) -> Appeal:
    """Register, dispatch to its grid, accept and handle the appeal, each as its staff."""
    appeal = Appeal.objects.get(tracking_code=code)
    for path, data, who in [
        ("register", {}, "worker_a"),
        ("dispatch", {"grid_id": appeal.grid_id}, "worker_a"),
        ("accept", {}, "grid_worker"),
        ("handle", {"result": "已清理"}, "grid_worker"),
    ]:
        assert post(client, f"/{appeal.pk}/{path}", data, staff[who]).status_code == 200
    return appeal


def test_public_self_service_intake_track_and_rate(client, staff, cats, personas):
    r = post(
        client,
        "/public/",
        {
            "category_id": cats.sanitation.pk,
            "description": "楼下垃圾没人清",
            "latitude": POINT_A[0],
            "longitude": POINT_A[1],
            "reporter_phone": "13900001111",
        },
        {},
    )
    assert r.status_code == 201, r.content
    code = r.json()["tracking_code"]
    track = client.get(f"{BASE}/public/{code}").json()
    assert track["status"] == Status.RECEIVED and not track["can_rate"]
    assert "13900001111" not in json.dumps(track)
    assert client.get(f"{BASE}/public/NOSUCHCODE").status_code == 404
    handle_through_the_api(client, staff, code)
    # The code alone does not rate a case with a number on file (its handlers read the code).
    bare = post(client, f"/public/{code}/rate", {"rating": "basic", "resolved": True}, {})
    assert bare.status_code == 400 and bare.json()["error"]["field"] == "reporter_phone"
    rating = {"rating": "basic", "resolved": True, "reporter_phone": "139 0000 1111"}
    rated = post(client, f"/public/{code}/rate", rating, {})
    assert rated.status_code == 200 and rated.json()["status"] == Status.VERIFIED
    again = post(client, f"/public/{code}/rate", rating, {})
    assert again.status_code == 409


def test_public_reporter_unsatisfied_sends_the_case_back(client, staff, cats):
    body = {"category_id": cats.sanitation.pk, "description": "垃圾清了又堆"}
    body |= {"latitude": POINT_A[0], "longitude": POINT_A[1]}
    code = post(client, "/public/", body, {}).json()["tracking_code"]
    appeal = handle_through_the_api(client, staff, code)
    post(client, f"/public/{code}/rate", {"rating": "unsatisfied", "resolved": False}, {})
    missing = post(client, f"/public/{code}/reopen", {}, {})
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "reason"
    reopened = post(client, f"/public/{code}/reopen", {"reason": "第二天又堆满了"}, {})
    assert reopened.status_code == 200, reopened.content
    assert reopened.json()["status"] == Status.ACCEPTED
    appeal.refresh_from_db()
    assert appeal.reopened_count == 1
    assert post(client, "/public/NOSUCHCODE/reopen", {"reason": "x"}, {}).status_code == 404


def test_stats_endpoint_returns_formulas(client, staff, cats):
    post(client, "/", intake_body(cats), staff["operator"])
    r = client.get(f"{BASE}/stats", {"group_by": "category"}, **staff["street_official"])
    assert r.status_code == 200
    body = r.json()
    assert body["total"]["received"] == 1
    assert "response_rate" in body["formulas"]
    assert (
        client.get(f"{BASE}/stats", {"group_by": "nope"}, **staff["street_official"]).status_code
        == 400
    )


def test_inbox_lists_and_marks_only_own_notifications(client, staff, cats, personas, territory):
    from gridgov.appeals import services as s
    from gridgov.appeals.models import Notification

    appeal_id = post(client, "/", intake_body(cats), staff["operator"]).json()["id"]
    s.appeal_register(actor=personas.worker_a, appeal=appeal_id)
    s.appeal_dispatch(actor=personas.worker_a, appeal=appeal_id, grid=territory.grid_a)
    Notification.objects.create(user=personas.worker_b, kind="other", text="别人的通知")
    box = client.get(f"{BASE}/inbox", **staff["grid_worker"]).json()
    assert box["unread"] == 1 and box["items"][0]["appeal_id"] == appeal_id
    other_id = Notification.objects.get(user=personas.worker_b).pk
    marked = post(
        client, "/inbox/read", {"ids": [box["items"][0]["id"], other_id]}, staff["grid_worker"]
    ).json()
    assert marked == {"marked": 1}
    assert Notification.objects.get(pk=other_id).read_at is None
    assert client.get(f"{BASE}/inbox", **staff["grid_worker"]).json()["unread"] == 0


def test_public_endpoints_are_rate_limited(client, cats, settings):
    settings.GRIDGOV_ANON_RATE_PER_MINUTE = 2
    codes = [client.get(f"{BASE}/public/NOSUCHCODE").status_code for _ in range(3)]
    assert codes == [404, 404, 429]


def test_merged_duplicate_tracks_the_merged_case_without_its_code(client, staff, cats, personas):
    from gridgov.appeals import services as s

    body = {
        "category_id": cats.lift.pk,
        "description": "电梯坏了",
        "latitude": POINT_A[0],
        "longitude": POINT_A[1],
    }
    first = post(client, "/public/", body, {}).json()["tracking_code"]
    second = post(client, "/public/", body, {}).json()["tracking_code"]
    primary = Appeal.objects.get(tracking_code=first)
    s.appeal_merge(
        actor=personas.operator,
        appeal=primary,
        duplicates=[Appeal.objects.get(tracking_code=second)],
    )
    s.appeal_register(actor=personas.operator, appeal=primary)
    track = client.get(f"{BASE}/public/{second}").json()
    assert track["merged"] is True and track["status"] == Status.REGISTERED
    assert first not in json.dumps(track)
    assert track["can_rate"] is False and track["can_withdraw"] is False


def test_hostile_input_gets_4xx_never_500(client, staff, cats):
    huge = 10**20
    assert client.get(f"{BASE}/{huge}", **staff["operator"]).status_code == 404
    assert post(client, f"/{huge}/accept", {}, staff["operator"]).status_code == 404
    r = post(client, "/", intake_body(cats, category_id=huge), staff["operator"])
    assert r.status_code == 400
    r = post(client, "/", intake_body(cats, description="漏水\x00"), staff["operator"])
    assert r.status_code == 400 and r.json()["error"]["field"] == "description"
    r = post(client, "/", intake_body(cats, address="路\x00"), staff["operator"])
    assert r.status_code == 400 and r.json()["error"]["field"] == "address"
    assert client.get(f"{BASE}/public/%00").status_code == 404
    assert client.get(f"{BASE}/public/" + "A" * 300).status_code == 404
    appeal_id = post(client, "/", intake_body(cats), staff["operator"]).json()["id"]
    r = post(client, f"/{appeal_id}/register", {"note": "x\x00"}, staff["operator"])
    assert r.status_code == 400
    r = post(client, f"/{appeal_id}/merge", {"duplicate_ids": [huge]}, staff["operator"])
    assert r.status_code == 404
    assert Appeal.objects.get().status == Status.RECEIVED


def test_photo_upload_strips_location_and_checks_type(client, staff, cats, personas, territory):
    import io

    from PIL import Image

    from gridgov.appeals.tests.test_intake import jpeg_with_gps

    appeal_id = post(client, "/", intake_body(cats), staff["operator"]).json()["id"]
    photo = io.BytesIO(jpeg_with_gps())
    photo.name = "scene.jpg"
    r = client.post(
        f"{BASE}/{appeal_id}/photos", {"stage": "intake", "photos": [photo]}, **staff["worker_a"]
    )
    assert r.status_code == 200, r.content
    photos = r.json()["photos"]
    assert len(photos) == 1 and photos[0]["content_type"] == "image/jpeg"
    stored = Appeal.objects.get(pk=appeal_id).photos.get()
    with stored.file.open("rb") as fh:
        assert not Image.open(io.BytesIO(fh.read())).getexif()
    fake = io.BytesIO(b"GIF89a....")
    fake.name = "x.gif"
    r = client.post(f"{BASE}/{appeal_id}/photos", {"photos": [fake]}, **staff["worker_a"])
    assert r.status_code == 400 and r.json()["error"]["field"] == "photos"
    photo.seek(0)
    r = client.post(
        f"{BASE}/{appeal_id}/photos", {"stage": "result", "photos": [photo]}, **staff["worker_a"]
    )
    assert r.status_code == 409  # result photos only while being handled
    photo.seek(0)
    r = client.post(f"{BASE}/{appeal_id}/photos", {"photos": [photo]}, **staff["worker_b"])
    assert r.status_code == 404
    code = Appeal.objects.get(pk=appeal_id).tracking_code
    photo.seek(0)
    assert client.post(f"{BASE}/public/{code}/photos", {"photos": [photo]}).status_code == 200
    assert Appeal.objects.get(pk=appeal_id).photos.count() == 2


@pytest.mark.parametrize("sent", [{"idz": [1]}, [1], "x", [None, None]])
def test_a_malformed_mark_read_marks_nothing(client, staff, personas, sent):
    from gridgov.appeals.models import Notification

    Notification.objects.create(user=personas.grid_worker, kind="other", text="通知")
    answer = post(client, "/inbox/read", sent, staff["grid_worker"])
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid"
    assert Notification.objects.get(user=personas.grid_worker).read_at is None
    # {} still marks every one read, as documented.
    assert post(client, "/inbox/read", {}, staff["grid_worker"]).json() == {"marked": 1}
