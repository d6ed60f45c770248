"""Review fixes: merged requests report their joint case, XML drops what XML 1.0 forbids,
a region-scoped key files only in its region, keys are API clients by default, and
Open311 errors and notes speak the spec's language."""

from __future__ import annotations

import datetime as dt
import io
from xml.etree import ElementTree as ET

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.appeals.models import Appeal, Category, Channel, Status
from gridgov.appeals.services import appeal_merge, appeal_reject
from gridgov.core.errors import ValidationFailed
from gridgov.open311.models import ApiKey
from gridgov.open311.services import apikey_create
from gridgov.open311.tests.test_open311 import (
    BASE,
    IN_A,
    IN_B,
    OUTSIDE,
    assert_errors_json,
    assert_errors_xml,
    body,
    new_request,
    post,
    xml,
)
from gridgov.open311.views import _error_for


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("apikey", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def merged_pair(client, o311, personas) -> tuple[Appeal, Appeal]:
    """Two requests in community A; the second merged into the first."""
    primary = Appeal.objects.get(pk=new_request(client, o311, description="路灯不亮"))
    dup = Appeal.objects.get(pk=new_request(client, o311, description="这盏路灯也不亮"))
    appeal_merge(actor=personas.operator, appeal=primary.pk, duplicates=[dup.pk])
    primary.refresh_from_db()
    return primary, dup


# --- 1. a merged request reports the case it was merged into ----------------------------


@pytest.mark.django_db
def test_a_merged_request_reports_its_open_primary_in_json_and_xml(
    client, o311, personas, territory
):
    primary, dup = merged_pair(client, o311, personas)
    deadline = timezone.now() + dt.timedelta(days=9)
    Appeal.objects.filter(pk=primary.pk).update(
        status=Status.ACCEPTED, assigned_department=territory.dept, deadline=deadline
    )
    primary.refresh_from_db()

    response = client.get(f"{BASE}/requests/{dup.pk}.json")
    item = body(response)[0]
    assert item["service_request_id"] == str(dup.pk)
    assert item["status"] == "open"
    assert item["status_notes"] == f"与请求 {primary.pk} 合并办理；办理中"
    assert item["agency_responsible"] == territory.dept.name
    assert dt.datetime.fromisoformat(item["expected_datetime"]) == deadline.replace(microsecond=0)
    assert dt.datetime.fromisoformat(item["updated_datetime"]) == primary.updated_at.replace(
        microsecond=0
    )
    assert primary.tracking_code not in response.content.decode()

    got = client.get(f"{BASE}/requests/{dup.pk}.xml")
    element = xml(got).find("request")
    assert element.findtext("status") == "open"
    assert element.findtext("status_notes") == f"与请求 {primary.pk} 合并办理；办理中"
    assert element.findtext("agency_responsible") == territory.dept.name
    assert primary.tracking_code not in got.content.decode()


@pytest.mark.django_db
def test_a_merged_request_is_closed_with_the_primarys_masked_result(client, o311, personas):
    primary, dup = merged_pair(client, o311, personas)
    Appeal.objects.filter(pk=primary.pk).update(
        status=Status.CLOSED, result="已更换灯泡，联系人13812345678"
    )
    listed = {r["service_request_id"]: r for r in body(client.get(f"{BASE}/requests.json"))}
    item = listed[str(dup.pk)]
    assert item["status"] == "closed"
    assert (
        item["status_notes"]
        == f"与请求 {primary.pk} 合并办理；已结案: 已更换灯泡，联系人138****5678"
    )
    root = xml(client.get(f"{BASE}/requests.xml"))
    notes = {
        r.findtext("service_request_id"): r.findtext("status_notes") for r in root.iter("request")
    }
    assert notes[str(dup.pk)] == item["status_notes"]


@pytest.mark.django_db
def test_a_merged_request_of_a_category_that_is_not_public_shows_no_result(client, o311, personas):
    primary, dup = merged_pair(client, o311, personas)
    Appeal.objects.filter(pk=primary.pk).update(status=Status.CLOSED, result="已调解")
    Category.objects.filter(pk=o311.light.pk).update(is_public=False)
    item = body(client.get(f"{BASE}/requests/{dup.pk}.json"))[0]
    assert item["status"] == "closed"
    assert item["status_notes"] == f"与请求 {primary.pk} 合并办理；已结案"


@pytest.mark.django_db
def test_the_status_filter_matches_a_merged_request_by_its_primarys_state(client, o311, personas):
    primary, dup = merged_pair(client, o311, personas)

    def ids(**params: str) -> set[str]:
        return {r["service_request_id"] for r in body(client.get(f"{BASE}/requests.json", params))}

    assert ids(status="open") == {str(primary.pk), str(dup.pk)}
    assert ids(status="closed") == set()
    Appeal.objects.filter(pk=primary.pk).update(status=Status.CLOSED)
    assert ids(status="open") == set()
    assert ids(status="closed") == {str(primary.pk), str(dup.pk)}


@pytest.mark.django_db
def test_a_page_with_merged_requests_costs_one_query_more_not_one_per_row(client, o311, personas):
    first = new_request(client, o311)
    second = new_request(client, o311)
    dups = [new_request(client, o311, description=f"重复{i}") for i in range(4)]
    appeal_merge(actor=personas.operator, appeal=first, duplicates=dups[:2])
    appeal_merge(actor=personas.operator, appeal=second, duplicates=dups[2:])
    with CaptureQueriesContext(connection) as queries:
        rows = body(client.get(f"{BASE}/requests.json"))
    assert len(rows) == 6 and len(queries.captured_queries) == 2
    notes = {r["service_request_id"]: r["status_notes"] for r in rows}
    assert notes[dups[0]].startswith(f"与请求 {first} ") and notes[dups[3]].startswith(
        f"与请求 {second} "
    )
    with CaptureQueriesContext(connection) as queries:
        body(client.get(f"{BASE}/requests.json", {"service_request_id": first}))
    assert len(queries.captured_queries) == 1  # no merged row on the page: no second query


# --- 2. XML drops the characters XML 1.0 forbids ----------------------------------------


@pytest.mark.django_db
def test_control_characters_in_a_stored_row_do_not_break_the_xml(client, o311, territory):
    appeal = Appeal.objects.create(
        region=territory.comm_a,
        category=o311.light,
        channel=Channel.API,
        description="路灯\x01不亮\x0b了",
        address="南关街\x0b8号",
        result="",
    )
    listed = ET.fromstring(client.get(f"{BASE}/requests.xml").content)
    one = ET.fromstring(client.get(f"{BASE}/requests/{appeal.pk}.xml").content)
    for root in (listed, one):
        request = root.find("request")
        assert request.findtext("description") == "路灯不亮了"
        assert request.findtext("address") == "南关街8号"
    # JSON can carry them escaped: it keeps the text as stored.
    assert body(client.get(f"{BASE}/requests/{appeal.pk}.json"))[0]["description"] == (
        "路灯\x01不亮\x0b了"
    )


def test_the_xml_writer_keeps_tab_newline_and_astral_characters_and_drops_the_rest():
    from gridgov.open311.formats import to_xml

    text = "a\tb\nc\rd\x00e\x1ff\ufffeg\uffffh\ud800i😀j\x7f"
    root = ET.fromstring(to_xml("errors", [{"code": 400, "description": text}]))
    assert root.findtext("error/description") == "a\tb\nc\ndefghi😀j\x7f"


# --- 3. a region-scoped key files only inside its region --------------------------------


@pytest.fixture
def key_a(territory) -> str:
    return run("create", "--name", "A社区", "--region", territory.comm_a.code).strip()


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_region_scoped_key_cannot_file_a_point_in_another_community_even_with_an_address(
    client, o311, key_a, fmt
):
    response = post(
        client, fmt, key=key_a, service_code="road.light", address_string="B社区某处", **IN_B
    )
    check = assert_errors_json if fmt == "json" else assert_errors_xml
    assert "lat" in check(response, 400)
    assert not Appeal.objects.exists()


@pytest.mark.django_db
def test_a_region_scoped_key_files_a_point_outside_every_grid_with_an_address_in_its_region(
    client, o311, key_a, territory
):
    response = post(
        client, key=key_a, service_code="road.light", address_string="A社区外某处", **OUTSIDE
    )
    assert response.status_code == 201
    appeal = Appeal.objects.get()
    assert appeal.region == territory.comm_a and appeal.grid is None
    got = client.get(f"{BASE}/requests/{appeal.pk}.json", {"api_key": key_a})
    assert got.status_code == 200
    inside = post(client, key=key_a, service_code="road.light", address_string="某处", **IN_A)
    assert inside.status_code == 201


@pytest.mark.django_db
def test_a_region_scoped_key_cannot_file_a_point_in_another_community_by_the_json_api(
    client, o311, key_a
):
    response = client.post(
        "/api/v1/appeals/",
        {
            "category_id": o311.light.pk,
            "description": "B社区的路灯",
            "latitude": float(IN_B["lat"]),
            "longitude": float(IN_B["long"]),
            "address": "B社区某处",
        },
        content_type="application/json",
        headers={"X-API-Key": key_a},
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "latitude"
    assert not Appeal.objects.exists()


# --- 4. keys are API clients unless made operators --------------------------------------


@pytest.mark.django_db
def test_a_new_key_is_an_api_client_unless_created_as_an_operator(territory):
    client_key = run("create", "--name", "小程序").strip()
    hotline_key = run("create", "--name", "热线系统", "--role", "operator").strip()
    by_name = {k.name: k for k in ApiKey.objects.select_related("user")}
    assert by_name["小程序"].user.role == Role.API_CLIENT
    assert by_name["热线系统"].user.role == Role.OPERATOR
    listed = run("list").splitlines()
    assert any(by_name["小程序"].prefix in line and "\tapi_client\t" in line for line in listed)
    assert any(by_name["热线系统"].prefix in line and "\toperator\t" in line for line in listed)
    assert client_key not in "".join(listed) and hotline_key not in "".join(listed)
    with pytest.raises(CommandError):
        run("create", "--name", "管理员", "--role", "district_admin")
    with pytest.raises(ValidationFailed) as refused:
        apikey_create(actor=None, name="管理员", role=Role.DISTRICT_ADMIN)
    assert refused.value.field == "role"
    assert ApiKey.objects.count() == 2


@pytest.mark.django_db
def test_the_admin_creates_a_key_with_a_role_and_lists_it(client, personas, territory):
    personas.admin.is_staff = personas.admin.is_superuser = True
    personas.admin.save()
    client.force_login(personas.admin)
    form = client.get("/admin/open311/apikey/add/").content.decode()
    assert 'value="api_client" selected' in form
    response = client.post(
        "/admin/open311/apikey/add/",
        {"name": "热线系统", "region": territory.street.pk, "role": "operator"},
        follow=True,
    )
    assert response.status_code == 200
    key = ApiKey.objects.select_related("user").get()
    assert key.user.role == Role.OPERATOR and key.user.scope_region == territory.street
    changelist = client.get("/admin/open311/apikey/").content.decode()
    assert "指挥中心话务员" in changelist
    view = client.get(f"/admin/open311/apikey/{key.pk}/change/").content.decode()
    assert "指挥中心话务员" in view


@pytest.fixture
def api_client_key(o311) -> str:
    """The district-wide key of the o311 fixture: created with the default role."""
    assert o311.key.user.role == Role.API_CLIENT
    return o311.clear


@pytest.mark.django_db
def test_an_api_client_key_files_and_reads_appeals_by_open311_and_the_json_api(
    client, o311, api_client_key
):
    posted = post(client, key=api_client_key, service_code="road.light", **IN_A)
    assert posted.status_code == 201
    listed = client.get(f"{BASE}/requests.json", {"api_key": api_client_key})
    assert [r["service_request_id"] for r in body(listed)] == [
        body(posted)[0]["service_request_id"]
    ]
    headers = {"X-API-Key": api_client_key}
    filed = client.post(
        "/api/v1/appeals/",
        {
            "category_id": o311.light.pk,
            "description": "路灯不亮",
            "latitude": float(IN_A["lat"]),
            "longitude": float(IN_A["long"]),
        },
        content_type="application/json",
        headers=headers,
    )
    assert filed.status_code == 201, filed.content
    appeal_id = filed.json()["id"]
    assert client.get(f"/api/v1/appeals/{appeal_id}", headers=headers).status_code == 200
    assert client.get("/api/v1/appeals/", headers=headers).status_code == 200


@pytest.mark.django_db
def test_an_api_client_key_cannot_read_the_register_merge_or_close(
    client, o311, personas, api_client_key
):
    headers = {"X-API-Key": api_client_key}
    assert client.get("/api/v1/people/residents", headers=headers).status_code == 403
    first = new_request(client, o311)
    second = new_request(client, o311)
    merge = client.post(
        f"/api/v1/appeals/{first}/merge",
        {"duplicate_ids": [int(second)]},
        content_type="application/json",
        headers=headers,
    )
    assert merge.status_code == 403, merge.content
    Appeal.objects.filter(pk=first).update(status=Status.VERIFIED)
    close = client.post(
        f"/api/v1/appeals/{first}/close",
        {"note": "结案"},
        content_type="application/json",
        headers=headers,
    )
    assert close.status_code == 403, close.content
    assert set(Appeal.objects.values_list("status", flat=True)) == {
        Status.VERIFIED,
        Status.RECEIVED,
    }


@pytest.mark.django_db
def test_an_api_client_key_cannot_reject_or_register(client, o311, api_client_key):
    headers = {"X-API-Key": api_client_key}
    code = new_request(client, o311)
    reject = client.post(
        f"/api/v1/appeals/{code}/reject",
        {"reason": "无效"},
        content_type="application/json",
        headers=headers,
    )
    register = client.post(
        f"/api/v1/appeals/{code}/register", {}, content_type="application/json", headers=headers
    )
    assert (reject.status_code, register.status_code) == (403, 403)
    assert Appeal.objects.get().status == Status.RECEIVED


@pytest.mark.django_db
def test_an_operator_key_still_runs_the_loop(client, o311, personas, territory):
    _key, clear = apikey_create(actor=personas.admin, name="热线系统", role=Role.OPERATOR)
    first = new_request(client, o311)
    second = new_request(client, o311)
    merge = client.post(
        f"/api/v1/appeals/{first}/merge",
        {"duplicate_ids": [int(second)]},
        content_type="application/json",
        headers={"X-API-Key": clear},
    )
    assert merge.status_code == 200, merge.content
    assert Appeal.objects.get(pk=second).status == Status.MERGED


# --- 5. errors name the spec's parameters; a rejection shows its reason -----------------


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_bad_phone_is_named_phone(client, o311, fmt):
    response = post(client, fmt, key=o311.clear, service_code="road.light", phone="abc", **IN_A)
    check = assert_errors_json if fmt == "json" else assert_errors_xml
    text = check(response, 400)
    assert text.startswith("phone: ") and "reporter_phone" not in text
    assert not Appeal.objects.exists()


@pytest.mark.django_db
def test_a_bad_photo_is_named_media(client, o311):
    from django.core.files.uploadedfile import SimpleUploadedFile

    media = SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")
    response = client.post(
        f"{BASE}/requests.json",
        {"api_key": o311.clear, "service_code": "road.light", "media": media, **IN_A},
    )
    text = assert_errors_json(response, 400)
    assert text.startswith("media: ") and "photos" not in text


@pytest.mark.parametrize(
    ("field", "named"),
    [
        ("reporter_phone", "phone"),
        ("latitude", "lat"),
        ("longitude", "long"),
        ("address", "address_string"),
        ("category", "service_code"),
        ("description", "description"),
        ("reporter_name", "first_name/last_name"),
        ("idempotency_key", "Idempotency-Key"),
    ],
)
def test_internal_field_names_become_the_specs_parameters(field, named):
    assert _error_for(ValidationFailed("含有非法字符", field=field)).description == (
        f"{named}: 含有非法字符"
    )


@pytest.mark.django_db
def test_a_rejected_request_shows_its_masked_reason(client, o311, personas):
    code = new_request(client, o311)
    appeal_reject(
        actor=personas.operator, appeal=int(code), reason="不属于受理范围，请拨13812345678"
    )
    expected = "不予受理: 不属于受理范围，请拨138****5678"
    assert body(client.get(f"{BASE}/requests/{code}.json"))[0]["status_notes"] == expected
    root = xml(client.get(f"{BASE}/requests.xml"))
    assert root.findtext("request/status_notes") == expected
    Category.objects.filter(pk=o311.light.pk).update(is_public=False)
    assert body(client.get(f"{BASE}/requests/{code}.json"))[0]["status_notes"] == "不予受理"
