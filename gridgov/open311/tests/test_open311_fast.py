"""Open311 reads stay one query per page whatever the page holds, and the intake POST
reads no category or grid row once the process has seen them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridgov.core.pii import mask_text
from gridgov.open311.tests.test_open311 import BASE, body, new_request


@pytest.mark.django_db
def test_a_page_of_requests_is_one_query_whatever_its_size(client, o311):
    for _ in range(2):
        new_request(client, o311)
    with CaptureQueriesContext(connection) as few:
        assert len(body(client.get(f"{BASE}/requests.json"))) == 2
    for _ in range(4):
        new_request(client, o311)
    with CaptureQueriesContext(connection) as many:
        assert len(body(client.get(f"{BASE}/requests.json", {"page_size": 5}))) == 5
    assert len(few.captured_queries) == len(many.captured_queries) == 1


@pytest.mark.django_db
def test_post_reads_no_category_or_grid_once_warm(client, o311):
    new_request(client, o311)
    with CaptureQueriesContext(connection) as queries:
        new_request(client, o311, description="又坏了一盏")
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    for table in ("appeals_category", "appeals_timelimit", "territory_grid"):
        assert f'FROM "{table}"' not in sql


@pytest.mark.django_db
def test_a_key_scoped_to_b_does_not_list_a_request_of_a(client, o311):
    code = new_request(client, o311)
    listed = body(client.get(f"{BASE}/requests.json", {"api_key": o311.clear_b}))
    assert code not in [r["service_request_id"] for r in listed]
    own = body(client.get(f"{BASE}/requests.json", {"api_key": o311.clear}))
    assert code in [r["service_request_id"] for r in own]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("", ""),
        ("路灯不亮 b1-23-1700000000-123456789", "路灯不亮 b1-23-1700000000-123456789"),
        ("联系人13812345678，谢谢", "联系人138****5678，谢谢"),
        ("身份证410205199001011234", "身份证4102**********1234"),
        ("身份证41020519900101123X号", "身份证4102**********123X号"),
        ("编号138123456789不是手机", "编号138123456789不是手机"),  # 12 digits: no number
    ],
)
def test_free_text_masks_phone_and_id_numbers_only(text, shown):
    assert mask_text(text) == shown
