"""Back office: configuration editable by district admins, appeals read-only and scoped."""

from __future__ import annotations

from gridgov.appeals.tests.conftest import POINT_B
from gridgov.appeals.tests.helpers import new_appeal, staff_client


def test_district_admin_edits_categories_and_sees_appeals_read_only(personas, cats):
    appeal = new_appeal(personas.worker_a, cats.sanitation, reporter_phone="13812345678")
    client = staff_client(personas.admin)
    assert client.get("/admin/appeals/category/").status_code == 200
    page = client.get(f"/admin/appeals/category/{cats.sanitation.pk}/change/")
    assert page.status_code == 200 and b'name="name"' in page.content
    detail = client.get(f"/admin/appeals/appeal/{appeal.pk}/change/")
    assert detail.status_code == 200
    assert b"13812345678" not in detail.content and b"138****5678" in detail.content
    # The resident's comment on the rating is free text too.
    type(appeal).objects.filter(pk=appeal.pk).update(rating_comment="满意，回拨13987650016")
    detail = client.get(f"/admin/appeals/appeal/{appeal.pk}/change/")
    assert b"13987650016" not in detail.content and b"139****0016" in detail.content
    assert b'name="description"' not in detail.content  # read-only
    assert "诉求流转记录" in detail.content.decode()  # the history inline is shown
    assert client.get("/admin/appeals/appeal/add/").status_code == 403


def test_worker_b_admin_list_is_scoped_and_cannot_configure(personas, cats):
    mine = new_appeal(personas.worker_b, cats.sanitation, point=POINT_B)
    theirs = new_appeal(personas.worker_a, cats.sanitation)
    client = staff_client(personas.worker_b)
    listing = client.get("/admin/appeals/appeal/").content.decode()
    assert mine.tracking_code in listing and theirs.tracking_code not in listing
    assert client.get(f"/admin/appeals/appeal/{theirs.pk}/change/").status_code in (302, 404)
    assert client.get("/admin/appeals/category/").status_code == 403
