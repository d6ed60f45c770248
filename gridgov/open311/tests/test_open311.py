"""GeoReport v2 conformance: every method in JSON and XML through an ordinary HTTP client,
checking element names, value types and error codes against the spec."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from types import SimpleNamespace
from xml.etree import ElementTree as ET

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from PIL import Image

from gridgov.appeals.caches import invalidate
from gridgov.appeals.models import Appeal, AppealEvent, Category, Channel, Status
from gridgov.open311.services import apikey_revoke

BASE = "/open311/v2"
IN_A = {"lat": "34.755", "long": "114.355"}  # inside grid_a (community A)
IN_B = {"lat": "34.755", "long": "114.365"}  # inside grid_b (community B)
OUTSIDE = {"lat": "34.900", "long": "114.600"}  # in no grid
ISO_WITH_ZONE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


def xml(response) -> ET.Element:
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(response.content)


def body(response):
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content.decode("utf-8"))


def assert_errors_json(response, status: int) -> str:
    assert response.status_code == status
    data = body(response)
    assert isinstance(data, list) and data
    assert set(data[0]) == {"code", "description"}
    assert data[0]["code"] == status
    assert isinstance(data[0]["description"], str) and data[0]["description"]
    return data[0]["description"]


def assert_errors_xml(response, status: int) -> str:
    assert response.status_code == status
    root = xml(response)
    assert root.tag == "errors"
    error = root.find("error")
    assert error is not None
    assert error.findtext("code") == str(status)
    assert error.findtext("description")
    return error.findtext("description")


def post(client: Client, fmt: str = "json", key: str | None = None, headers=None, **data):
    if key is not None:
        data["api_key"] = key
    return client.post(f"{BASE}/requests.{fmt}", data, headers=headers or {})


def new_request(client: Client, o311, **extra) -> str:
    data = {"service_code": "road.light", "description": "路灯不亮", **IN_A, **extra}
    response = post(client, key=o311.clear, **data)
    assert response.status_code == 201, response.content
    return body(response)[0]["service_request_id"]


# --- discovery and services -----------------------------------------------------------


@pytest.mark.django_db
def test_discovery_lists_the_v2_endpoint_in_both_formats(client, o311):
    data = body(client.get(f"{BASE}/discovery.json"))
    endpoint = data["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert {"changeset", "contact", "key_service"} <= set(data)
    root = xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    formats = [f.text for f in root.findall("endpoints/endpoint/formats/format")]
    assert formats == ["text/xml", "application/json"]


@pytest.mark.django_db
def test_service_list_maps_leaf_categories_with_spec_fields(client, o311):
    data = body(client.get(f"{BASE}/services.json"))
    by_code = {s["service_code"]: s for s in data}
    assert set(by_code) == {"road.pothole", "road.light"}  # the parent is not a service
    pothole = by_code["road.pothole"]
    assert set(pothole) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    assert pothole["metadata"] is True and by_code["road.light"]["metadata"] is False
    assert pothole["type"] == "realtime"
    assert pothole["group"] == "道路设施"
    assert pothole["service_name"] == "路面坑洼"

    root = xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    services = root.findall("service")
    assert len(services) == 2
    first = {child.tag: child.text for child in services[0]}
    assert first["metadata"] in ("true", "false")
    assert {"service_code", "service_name", "group", "type"} <= set(first)


@pytest.mark.django_db
def test_service_definition_lists_attributes_from_extra_fields(client, o311):
    data = body(client.get(f"{BASE}/services/road.pothole.json"))
    assert data["service_code"] == "road.pothole"
    attrs = {a["code"]: a for a in data["attributes"]}
    assert [a["code"] for a in data["attributes"]] == ["size", "lane", "seen_at", "hazards"]
    assert attrs["size"] == {
        "variable": True,
        "code": "size",
        "datatype": "number",
        "required": True,
        "datatype_description": "数字",
        "order": 1,
        "description": "坑洞直径(厘米)",
        "values": [],
    }
    assert attrs["lane"]["values"] == [
        {"key": "left", "name": "左侧"},
        {"key": "right", "name": "右侧"},
    ]

    root = xml(client.get(f"{BASE}/services/road.pothole.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "road.pothole"
    attribute = root.findall("attributes/attribute")[1]
    assert attribute.findtext("variable") == "true"
    assert attribute.findtext("required") == "false"
    assert attribute.findtext("datatype") == "singlevaluelist"
    assert [v.findtext("key") for v in attribute.findall("values/value")] == ["left", "right"]
    assert attribute.findall("values/value")[0].findtext("name") == "左侧"


@pytest.mark.django_db
def test_unknown_service_definition_is_404_in_both_formats(client, o311):
    assert "nope" in assert_errors_json(client.get(f"{BASE}/services/nope.json"), 404)
    assert_errors_xml(client.get(f"{BASE}/services/nope.xml"), 404)


@pytest.mark.django_db
def test_a_category_that_groups_others_is_not_a_service(client, o311):
    # "road" holds road.pothole and road.light: the service list leaves it out, so neither
    # its definition nor a request filed under it is served.
    assert "road" not in [s["service_code"] for s in body(client.get(f"{BASE}/services.json"))]
    assert "road" in assert_errors_json(client.get(f"{BASE}/services/road.json"), 404)
    assert "service_code" in assert_errors_json(
        post(client, key=o311.clear, service_code="road", description="路面问题", **IN_A), 400
    )
    assert not Appeal.objects.exists()
    # Once its sub-categories are retired, it is a service again.
    Category.objects.filter(parent=o311.top).update(is_active=False)
    invalidate()
    assert client.get(f"{BASE}/services/road.json").status_code == 200


@pytest.mark.django_db
def test_jurisdiction_id_is_honoured(client, o311):
    ok = client.get(f"{BASE}/services.json", {"jurisdiction_id": "410205"})
    assert ok.status_code == 200 and len(body(ok)) == 2
    assert_errors_json(client.get(f"{BASE}/services.json", {"jurisdiction_id": "110101"}), 404)
    assert_errors_xml(client.get(f"{BASE}/requests.xml", {"jurisdiction_id": "110101"}), 404)
    response = post(
        client, key=o311.clear, jurisdiction_id="110101", service_code="road.light", **IN_A
    )
    assert_errors_json(response, 404)
    assert not Appeal.objects.exists()


# --- POST -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_post_creates_an_api_appeal_in_the_grid_of_the_point(client, o311, territory):
    response = post(
        client,
        key=o311.clear,
        service_code="road.pothole",
        description="坑很深",
        first_name="三",
        last_name="张",
        phone="13812345678",
        address_string="南关街8号",
        **{"attribute[size]": "40", "attribute[lane]": "left"},
        **IN_A,
    )
    assert response.status_code == 201
    data = body(response)
    assert set(data[0]) == {"service_request_id", "service_notice", "account_id"}
    appeal = Appeal.objects.get(pk=data[0]["service_request_id"])
    assert appeal.channel == Channel.API
    assert appeal.grid == territory.grid_a and appeal.region == territory.comm_a
    assert appeal.created_by == o311.key.user
    assert appeal.reporter_name == "张三" and appeal.reporter_phone == "13812345678"
    assert "坑洞直径(厘米): 40" in appeal.description and "车道: 左侧" in appeal.description
    assert AppealEvent.objects.filter(appeal=appeal, action="intake").count() == 1


@pytest.mark.django_db
def test_post_in_xml_answers_service_requests_request(client, o311):
    response = post(client, "xml", key=o311.clear, service_code="road.light", **IN_A)
    assert response.status_code == 201
    root = xml(response)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert Appeal.objects.filter(pk=request.findtext("service_request_id")).exists()
    assert request.find("service_notice") is not None and request.find("account_id") is not None


@pytest.mark.django_db
def test_post_without_api_key_is_403(client, o311):
    assert "api_key" in assert_errors_json(post(client, service_code="road.light", **IN_A), 403)
    assert_errors_xml(post(client, "xml", service_code="road.light", **IN_A), 403)
    assert_errors_json(
        post(client, key="o311_not-a-real-key", service_code="road.light", **IN_A), 403
    )
    assert not Appeal.objects.exists()


@pytest.mark.django_db
def test_revoked_api_key_is_403_at_once(client, o311, personas):
    apikey_revoke(actor=personas.admin, key_id=o311.key.pk)
    assert_errors_json(post(client, key=o311.clear, service_code="road.light", **IN_A), 403)
    assert_errors_xml(client.get(f"{BASE}/requests.xml", {"api_key": o311.clear}), 403)
    assert not Appeal.objects.exists()


@pytest.mark.django_db
def test_api_key_in_header_is_accepted(client, o311):
    response = post(client, headers={"X-API-Key": o311.clear}, service_code="road.light", **IN_A)
    assert response.status_code == 201


@pytest.mark.django_db
@override_settings(GRIDGOV_OPEN311_ANONYMOUS_POST=True, GRIDGOV_ANON_RATE_PER_MINUTE=2)
def test_anonymous_post_when_allowed_is_rate_limited_with_429(client, o311, monkeypatch):
    # Freeze the clock mid-window so the fixed window cannot roll over during the test.
    monkeypatch.setattr(
        "gridgov.core.ratelimit.time", SimpleNamespace(time=lambda: 1_800_000_030.0)
    )
    for _ in range(2):
        assert post(client, service_code="road.light", **IN_A).status_code == 201
    limited = post(client, service_code="road.light", **IN_A)
    assert "请求过于频繁" in assert_errors_json(limited, 429)
    assert int(limited["Retry-After"]) == 30
    limited_xml = post(client, "xml", service_code="road.light", **IN_A)
    assert_errors_xml(limited_xml, 429)
    assert limited_xml["Retry-After"]
    assert Appeal.objects.filter(created_by=None, channel=Channel.API).count() == 2
    # A key holder is not counted against the anonymous limit.
    assert post(client, key=o311.clear, service_code="road.light", **IN_A).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"service_code": "road.light"}, "lat"),  # no location at all
        ({"service_code": "", **IN_A}, "service_code"),
        ({"service_code": "no.such", **IN_A}, "service_code"),
        ({"service_code": "road.light", "lat": "34.755"}, "long"),
        ({"service_code": "road.light", "lat": "abc", "long": "114.355"}, "lat"),
        ({"service_code": "road.light", "lat": "95", "long": "114.355"}, "lat"),
        ({"service_code": "road.light", **OUTSIDE}, "lat/long"),
        ({"service_code": "road.light", "description": "长" * 2001, **IN_A}, "description"),
        ({"service_code": "road.pothole", **IN_A}, "attribute[size]"),  # required attribute
        ({"service_code": "road.pothole", "attribute[size]": "大", **IN_A}, "attribute[size]"),
        ({"service_code": "road.pothole", "attribute[size]": "nan", **IN_A}, "attribute[size]"),
        ({"service_code": "road.pothole", "attribute[size]": "-inf", **IN_A}, "attribute[size]"),
        (
            {
                "service_code": "road.pothole",
                "attribute[size]": "3",
                "attribute[lane]": "middle",
                **IN_A,
            },
            "attribute[lane]",
        ),
        (
            {
                "service_code": "road.pothole",
                "attribute[size]": "3",
                "attribute[seen_at]": "昨天",
                **IN_A,
            },
            "attribute[seen_at]",
        ),
        (
            {
                "service_code": "road.pothole",
                "attribute[size]": "3",
                "attribute[colour]": "red",
                **IN_A,
            },
            "attribute[colour]",
        ),
        ({"service_code": "road.light", "phone": "call-me-maybe", **IN_A}, "phone"),
    ],
)
def test_malformed_post_gets_a_400_error_list_naming_the_field(client, o311, data, field):
    for fmt in ("json", "xml"):
        response = post(client, fmt, key=o311.clear, **data)
        check = assert_errors_json if fmt == "json" else assert_errors_xml
        assert field in check(response, 400)
    assert not Appeal.objects.exists()


@pytest.mark.django_db
def test_multivalue_and_datetime_attributes_pass_their_definition(client, o311):
    response = post(
        client,
        key=o311.clear,
        service_code="road.pothole",
        **IN_A,
        **{
            "attribute[size]": "12.5",
            "attribute[seen_at]": "2026-11-20T08:00:00+08:00",
            "attribute[hazards][]": ["water", "night"],
        },
    )
    assert response.status_code == 201, response.content
    appeal = Appeal.objects.get()
    assert "伴随隐患: 积水、夜间无照明" in appeal.description


@pytest.mark.django_db
def test_the_description_limit_counts_the_residents_text_alone(client, o311):
    # Attributes are kept after the description; they do not eat into its 2,000. The e-mail
    # is not kept (the text is published).
    text = "坑" * 2000
    response = post(
        client,
        key=o311.clear,
        service_code="road.pothole",
        description=text,
        email="zhang@example.cn",
        **IN_A,
        **{"attribute[size]": "30"},
    )
    assert response.status_code == 201, response.content
    stored = Appeal.objects.get().description
    assert stored.startswith(text + "\n【附加信息】")
    assert "坑洞直径(厘米): 30" in stored and "zhang@example.cn" not in stored
    too_long = post(
        client, key=o311.clear, service_code="road.light", description=text + "坑", **IN_A
    )
    assert "description" in assert_errors_json(too_long, 400)


@pytest.mark.django_db
def test_point_outside_grids_with_address_is_placed_at_the_keys_scope(client, o311, territory):
    response = post(
        client,
        key=o311.clear,
        service_code="road.light",
        address_string="禹王台区繁塔西路",
        **OUTSIDE,
    )
    assert response.status_code == 201
    appeal = Appeal.objects.get()
    assert appeal.grid is None and appeal.region == territory.district
    response = post(
        client, key=o311.clear, service_code="road.light", address_string="三里堡街道某处"
    )
    assert response.status_code == 201


@pytest.mark.django_db
def test_key_scoped_to_b_cannot_post_into_or_see_community_a(client, o311):
    """Cross-jurisdiction: the B key gets 400 for a point in A and 404 for A's request."""
    assert "lat" in assert_errors_json(
        post(client, key=o311.clear_b, service_code="road.light", **IN_A), 400
    )
    code_a = new_request(client, o311)
    assert_errors_json(client.get(f"{BASE}/requests/{code_a}.json", {"api_key": o311.clear_b}), 404)
    listed = body(client.get(f"{BASE}/requests.json", {"api_key": o311.clear_b}))
    assert listed == []
    ok = post(client, key=o311.clear_b, service_code="road.light", **IN_B)
    assert ok.status_code == 201
    listed = body(client.get(f"{BASE}/requests.json", {"api_key": o311.clear_b}))
    assert [r["service_request_id"] for r in listed] == [body(ok)[0]["service_request_id"]]


@pytest.mark.django_db
def test_idempotency_key_replays_and_maps_to_a_token(client, o311):
    headers = {"Idempotency-Key": "req-0001"}
    first = post(client, key=o311.clear, headers=headers, service_code="road.light", **IN_A)
    again = post(client, key=o311.clear, headers=headers, service_code="road.light", **IN_A)
    assert first.status_code == 201 and again.status_code == 200
    code = body(first)[0]["service_request_id"]
    assert body(again)[0]["service_request_id"] == code
    assert Appeal.objects.count() == 1

    token = body(client.get(f"{BASE}/tokens/req-0001.json", {"api_key": o311.clear}))
    assert token == [{"service_request_id": code, "token": "req-0001"}]
    # The tracking code, which the reporter was told, is a token too.
    tracking = Appeal.objects.get().tracking_code
    assert tracking in body(first)[0]["service_notice"]
    root = xml(client.get(f"{BASE}/tokens/{tracking}.xml"))
    assert root.tag == "service_requests"
    assert root.find("request/service_request_id").text == code
    assert root.find("request/token").text == tracking
    # Another key's token space is separate.
    assert_errors_json(client.get(f"{BASE}/tokens/req-0001.json", {"api_key": o311.clear_b}), 404)
    assert_errors_xml(client.get(f"{BASE}/tokens/unknown.xml"), 404)


@pytest.mark.django_db
def test_chinese_text_round_trips_in_utf8(client, o311):
    text = "小区东门路灯不亮，晚上很黑😀「测试」"
    response = client.post(
        f"{BASE}/requests.json",
        f"api_key={o311.clear}&service_code=road.light&lat=34.755"
        f"&long=114.355&description={text}".encode(),
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )
    assert response.status_code == 201
    code = body(response)[0]["service_request_id"]
    got = client.get(f"{BASE}/requests/{code}.json")
    assert "charset=utf-8" in got["Content-Type"]
    assert body(got)[0]["description"] == text
    assert text.encode("utf-8") in got.content  # not \u-escaped
    assert xml(client.get(f"{BASE}/requests/{code}.xml")).findtext("request/description") == text


# --- GET requests ---------------------------------------------------------------------


@pytest.mark.django_db
def test_get_request_has_every_spec_field_with_the_right_types(client, o311, territory):
    code = new_request(client, o311, address_string="南关街8号")
    data = body(client.get(f"{BASE}/requests/{code}.json"))
    assert len(data) == 1
    item = data[0]
    assert set(item) == REQUEST_FIELDS
    assert item["status"] == "open"
    assert item["service_code"] == "road.light" and item["service_name"] == "路灯不亮"
    assert isinstance(item["lat"], float) and isinstance(item["long"], float)
    assert item["agency_responsible"] == territory.comm_a.name
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert ISO_WITH_ZONE.match(item[name]), (name, item[name])
    appeal = Appeal.objects.get(pk=code)
    assert dt.datetime.fromisoformat(item["expected_datetime"]) == appeal.deadline.replace(
        microsecond=0
    )
    assert item["address"] == "南关街8号"

    root = xml(client.get(f"{BASE}/requests/{code}.xml"))
    assert root.tag == "service_requests"
    request = root.find("request")
    assert {child.tag for child in request} == REQUEST_FIELDS
    assert float(request.findtext("lat")) == pytest.approx(34.755)
    assert ISO_WITH_ZONE.match(request.findtext("requested_datetime"))


@pytest.mark.django_db
def test_unknown_request_is_404(client, o311):
    assert_errors_json(client.get(f"{BASE}/requests/NOPE123456.json"), 404)
    assert_errors_xml(client.get(f"{BASE}/requests/NOPE123456.xml"), 404)


@pytest.mark.django_db
def test_closed_states_map_to_closed_with_notes_and_department(client, o311, territory):
    code = new_request(client, o311)
    Appeal.objects.filter(pk=code).update(
        status=Status.CLOSED,
        result="已更换灯泡，联系人13812345678",
        assigned_department=territory.dept,
    )
    item = body(client.get(f"{BASE}/requests/{code}.json"))[0]
    assert item["status"] == "closed"
    assert item["status_notes"].startswith("已结案")
    assert "138****5678" in item["status_notes"] and "13812345678" not in item["status_notes"]
    assert item["agency_responsible"] == territory.dept.name


@pytest.mark.django_db
def test_status_and_service_code_filters(client, o311):
    open_code = new_request(client, o311)
    closed_code = new_request(client, o311)
    Appeal.objects.filter(pk=closed_code).update(status=Status.REJECTED)
    pothole = post(
        client, key=o311.clear, service_code="road.pothole", **{"attribute[size]": "5"}, **IN_A
    )
    pothole_code = body(pothole)[0]["service_request_id"]

    def ids(**params):
        return [r["service_request_id"] for r in body(client.get(f"{BASE}/requests.json", params))]

    assert set(ids()) == {open_code, closed_code, pothole_code}
    assert set(ids(status="open")) == {open_code, pothole_code}
    assert ids(status="closed") == [closed_code]
    assert ids(service_code="road.pothole") == [pothole_code]
    assert set(ids(service_code="road.pothole,road.light", status="open")) == {
        open_code,
        pothole_code,
    }
    assert_errors_json(client.get(f"{BASE}/requests.json", {"status": "pending"}), 400)
    assert "service_code" in assert_errors_xml(
        client.get(f"{BASE}/requests.xml", {"service_code": "no.such"}), 400
    )


def _age(code: str, days: int) -> None:
    Appeal.objects.filter(pk=code).update(created_at=timezone.now() - dt.timedelta(days=days))


@pytest.mark.django_db
def test_dates_default_to_90_days_and_ids_override_every_filter(client, o311):
    recent = new_request(client, o311)
    old = new_request(client, o311)
    _age(old, 120)

    def ids(**params):
        response = client.get(f"{BASE}/requests.json", params)
        assert response.status_code == 200, response.content
        return [r["service_request_id"] for r in body(response)]

    assert ids() == [recent]  # default window: the last 90 days
    start = (timezone.now() - dt.timedelta(days=150)).isoformat()
    end = (timezone.now() - dt.timedelta(days=100)).isoformat()
    assert ids(start_date=start, end_date=end) == [old]
    assert ids(start_date=start) == [old]  # start + 90 days
    assert ids(end_date=timezone.now().isoformat()) == [recent]
    # Zulu time and a '+' that arrived as a space are both understood.
    zulu = (timezone.now() - dt.timedelta(days=1)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(start_date=zulu) == [recent]
    # service_request_id overrides the rest (dates and status)
    assert set(
        ids(service_request_id=f"{recent},{old}", status="closed", start_date=start, end_date=end)
    ) == {recent, old}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start_date": "yesterday"}, "start_date"),
        ({"start_date": "2026-11-01T00:00:00"}, "start_date"),  # no zone
        ({"end_date": "2026-13-01T00:00:00Z"}, "end_date"),
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "end_date"),
        ({"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"}, "start_date"),
        ({"page_size": "1001"}, "page_size"),
        ({"page": "0"}, "page"),
        ({"page_size": "ten"}, "page_size"),
        # A NUL character (%00) in any parameter, named in the spec's error list.
        ({"service_code": "road\x00light"}, "service_code"),
        ({"status": "\x00"}, "status"),
        # Dates at the ends of the calendar (the 90-day window or UTC would overflow).
        ({"start_date": "9999-12-31T00:00:00Z"}, "start_date"),
        ({"end_date": "0001-01-01T00:00:00Z"}, "end_date"),
        ({"start_date": "0001-01-01"}, "start_date"),  # a date alone, out of range
        ({"start_date": "2026-02-30"}, "start_date"),  # no such day
        (
            {"start_date": "0001-01-01T00:00:00+08:00", "end_date": "0001-01-05T00:00:00+08:00"},
            "start_date",
        ),
    ],
)
def test_bad_filters_get_400_naming_the_parameter(client, o311, params, field):
    assert field in assert_errors_json(client.get(f"{BASE}/requests.json", params), 400)
    assert field in assert_errors_xml(client.get(f"{BASE}/requests.xml", params), 400)


@pytest.mark.django_db
def test_a_date_alone_names_that_local_day_from_its_start_to_its_end(client, o311):
    codes = [new_request(client, o311) for _ in range(4)]
    moments = [
        dt.datetime(2026, 10, 31, 23, 59),  # the evening before, local time
        dt.datetime(2026, 11, 1, 0, 0),
        dt.datetime(2026, 11, 1, 23, 59),
        dt.datetime(2026, 11, 2, 0, 0),
    ]
    for code, moment in zip(codes, moments, strict=True):
        Appeal.objects.filter(pk=code).update(created_at=timezone.make_aware(moment))
    params = {"start_date": "2026-11-01", "end_date": "2026-11-01"}
    found = [r["service_request_id"] for r in body(client.get(f"{BASE}/requests.json", params))]
    assert found == [codes[2], codes[1]]


@pytest.mark.django_db
def test_a_group_code_lists_the_requests_of_its_services(client, o311):
    light = new_request(client, o311)
    found = body(client.get(f"{BASE}/requests.json", {"service_code": "road"}))
    assert [r["service_request_id"] for r in found] == [light]
    assert body(client.get(f"{BASE}/requests.json", {"service_code": "road.pothole"})) == []


@pytest.mark.django_db
def test_page_and_page_size_walk_newest_first(client, o311):
    codes = [new_request(client, o311) for _ in range(5)]
    for age, code in enumerate(reversed(codes)):
        Appeal.objects.filter(pk=code).update(created_at=timezone.now() - dt.timedelta(minutes=age))
    pages = [
        [
            r["service_request_id"]
            for r in body(client.get(f"{BASE}/requests.json", {"page_size": 2, "page": p}))
        ]
        for p in (1, 2, 3)
    ]
    assert pages == [codes[::-1][0:2], codes[::-1][2:4], codes[::-1][4:5]]


@pytest.mark.django_db
def test_a_response_holds_at_most_1000_requests(client, o311, territory):
    now = timezone.now()
    Appeal.objects.bulk_create(
        [
            Appeal(
                region=territory.comm_a,
                district=territory.district,
                region_path=territory.comm_a.path,
                category=o311.light,
                channel=Channel.API,
                description=f"第{i}件",
                created_at=now - dt.timedelta(seconds=i),
                tracking_code=f"BULK{i:06d}",
            )
            for i in range(1001)
        ]
    )
    pk_of = dict(Appeal.objects.values_list("tracking_code", "pk"))
    data = body(client.get(f"{BASE}/requests.json"))
    assert len(data) == 1000
    assert data[0]["service_request_id"] == str(pk_of["BULK000000"])
    second = body(client.get(f"{BASE}/requests.json", {"page": 2}))
    assert [r["service_request_id"] for r in second] == [str(pk_of["BULK001000"])]


@pytest.mark.django_db
def test_media_url_points_at_the_first_intake_photo(client, o311):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="JPEG")
    buffer.seek(0)
    buffer.name = "photo.jpg"
    response = client.post(
        f"{BASE}/requests.json",
        {"api_key": o311.clear, "service_code": "road.light", "media": buffer, **IN_A},
    )
    assert response.status_code == 201, response.content
    code = body(response)[0]["service_request_id"]
    item = body(client.get(f"{BASE}/requests/{code}.json"))[0]
    assert item["media_url"].startswith("http://testserver/media/appeals/")


@pytest.mark.django_db
def test_wrong_method_and_format_are_not_served(client, o311):
    assert_errors_json(client.delete(f"{BASE}/requests.json"), 405)
    refused = client.post(f"{BASE}/services.xml")
    assert_errors_xml(refused, 405)
    assert refused["Allow"] == "GET, HEAD"
    assert client.get(f"{BASE}/services.csv").status_code == 404


@pytest.mark.django_db
def test_a_request_django_cannot_read_gets_the_spec_s_400(client, o311):
    many = "&".join(f"x{i}=1" for i in range(1002))
    assert_errors_xml(client.get(f"{BASE}/requests.xml?{many}"), 400)
    assert_errors_json(client.get(f"{BASE}/services.json?{many}"), 400)
    no_boundary = client.post(
        f"{BASE}/requests.json",
        data=b"x",
        content_type="multipart/form-data",
        headers={"X-API-Key": o311.clear},
    )
    assert_errors_json(no_boundary, 400)
