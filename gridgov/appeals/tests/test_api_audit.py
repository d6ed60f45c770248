"""The HTTP audit of the appeals JSON API: the public endpoints act as whoever is signed in,
tracking codes shown only to intake staff (also in merge history), idempotency keys that
are no credential, a department's 退单 answered, API keys' intake placed in their own region
and on their own channel, and small input checks naming the request's fields."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gridgov.accounts.models import Role
from gridgov.accounts.tokens import token_create
from gridgov.appeals import selectors as sel
from gridgov.appeals import services as s
from gridgov.appeals.channels import LoggingChannel
from gridgov.appeals.models import Action, Appeal, AppealEvent, Channel, OutboxMessage, Status
from gridgov.appeals.tests.conftest import POINT_A, POINT_B
from gridgov.appeals.tests.helpers import new_appeal, spot
from gridgov.core.errors import ValidationFailed
from gridgov.open311.services import apikey_create

API = "/api/v1/appeals"


def _token(user) -> dict:
    _, token = token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _key(personas, region, role=Role.API_CLIENT) -> dict:
    _row, clear = apikey_create(actor=personas.admin, name="集成方", region=region, role=role)
    return {"HTTP_X_API_KEY": clear}


def _post(client, path: str, body: dict, headers: dict | None = None):
    return client.post(
        f"{API}{path}", json.dumps(body), content_type="application/json", **(headers or {})
    )


def _error(resp) -> tuple[int, str | None]:
    """The status and the field an error answer names (None for a success)."""
    return resp.status_code, resp.json().get("error", {}).get("field")


def _to_department(personas, cats, territory) -> Appeal:
    """A case the community dispatched to 城市管理局 and its handler accepted."""
    appeal = new_appeal(personas.worker_a, cats.sewer, point=spot())
    s.appeal_register(actor=personas.worker_a, appeal=appeal)
    s.appeal_dispatch(actor=personas.worker_a, appeal=appeal, department=territory.dept)
    s.appeal_accept(actor=personas.handler, appeal=appeal)
    return appeal


@pytest.fixture
def handled(personas, cats, territory) -> Appeal:
    """A case the department handler handled (处置)."""
    appeal = _to_department(personas, cats, territory)
    s.appeal_handle(actor=personas.handler, appeal=appeal, result="已疏通")
    appeal.refresh_from_db()
    return appeal


# ---------------------------------------------------------------- 1. public endpoints' actor


RATE = {"rating": "satisfied", "resolved": True, "comment": ""}


def test_the_handler_cannot_rate_their_own_case_through_the_public_api(client, personas, handled):
    code = handled.tracking_code
    by_token = _post(client, f"/public/{code}/rate", RATE, _token(personas.handler))
    session = Client()
    session.force_login(personas.handler)
    by_session = _post(session, f"/public/{code}/rate", RATE)
    assert (by_token.status_code, by_session.status_code) == (403, 403)
    handled.refresh_from_db()
    assert handled.status == Status.HANDLED
    assert not AppealEvent.objects.filter(appeal=handled, action=Action.VERIFY).exists()
    # The reporter with the code (nobody signed in) rates it.
    anonymous = _post(client, f"/public/{code}/rate", RATE)
    assert anonymous.status_code == 200, anonymous.content
    event = AppealEvent.objects.get(appeal=handled, action=Action.VERIFY)
    assert event.data["by_reporter"] is True and event.actor_id is None


def test_public_reopen_and_withdraw_record_the_signed_in_user(client, personas, cats):
    first = new_appeal(personas.worker_a, cats.sewer, point=spot())
    # Signed in, staff act as staff: the code does not make another community's worker the
    # reporter (403), and the community's own worker withdraws under their own name.
    url = f"/public/{first.tracking_code}/withdraw"
    refused = _post(client, url, {"note": "已解决"}, _token(personas.worker_b))
    assert refused.status_code == 403, refused.content
    resp = _post(client, url, {"note": "已解决"}, _token(personas.worker_a))
    assert resp.status_code == 200, resp.content
    assert AppealEvent.objects.get(appeal=first, action=Action.WITHDRAW).actor == personas.worker_a

    closed = new_appeal(personas.worker_a, cats.sewer, point=spot())
    s.appeal_register(actor=personas.worker_a, appeal=closed)
    s.appeal_dispatch(actor=personas.worker_a, appeal=closed, grid=closed.grid)
    s.appeal_accept(actor=personas.grid_worker, appeal=closed)
    s.appeal_handle(actor=personas.grid_worker, appeal=closed, result="已修复")
    s.appeal_verify(actor=personas.worker_a, appeal=closed, rating="unsatisfied", resolved=False)
    resp = _post(
        client,
        f"/public/{closed.tracking_code}/reopen",
        {"reason": "没修好"},
        _token(personas.street_official),
    )
    assert resp.status_code == 200, resp.content
    event = AppealEvent.objects.get(appeal=closed, action=Action.REOPEN)
    assert event.actor == personas.street_official


# ---------------------------------------------------------------- 2. tracking codes


def test_tracking_codes_show_only_to_intake_staff_in_lists_and_details(
    client, personas, cats, territory
):
    appeal = _to_department(personas, cats, territory)
    operator, handler = _token(personas.operator), _token(personas.handler)
    key = _key(personas, territory.comm_a)

    def codes(headers) -> tuple:
        listed = client.get(f"{API}/", **headers).json()["items"]
        in_list = next(a["tracking_code"] for a in listed if a["id"] == appeal.pk)
        detail = client.get(f"{API}/{appeal.pk}", **headers).json()
        return in_list, detail["tracking_code"]

    assert codes(operator) == (appeal.tracking_code, appeal.tracking_code)
    assert codes(handler) == (None, None)
    assert codes(key) == (None, None)
    # An action's answer follows the same rule.
    accepted = _post(
        client, f"/{appeal.pk}/extend-request", {"working_days": 2, "reason": "协调"}, handler
    )
    assert accepted.status_code == 200 and accepted.json()["tracking_code"] is None


def test_the_intake_answer_gives_the_new_code_to_an_api_client(client, personas, cats, territory):
    key = _key(personas, territory.comm_a)
    body = {
        "category_id": cats.sewer.pk,
        "description": "井盖缺失",
        "latitude": POINT_A[0],
        "longitude": POINT_A[1],
    }
    resp = _post(client, "/", body, key)
    assert resp.status_code == 201, resp.content
    appeal = Appeal.objects.get(pk=resp.json()["id"])
    assert resp.json()["tracking_code"] == appeal.tracking_code
    assert client.get(f"{API}/{appeal.pk}", **key).json()["tracking_code"] is None


def test_duplicate_candidates_show_codes_only_to_intake_staff(client, personas, cats, territory):
    first = _to_department(personas, cats, territory)
    other = new_appeal(personas.worker_a, cats.sewer, point=(first.latitude, first.longitude))
    s.appeal_register(actor=personas.worker_a, appeal=other)
    s.appeal_dispatch(actor=personas.worker_a, appeal=other, department=territory.dept)
    by_operator = client.get(f"{API}/{first.pk}/duplicates", **_token(personas.operator)).json()
    by_handler = client.get(f"{API}/{first.pk}/duplicates", **_token(personas.handler)).json()
    assert [c["tracking_code"] for c in by_operator] == [other.tracking_code]
    assert [(c["id"], c["tracking_code"]) for c in by_handler] == [(other.pk, None)]


def test_the_list_decides_on_codes_once_per_request(client, personas, cats):
    headers = _token(personas.operator)
    new_appeal(personas.worker_a, cats.sewer, point=spot())
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(f"{API}/", **headers).json()["items"]) == 1
    for _ in range(4):
        new_appeal(personas.worker_a, cats.sewer, point=spot())
    with CaptureQueriesContext(connection) as five:
        items = client.get(f"{API}/", **headers).json()["items"]
    assert len(items) == 5 and all(a["tracking_code"] for a in items)
    assert len(five) == len(one)


# ---------------------------------------------------------------- 3. merge history


@pytest.fixture
def merged(personas, cats) -> tuple[Appeal, Appeal]:
    """A report of community B merged into one of community A."""
    primary = new_appeal(personas.worker_a, cats.sewer, point=POINT_A)
    dup = new_appeal(personas.worker_b, cats.sewer, point=POINT_B)
    s.appeal_merge(actor=personas.operator, appeal=primary, duplicates=[dup])
    return primary, dup


def test_merge_history_names_the_primary_by_code_only_to_whom_may_open_it(client, personas, merged):
    primary, dup = merged
    assert client.get(f"{API}/{primary.pk}", **_token(personas.worker_b)).status_code == 404
    seen = client.get(f"{API}/{dup.pk}", **_token(personas.worker_b)).json()
    assert seen["timeline"][-1]["data"] == {"into": primary.pk}
    assert primary.tracking_code not in json.dumps(seen)
    by_operator = client.get(f"{API}/{dup.pk}", **_token(personas.operator)).json()
    assert by_operator["timeline"][-1]["data"]["into_code"] == primary.tracking_code
    # What is stored stays as it was.
    stored = AppealEvent.objects.get(appeal=dup, action=Action.MERGE).data
    assert stored == {"into": primary.pk, "into_code": primary.tracking_code}


def test_visible_ids_keeps_those_the_actor_may_open(personas, merged):
    primary, dup = merged
    ids = [primary.pk, dup.pk, 10**30, "x"]
    assert sel.visible_ids(personas.worker_b, ids) == {dup.pk}
    assert sel.visible_ids(personas.street_official, ids) == {primary.pk, dup.pk}
    assert sel.visible_ids(personas.worker_b, []) == set()


# ---------------------------------------------------------------- 4. idempotency keys


PUBLIC = {
    "description": "路灯不亮",
    "latitude": POINT_A[0],
    "longitude": POINT_A[1],
    "reporter_phone": "13812345678",
}


def test_a_public_key_resent_with_other_invalid_input_gets_the_error_not_the_case(client, cats):
    headers = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    first = _post(client, "/public/", {**PUBLIC, "category_id": cats.sewer.pk}, headers)
    assert first.status_code == 201
    code = first.json()["tracking_code"]
    bad = _post(
        client, "/public/", {**PUBLIC, "category_id": cats.sewer.pk, "description": " "}, headers
    )
    assert _error(bad) == (400, "description") and code not in bad.content.decode()
    other = _post(
        client, "/public/", {**PUBLIC, "category_id": cats.sewer.pk, "reporter_phone": "x"}, headers
    )
    assert _error(other) == (400, "reporter_phone") and code not in other.content.decode()
    # The same report resent gets its case, also once its category no longer takes reports.
    cats.sewer.is_active = False
    cats.sewer.save(update_fields=["is_active"])
    same = _post(client, "/public/", {**PUBLIC, "category_id": cats.sewer.pk}, headers)
    assert same.status_code == 200 and same.json()["tracking_code"] == code
    assert Appeal.objects.count() == 1


def test_a_key_not_in_printable_ascii_is_refused_naming_the_header(client, cats):
    # "键" as a server reads it off the wire: its UTF-8 bytes taken as Latin-1. Kept, it
    # would never match the key the client looks its report up by.
    headers = {"HTTP_IDEMPOTENCY_KEY": "键".encode().decode("latin-1")}
    answer = _post(client, "/public/", {**PUBLIC, "category_id": cats.sewer.pk}, headers)
    assert _error(answer) == (400, "Idempotency-Key")
    assert not Appeal.objects.exists()


def test_a_resent_report_with_details_replays_once_it_no_longer_passes(personas, cats):
    kwargs = dict(
        actor=None,
        channel=Channel.API,
        category=cats.sewer,
        description=" 井盖缺失 ",
        details=["电子邮箱: a@example.cn"],
        latitude=POINT_A[0],
        longitude=POINT_A[1],
        idempotency_key="o311:anon:req-1",
    )
    first = s.appeal_intake(**kwargs)
    cats.sewer.is_active = False
    cats.sewer.save(update_fields=["is_active"])
    assert s.appeal_intake(**kwargs).pk == first.pk
    with pytest.raises(ValidationFailed) as err:
        s.appeal_intake(**{**kwargs, "details": ["电子邮箱: b@example.cn"]})
    assert err.value.field == "category"


# ---------------------------------------------------------------- 5. a department's 退单


def test_a_department_returning_through_the_api_gets_200_with_the_case(
    client, personas, cats, territory
):
    appeal = _to_department(personas, cats, territory)
    resp = _post(
        client, f"/{appeal.pk}/return", {"reason": "不属于本单位职责"}, _token(personas.handler)
    )
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert (body["id"], body["status"], body["returned_count"]) == (appeal.pk, "returned", 1)
    assert body["tracking_code"] is None and body["timeline"] == [] and body["result"] == ""
    assert body["assigned_department"] is None
    appeal.refresh_from_db()
    assert appeal.status == Status.RETURNED
    # The department no longer opens it.
    assert client.get(f"{API}/{appeal.pk}", **_token(personas.handler)).status_code == 404


# ---------------------------------------------------------------- 6. a region key's intake


def test_a_region_key_files_a_report_without_a_point_in_its_own_region(
    client, personas, cats, territory
):
    key = _key(personas, territory.comm_b)
    body = {"category_id": cats.sewer.pk, "description": "井盖缺失", "address": "幸福家园3号楼"}
    resp = _post(client, "/", body, key)
    assert resp.status_code == 201, resp.content
    assert resp.json()["region"]["id"] == territory.comm_b.pk
    assert client.get(f"{API}/{resp.json()['id']}", **key).status_code == 200
    # A region within its scope is kept; one outside is refused.
    inner = _post(client, "/", {**body, "region_id": territory.compound_b.pk}, key)
    assert inner.status_code == 201 and inner.json()["region"]["id"] == territory.compound_b.pk
    outside = _post(client, "/", {**body, "region_id": territory.comm_a.pk}, key)
    assert _error(outside) == (400, "region_id")


def test_a_region_key_without_any_location_is_refused(client, personas, cats, territory):
    key = _key(personas, territory.comm_b)
    resp = _post(client, "/", {"category_id": cats.sewer.pk, "description": "井盖缺失"}, key)
    assert _error(resp) == (400, "latitude")
    assert "须提供位置" in resp.json()["error"]["message"]
    assert not Appeal.objects.exists()


# ---------------------------------------------------------------- 7. an API client's channel


def test_an_api_client_key_files_on_the_api_channel_only(client, personas, cats, territory):
    key = _key(personas, territory.comm_a)
    body = {
        "category_id": cats.sewer.pk,
        "description": "井盖缺失",
        "latitude": POINT_A[0],
        "longitude": POINT_A[1],
        "reporter_phone": "13900000000",
    }
    for channel in ("hotline", "self_service", "doorstep"):
        resp = _post(client, "/", {**body, "channel": channel}, key)
        assert _error(resp) == (400, "channel"), channel
    assert not Appeal.objects.exists() and not OutboxMessage.objects.exists()
    assert _post(client, "/", body, key).status_code == 201
    assert Appeal.objects.get().channel == Channel.API
    assert not LoggingChannel.sent and not OutboxMessage.objects.exists()
    # An operator-role key (an integrator running the loop) keeps its choice.
    operator_key = _key(personas, territory.comm_a, role=Role.OPERATOR)
    resp = _post(
        client, "/", {**body, "channel": "hotline", "description": "另一处井盖"}, operator_key
    )
    assert resp.status_code == 201 and resp.json()["channel"] == "hotline"


# ---------------------------------------------------------------- 8. small input checks


@pytest.mark.parametrize("phone", ["138²³", "１３８１２３４５６７８", "138-1234-56７8", "+-"])
def test_a_phone_takes_ascii_digits_only(client, personas, cats, phone):
    body = {
        "channel": "hotline",
        "category_id": cats.sewer.pk,
        "description": "井盖缺失",
        "latitude": POINT_A[0],
        "longitude": POINT_A[1],
        "reporter_phone": phone,
    }
    assert _error(_post(client, "/", body, _token(personas.operator))) == (400, "reporter_phone")
    assert not Appeal.objects.exists()


def test_a_phone_with_spaces_plus_and_hyphens_is_taken(client, personas, cats):
    body = {
        "channel": "hotline",
        "category_id": cats.sewer.pk,
        "description": "井盖缺失",
        "latitude": POINT_A[0],
        "longitude": POINT_A[1],
        "reporter_phone": "+86 138-1234-5678",
    }
    assert _post(client, "/", body, _token(personas.operator)).status_code == 201


@pytest.mark.parametrize("text", ["\u200b", " \u200c\u200d ", "\u2060\ufeff", "\u3000\u200b\n"])
def test_invisible_text_is_empty(client, personas, cats, territory, text):
    body = {
        "channel": "hotline",
        "category_id": cats.sewer.pk,
        "description": text,
        "latitude": POINT_A[0],
        "longitude": POINT_A[1],
    }
    assert _error(_post(client, "/", body, _token(personas.operator))) == (400, "description")
    assert not Appeal.objects.exists()
    appeal = _to_department(personas, cats, territory)
    resp = _post(client, f"/{appeal.pk}/return", {"reason": text}, _token(personas.handler))
    assert _error(resp) == (400, "reason")


@pytest.mark.parametrize("field", ["status", "priority", "colour", "channel"])
def test_a_list_filter_with_an_unknown_value_is_refused_naming_it(client, personas, field):
    resp = client.get(f"{API}/", {field: "bogus"}, **_token(personas.operator))
    assert _error(resp) == (400, field)


def test_errors_name_the_fields_of_the_api_request(client, personas, cats, territory):
    worker = _token(personas.worker_a)
    intake = {"channel": "hotline", "category_id": cats.sewer.pk, "description": "井盖缺失"}
    assert _error(_post(client, "/", intake, worker)) == (400, "latitude")
    outside = _post(client, "/", {**intake, "region_id": territory.comm_b.pk}, worker)
    assert _error(outside) == (400, "region_id")
    cats.lift.is_active = False
    cats.lift.save(update_fields=["is_active"])
    inactive = _post(
        client,
        "/",
        {**intake, "category_id": cats.lift.pk, "region_id": territory.comm_a.pk},
        worker,
    )
    assert _error(inactive) == (400, "category_id")

    appeal = new_appeal(personas.worker_a, cats.sewer, point=spot())
    s.appeal_register(actor=personas.worker_a, appeal=appeal)
    whistle = _post(client, f"/{appeal.pk}/whistle", {"department_ids": []}, worker)
    assert _error(whistle) == (400, "department_ids")
    merge = _post(client, f"/{appeal.pk}/merge", {"duplicate_ids": [appeal.pk]}, worker)
    assert _error(merge) == (400, "duplicate_ids")
    # The pages' forms keep the services' names.
    with pytest.raises(ValidationFailed) as err:
        s.appeal_merge(actor=personas.worker_a, appeal=appeal, duplicates=[appeal])
    assert err.value.field == "duplicates"


def test_a_request_django_cannot_read_gets_400_in_the_api_s_shape(client, personas):
    many = "&".join(f"x{i}=1" for i in range(1002))
    answer = client.get(f"/api/v1/appeals/?{many}", **_token(personas.operator))
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid"
    assert answer.json()["error"]["field"] == "query"
