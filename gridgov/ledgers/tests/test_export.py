"""Export: masked by default; unmasked needs the capability and a reason and is logged;
round trip export → import into an empty database gives the same data."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from gridgov.accounts.models import PiiAccessLog, Role, User
from gridgov.conftest import make_user
from gridgov.core.errors import PermissionDenied, ValidationFailed
from gridgov.ledgers import tables, views
from gridgov.ledgers.services import grids_geojson_export, ledger_export, ledger_import
from gridgov.ledgers.tests.conftest import csv_bytes, valid_id
from gridgov.people import services
from gridgov.people.models import (
    Business,
    House,
    MemberKind,
    Occupancy,
    OccupancyRole,
    PartnerUnit,
    PartyMember,
    PartyOrg,
    PartyOrgKind,
    Resident,
    Tenure,
)
from gridgov.territory.models import Department, Grid, Region

pytestmark = pytest.mark.django_db

ID1 = valid_id("41020519800101001")


@pytest.fixture
def people(territory, personas):
    p, t = personas, territory
    flat = services.house_create(
        actor=p.worker_a, region=t.building_a, room="1-101", tenure=Tenure.RENTED, area_m2=None
    )
    wang = services.resident_create(
        actor=p.worker_a,
        house=flat,
        name="王建国",
        phone="13812345678",
        id_number=ID1,
        occupancy_role=OccupancyRole.TENANT,
        tags="独居老人",
    )
    services.resident_create(
        actor=p.worker_b, region=t.compound_b, name="赵六", phone="13600002222"
    )
    shop = services.business_open(
        actor=p.worker_a,
        region=t.comm_a,
        name="老王面馆",
        contact_name="王建国",
        contact_phone="13700001111",
        opened_on=dt.date(2020, 1, 1),
    )
    services.business_close(actor=p.worker_a, business=shop, closed_on=dt.date(2025, 1, 1))
    committee = services.party_org_create(
        actor=p.street_official,
        kind=PartyOrgKind.WORKING_COMMITTEE,
        name="街道党工委",
        region=t.street,
    )
    grand = services.party_org_create(
        actor=p.street_official,
        kind=PartyOrgKind.GRAND_COMMITTEE,
        name="A社区大党委",
        region=t.comm_a,
        parent=committee,
        code="DZ-A",
    )
    unit = services.partner_unit_create(actor=p.worker_a, region=t.comm_a, name="市一院")
    services.party_member_create(
        actor=p.worker_a,
        name="王建国",
        kind=MemberKind.IN_SERVICE,
        branch=grand,
        home_community=t.comm_a,
        workplace=unit,
        resident=wang,
        phone="13812345678",
        joined_on=dt.date(2001, 7, 1),
    )
    return wang


def _text(data: bytes) -> str:
    return data.decode("utf-8-sig")


def test_export_is_masked_by_default_and_scoped(people, personas):
    text = _text(ledger_export(actor=personas.worker_a, kind="residents", fmt="csv"))
    assert "王**" in text and "138****5678" in text and "4102**********" in text
    assert "王建国" not in text and "13812345678" not in text and ID1 not in text
    assert "赵*" not in text  # B's resident is outside A's jurisdiction
    shops = _text(ledger_export(actor=personas.worker_a, kind="businesses", fmt="csv"))
    assert "老王面馆" in shops and "137****1111" in shops and "13700001111" not in shops
    members = _text(ledger_export(actor=personas.worker_a, kind="party_members", fmt="csv"))
    assert "王**" in members and ID1 not in members
    assert PiiAccessLog.objects.count() == 0


def test_unmasked_export_needs_reason_and_capability_and_is_logged(people, personas, territory):
    with pytest.raises(ValidationFailed) as err:
        ledger_export(actor=personas.worker_a, kind="residents", fmt="csv", unmasked=True)
    assert err.value.field == "reason"
    org = make_user("org", Role.ORG_DEPT, territory.district)  # may export, not reveal
    with pytest.raises(PermissionDenied):
        ledger_export(actor=org, kind="residents", fmt="csv", unmasked=True, reason="核对")
    assert PiiAccessLog.objects.count() == 0
    data = ledger_export(
        actor=personas.worker_a, kind="residents", fmt="xlsx", unmasked=True, reason="年度核对"
    )
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    values = [c.value for c in ws[2]]
    assert "王建国" in values and ID1 in values
    log = PiiAccessLog.objects.filter(actor=personas.worker_a).first()
    assert log.reason == "年度核对" and log.subject_type == "ledgers.residents"
    assert "身份证号" in log.fields


def test_export_page_downloads_masked_and_asks_reason(client, people, personas):
    client.force_login(personas.worker_a)
    response = client.post(reverse("ledgers:export", args=["residents"]), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    assert "13812345678" not in _text(response.content)
    response = client.post(
        reverse("ledgers:export", args=["residents"]),
        {"format": "csv", "unmasked": "on", "reason": ""},
    )
    assert response.status_code == 400
    assert "须填写事由" in response.content.decode()


def test_an_unmasked_export_is_never_a_link(client, people, personas):
    """By GET (a link, or another site's page with the session's cookie) the full data is
    refused, naming the field, and nothing is logged; the posted form still works."""
    from gridgov.accounts.models import PiiAccessLog

    client.force_login(personas.worker_a)
    url = reverse("ledgers:export", args=["residents"])
    response = client.get(url, {"format": "csv", "unmasked": "on", "reason": "例行检查"})
    assert response.status_code == 400
    assert "导出完整信息须在页面上填写事由后提交" in response.content.decode()
    assert "13812345678" not in response.content.decode()
    assert PiiAccessLog.objects.count() == 0
    masked = client.get(url, {"format": "csv"})
    assert masked.status_code == 200 and "13812345678" not in _text(masked.content)
    posted = client.post(url, {"format": "csv", "unmasked": "on", "reason": "例行检查"})
    assert posted.status_code == 200 and "13812345678" in _text(posted.content)
    assert PiiAccessLog.objects.count() == 1


def test_pages_upload_shows_report_and_jurisdiction(client, territory, personas):
    client.force_login(personas.worker_b)
    assert client.get(reverse("ledgers:index")).status_code == 200
    head = ["姓名", "所属社区", "联系电话"]
    upload = io.BytesIO(csv_bytes([head, ["王", "410205001001", "1"]]))
    upload.name = "居民.csv"
    response = client.post(reverse("ledgers:import", args=["residents"]), {"file": upload})
    html = response.content.decode()
    assert response.status_code == 400 and 'id="problems"' in html
    assert "不在您的辖区内" in html and "联系电话应为11位" in html
    assert Resident.objects.count() == 0
    client.force_login(personas.worker_a)
    upload = io.BytesIO(csv_bytes([head, ["王", "410205001001", "13812345678"]]))
    upload.name = "居民.csv"
    response = client.post(reverse("ledgers:import", args=["residents"]), {"file": upload})
    assert response.status_code == 200 and "导入成功" in response.content.decode()
    assert Resident.objects.get().region == territory.comm_a
    template = client.get(reverse("ledgers:template", args=["residents", "xlsx"]))
    assert template.status_code == 200 and template.content[:2] == b"PK"
    client.force_login(personas.resident)
    assert client.get(reverse("ledgers:index")).status_code == 403


KINDS_IN_ORDER = [
    "regions",
    "grids",
    "houses",
    "residents",
    "businesses",
    "party_orgs",
    "party_members",
]


def _wipe() -> None:
    """Empty every registry table (children before parents)."""
    PartyMember.objects.all().delete()
    PartnerUnit.objects.all().delete()
    while PartyOrg.objects.exists():
        PartyOrg.objects.filter(children=None).delete()
    Occupancy.objects.all().delete()
    Resident.objects.all().delete()
    House.objects.all().delete()
    Business.objects.all().delete()
    from gridgov.people.models import RoleAssignment

    RoleAssignment.objects.all().delete()
    while Grid.objects.exists():
        Grid.objects.filter(children=None).delete()
    User.objects.filter(is_superuser=False).delete()
    Department.objects.all().delete()
    while Region.objects.exists():
        Region.objects.filter(children=None).delete()


# A file is the same whatever language its exporter's and its importer's pages are in.
@pytest.mark.parametrize(
    ("exported_in", "imported_in"), [("zh-hans", "zh-hans"), ("en", "zh-hans"), ("zh-hans", "en")]
)
def test_round_trip_export_then_import_into_empty_database_gives_same_data(
    people, territory, exported_in, imported_in
):
    root = User.objects.create_superuser("root", password="pass-1234")
    fmt_for = {k: ("xlsx" if i % 2 else "csv") for i, k in enumerate(KINDS_IN_ORDER)}
    with translation.override(exported_in):
        before = {
            k: ledger_export(actor=root, kind=k, fmt=fmt_for[k], unmasked=True, reason="迁移")
            for k in KINDS_IN_ORDER
        }
    geojson = grids_geojson_export(actor=root)
    _wipe()
    assert not Region.objects.exists() and not Resident.objects.exists()
    for kind in KINDS_IN_ORDER:
        with translation.override(imported_in):
            ledger_import(
                actor=root,
                kind=kind,
                data=before[kind],
                filename=f"{kind}.{fmt_for[kind]}",
                geojson=geojson if kind == "grids" else None,
            )
    for kind in KINDS_IN_ORDER:
        after = ledger_export(actor=root, kind=kind, fmt="csv", unmasked=True, reason="核对")
        again = ledger_export(actor=root, kind=kind, fmt="csv", unmasked=True, reason="核对")
        assert after == again
        if fmt_for[kind] == "csv":
            assert after == before[kind], kind
    # xlsx kinds: compare cell values
    for kind in [k for k in KINDS_IN_ORDER if fmt_for[k] == "xlsx"]:
        old = [[c.value for c in r] for r in load_workbook(io.BytesIO(before[kind])).worksheets[0]]
        new_bytes = ledger_export(actor=root, kind=kind, fmt="xlsx", unmasked=True, reason="核对")
        new = [[c.value for c in r] for r in load_workbook(io.BytesIO(new_bytes)).worksheets[0]]
        assert old == new, kind
    assert grids_geojson_export(actor=root) == geojson
    wang = Resident.objects.get(name="王建国")
    assert wang.id_number == ID1 and wang.is_party_member
    assert wang.occupancies.get().house.tenure == Tenure.RENTED
    assert PartyMember.objects.get().resident == wang


def test_the_ledger_page_reads_in_english_while_the_file_keeps_its_headers(client, personas):
    """The page's notes, tabs and headings are UI; a column's header and its values are the
    file's (Chinese), shown with the header's meaning beside it."""
    client.force_login(personas.worker_a)
    page = client.get(
        reverse("ledgers:index") + "?kind=residents", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Resident ledger" in page and "Male or female; empty: from the ID number" in page
    assert "One of: 产权人、租户、家庭成员" in page  # the values the file takes
    assert '性别 <span class="muted">(Sex)</span>' in page
    assert "男/女；不填时按身份证号" not in page and "多个用逗号分隔" not in page


def test_the_upload_page_refuses_a_file_over_the_size_limit_naming_the_field(
    client, territory, personas, monkeypatch
):
    client.force_login(personas.worker_a)
    data = csv_bytes([["姓名", "所属社区", "联系电话"], ["王", "410205001001", "13812345678"]])
    monkeypatch.setattr(tables, "MAX_FILE_BYTES", len(data) - 1)
    read = []
    monkeypatch.setattr(views, "ledger_import", lambda **kw: read.append(kw))
    upload = io.BytesIO(data)
    upload.name = "居民.csv"
    response = client.post(reverse("ledgers:import", args=["residents"]), {"file": upload})
    html = response.content.decode()
    assert response.status_code == 400 and "超过导入上限" in html
    assert "超过导入上限" in response.context["upload_form"].errors["file"][0]
    assert read == [] and not Resident.objects.exists()
