"""Ledger import: success, the error report (row + column for every problem), all-or-nothing."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from gridgov.accounts.models import Role, User
from gridgov.core.errors import PermissionDenied
from gridgov.core.models import AuditLog
from gridgov.ledgers import tables
from gridgov.ledgers.services import ImportRejected, ledger_import, ledger_template
from gridgov.ledgers.tests.conftest import csv_bytes, valid_id, xlsx_bytes
from gridgov.people.models import House, Occupancy, PartyMember, PartyOrg, Resident, Tenure
from gridgov.territory.geo import grid_id_for_point
from gridgov.territory.models import Grid, Region

pytestmark = pytest.mark.django_db

HEAD = [
    "姓名",
    "性别",
    "身份证号",
    "联系电话",
    "所属社区",
    "网格编码",
    "楼栋",
    "房号",
    "居住关系",
    "党员",
    "标签",
]
MEMBER_HEAD = [
    "姓名",
    "身份证号",
    "联系电话",
    "党员类型",
    "所在党组织编码",
    "居住社区编码",
    "工作单位",
    "入党日期",
]
ID1 = valid_id("41020519800101001")
ID2 = valid_id("41020519850202002")


def _problems(exc: ImportRejected) -> set[tuple[int | None, str]]:
    return {(p.row, p.column) for p in exc.problems}


def test_residents_import_creates_houses_occupancy_and_derives_grid(territory, personas):
    data = csv_bytes(
        [
            HEAD,
            [
                "王建国",
                "",
                ID1,
                "13812345678",
                "410205001001",
                "",
                "410205001001001001",
                "1-101",
                "租户",
                "否",
                "独居老人",
            ],
            ["李秀英", "女", ID2, "", "A社区", "", "1号楼", "1-101", "租户", "是", ""],
            ["张三", "", "", "", "410205001001", "", "", "", "", "", ""],
        ]
    )
    result = ledger_import(
        actor=personas.worker_a, kind="residents", data=data, filename="居民.csv"
    )
    assert result.counts == {"residents": 3, "houses": 1, "occupancies": 2}
    house = House.objects.get()
    assert house.tenure == Tenure.RENTED and house.grid == territory.grid_a
    wang = Resident.objects.get(name="王建国")
    assert wang.gender == "male" and wang.grid == territory.grid_a
    assert wang.region == territory.building_a and wang.region_path == territory.building_a.path
    assert Resident.objects.get(name="李秀英").is_party_member
    assert Occupancy.objects.filter(house=house, ended_on=None).count() == 2
    assert AuditLog.objects.filter(action="ledgers.import", data__rows=3).exists()


def test_bad_file_reports_every_problem_with_row_and_column_and_imports_nothing(
    territory, personas
):
    bad_check = ID1[:-1] + ("0" if ID1[-1] != "0" else "1")
    data = csv_bytes(
        [
            HEAD,
            ["好人", "", ID1, "13812345678", "410205001001", "", "", "", "", "", ""],
            ["甲", "", bad_check, "", "410205001001", "", "", "", "", "", ""],
            ["乙", "", "", "12345", "999999", "", "", "", "", "", ""],
            ["丙", "", ID1, "", "410205001001", "", "", "", "", "", ""],
            ["", "不详", "", "", "410205001001", "", "", "101", "", "也许", ""],
        ]
    )
    with pytest.raises(ImportRejected) as err:
        ledger_import(actor=personas.worker_a, kind="residents", data=data, filename="x.csv")
    assert _problems(err.value) == {
        (3, "身份证号"),  # checksum
        (4, "联系电话"),
        (4, "所属社区"),  # bad phone, unknown community code
        (5, "身份证号"),  # duplicate of row 2
        (6, "姓名"),
        (6, "性别"),
        (6, "楼栋"),
        (6, "党员"),
    }
    messages = {(p.row, p.column): p.message for p in err.value.problems}
    assert messages[(3, "身份证号")] == "身份证号校验位不正确"
    assert "与第 2 行重复" in messages[(5, "身份证号")]
    assert "999999" in messages[(4, "所属社区")]
    assert Resident.objects.count() == 0 and House.objects.count() == 0


def test_missing_required_column_and_wrong_file_type(territory, personas):
    with pytest.raises(ImportRejected) as err:
        ledger_import(
            actor=personas.worker_a,
            kind="residents",
            data=csv_bytes([["姓名", "联系电话"], ["王", ""]]),
            filename="x.csv",
        )
    assert _problems(err.value) == {(1, "所属社区")}
    with pytest.raises(ImportRejected) as err:
        ledger_import(actor=personas.worker_a, kind="residents", data=b"hello", filename="x.txt")
    assert "文件类型不支持" in err.value.problems[0].message
    with pytest.raises(ImportRejected) as err:
        ledger_import(
            actor=personas.worker_a, kind="residents", data=b"PK\x03garbage", filename="x.xlsx"
        )
    assert err.value.problems[0].column == "文件"


def test_rows_outside_jurisdiction_are_errors(territory, personas):
    data = csv_bytes([HEAD, ["王", "", "", "", "410205001001", "", "", "", "", "", ""]])
    with pytest.raises(ImportRejected) as err:
        ledger_import(actor=personas.worker_b, kind="residents", data=data, filename="x.csv")
    assert _problems(err.value) == {(2, "所属社区")}
    assert "不在您的辖区内" in err.value.problems[0].message
    assert Resident.objects.count() == 0


def test_import_needs_capability(territory, personas):
    with pytest.raises(PermissionDenied):
        ledger_import(actor=personas.resident, kind="residents", data=b"", filename="x.csv")


def test_xlsx_template_has_headers_and_example_sheet_and_imports_nothing(territory, personas):
    wb = load_workbook(io.BytesIO(ledger_template(kind="residents", fmt="xlsx")))
    header = [c.value for c in wb.worksheets[0][1]]
    assert header[:4] == ["姓名", "性别", "身份证号", "联系电话"]
    assert set(HEAD) <= set(header) and wb.worksheets[0].max_row == 1  # header only
    assert wb.worksheets[1].title == "填写说明"
    csv_template = ledger_template(kind="residents", fmt="csv")
    assert csv_template.startswith("\ufeff".encode())
    with pytest.raises(ImportRejected) as err:  # the example row is a comment
        ledger_import(
            actor=personas.worker_a, kind="residents", data=csv_template, filename="t.csv"
        )
    assert err.value.problems[0].message == "文件中没有数据行"


def _square(lon: float, lat: float, size: float) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [
            [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
        ],
    }


def test_r1_grids_import_from_excel_with_geojson_polygons(territory, personas):
    """R1 at small scale: 30 grids in three levels for community C, polygons nested."""
    rows: list[list[object]] = [
        ["网格编码", "网格名称", "网格层级", "所属社区编码", "上级网格编码"]
    ]
    features = []
    base_lon, base_lat = 114.40, 34.70
    for i in range(2):  # 2 level-1 grids, each 3 level-2, each 3 level-3 → 2 + 6 + 18 = 26
        code1 = f"C-{i + 1:02d}"
        lon1 = base_lon + i * 0.09
        rows.append([code1, f"第{i + 1}网格", 1, "410205002001", None])
        features.append((code1, _square(lon1, base_lat, 0.09)))
        for j in range(3):
            code2 = f"{code1}-{j + 1:02d}"
            lon2 = lon1 + j * 0.03
            rows.append([code2, f"小区网格{code2}", 2, "410205002001", code1])
            features.append((code2, _square(lon2, base_lat, 0.03)))
            for k in range(3):
                code3 = f"{code2}-{k + 1:02d}"
                rows.append([code3, f"楼栋网格{code3}", 3, "410205002001", code2])
                features.append((code3, _square(lon2 + k * 0.01, base_lat, 0.01)))
    for n in range(4):  # 4 scattered-household grids at level 2 without polygons → 30 in all
        rows.append([f"C-01-S{n}", f"散居户网格{n}", 2, "410205002001", "C-01"])
    geo = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": {"网格编码": c}, "geometry": g}
                for c, g in features
            ],
        },
        ensure_ascii=False,
    ).encode()
    admin = personas.admin
    result = ledger_import(
        actor=admin, kind="grids", data=xlsx_bytes(rows), filename="网格.xlsx", geojson=geo
    )
    assert result.counts == {"grids": 30, "polygons": 26}
    leaf = Grid.objects.get(code="C-02-03-02")
    assert leaf.level == 3 and leaf.parent.code == "C-02-03"
    assert leaf.region_path == territory.comm_c.path
    # the point→grid index sees the new grids (finest level wins)
    lon = 114.40 + 0.09 + 2 * 0.03 + 1 * 0.01 + 0.005
    assert grid_id_for_point(latitude=34.705, longitude=lon) == leaf.pk


def test_grid_import_rejects_bad_polygon_level_and_community(territory, personas):
    rows = [
        ["网格编码", "网格名称", "网格层级", "所属社区编码", "上级网格编码"],
        ["G-1", "一", "1", "410205002001", ""],
        ["G-2", "二", "3", "410205002001", "G-1"],  # level should be 2
        ["G-3", "三", "1", "410205002", ""],  # a street, not a community
        ["G-4", "四", "6", "410205002001", ""],
    ]
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    geo = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": {"网格编码": "G-1"}, "geometry": bowtie},
                {"type": "Feature", "properties": {"网格编码": "NOPE"}, "geometry": bowtie},
            ],
        }
    ).encode()
    with pytest.raises(ImportRejected) as err:
        ledger_import(
            actor=personas.admin, kind="grids", data=csv_bytes(rows), filename="g.csv", geojson=geo
        )
    assert _problems(err.value) == {
        (None, "GeoJSON"),
        (2, "GeoJSON"),
        (3, "网格层级"),
        (4, "所属社区编码"),
        (5, "网格层级"),
    }
    assert not Grid.objects.filter(code__startswith="G-").exists()


def test_regions_and_party_tree_import(territory, personas):
    regions = [
        ["编码", "名称", "层级", "上级编码", "纬度", "经度"],
        ["410205001001002001", "2号楼", "楼栋", "410205001001002", "", ""],
        ["410205001001002", "幸福里", "小区/院落", "410205001001", "34.75", "114.35"],
        ["410205001001009", "坏的", "楼栋", "410205001002", "", ""],
    ]  # under B: outside
    with pytest.raises(ImportRejected) as err:
        ledger_import(
            actor=personas.worker_a, kind="regions", data=csv_bytes(regions), filename="r.csv"
        )
    assert _problems(err.value) == {(4, "上级编码")}
    ledger_import(
        actor=personas.worker_a, kind="regions", data=csv_bytes(regions[:3]), filename="r.csv"
    )
    assert (
        Region.objects.get(code="410205001001002001").path
        == "/410205/410205001/410205001001/410205001001002/410205001001002001/"
    )
    orgs = [
        ["组织编码", "组织名称", "组织类型", "上级组织编码", "所属辖区编码", "书记"],
        ["DZ-S", "三里堡街道党工委", "街道党工委", "", "410205001", "刘书记"],
        ["DZ-A", "A社区大党委", "社区大党委", "DZ-S", "410205001001", ""],
        ["DZ-A1", "幸福里党支部", "党支部", "DZ-A", "410205001001002", ""],
        ["DZ-A1-1", "2号楼党小组", "党小组", "DZ-A1", "410205001001002001", ""],
        ["DZ-X", "错误", "党支部", "DZ-A1-1", "410205001001002001", ""],
    ]
    with pytest.raises(ImportRejected) as err:
        ledger_import(
            actor=personas.street_official,
            kind="party_orgs",
            data=csv_bytes(orgs),
            filename="o.csv",
        )
    assert (6, "组织类型") in _problems(err.value)
    ledger_import(
        actor=personas.street_official,
        kind="party_orgs",
        data=csv_bytes(orgs[:5]),
        filename="o.csv",
    )
    assert PartyOrg.objects.get(code="DZ-A1-1").parent.parent.parent.code == "DZ-S"
    members = [
        MEMBER_HEAD,
        ["张红", "", "13912345678", "在职党员", "DZ-A1", "410205001001", "市一院", "2001-07-01"],
        ["李四", "", "", "在职党员", "DZ-A1", "410205001001", "", ""],
    ]
    with pytest.raises(ImportRejected) as err:
        ledger_import(
            actor=personas.worker_a, kind="party_members", data=csv_bytes(members), filename="m.csv"
        )
    assert _problems(err.value) == {(3, "工作单位")}
    result = ledger_import(
        actor=personas.worker_a, kind="party_members", data=csv_bytes(members[:2]), filename="m.csv"
    )
    assert result.counts == {"party_members": 1, "partner_units": 1}
    assert PartyMember.objects.get().workplace.name == "市一院"


@pytest.mark.parametrize("code", ["P99999999999999999999", "P²", "P-1"])
def test_party_member_with_an_impossible_org_code_is_a_row_error(territory, personas, code):
    """An organisation without a code is named "P<id>"; an id no row can have is "not
    found" on its row, not a failed query."""
    rows = [MEMBER_HEAD, ["张红", "", "", "在职党员", code, "410205001001", "市一院", ""]]
    with pytest.raises(ImportRejected) as err:
        ledger_import(
            actor=personas.worker_a, kind="party_members", data=csv_bytes(rows), filename="m.csv"
        )
    assert _problems(err.value) == {(2, "所在党组织编码")}
    assert not PartyMember.objects.exists()


def test_cli_import_reports_errors_with_nonzero_exit(territory, personas, tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([HEAD, ["王", "", "", "", "410205001001", "", "", "", "", "", ""]]))
    call_command("ledger", "import", "residents", str(good), "--as", "worker_a")
    out = capsys.readouterr()
    assert "导入成功：1 行" in out.out
    assert "写入 [" in out.err  # the progress bar
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        csv_bytes([HEAD, ["王", "", "", "123", "410205001001", "", "", "", "", "", ""]])
    )
    with pytest.raises(SystemExit) as exit_info:
        call_command("ledger", "import", "residents", str(bad), "--as", "worker_a", "--no-progress")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "2\t联系电话\t" in err
    assert Resident.objects.count() == 1


def test_cli_export(territory, personas, tmp_path):
    User.objects.create_user("org", role=Role.ORG_DEPT, scope_region=territory.district)
    target = tmp_path / "out.csv"
    call_command("ledger", "export", "regions", str(target), "--as", "org")
    assert "A社区" in target.read_bytes().decode("utf-8-sig")


def test_businesses_import_checks_credit_code_and_closing(territory, personas):
    from gridgov.ledgers.kinds import credit_code_error
    from gridgov.people.models import Business

    assert credit_code_error("91350100M000100Y43") is None  # a published example
    head = [
        "名称",
        "类型",
        "统一社会信用代码",
        "所属辖区编码",
        "联系电话",
        "状态",
        "开业日期",
        "关闭日期",
    ]
    rows = [
        head,
        ["老王面馆", "商铺", "", "410205001001", "13700001111", "营业", "2020-01-01", ""],
        ["坏代码", "企业", "91350100M000100Y44", "410205001001", "", "", "", ""],
        ["关了", "商铺", "", "410205001001", "", "已关闭", "2020-01-01", ""],
        ["老王面馆", "商铺", "", "410205001001", "", "", "", ""],
        ["怪", "摊位", "", "410205001001", "", "", "2020-13-01", ""],
    ]
    with pytest.raises(ImportRejected) as err:
        ledger_import(
            actor=personas.worker_a, kind="businesses", data=csv_bytes(rows), filename="b.csv"
        )
    assert _problems(err.value) == {
        (3, "统一社会信用代码"),
        (4, "关闭日期"),
        (5, "名称"),
        (6, "类型"),
        (6, "开业日期"),
    }
    result = ledger_import(
        actor=personas.worker_a, kind="businesses", data=csv_bytes(rows[:2]), filename="b.csv"
    )
    assert result.counts == {"businesses": 1}
    shop = Business.objects.get()
    assert shop.grid == territory.grid_a and str(shop.opened_on) == "2020-01-01"


def test_houses_import_and_duplicates_against_database(territory, personas):
    head = ["楼栋编码", "房号", "面积", "居住类型"]
    rows = [
        head,
        ["410205001001001001", "1-101", "86.5", "出租"],
        ["410205001001001001", "1-102", "-3", "别墅"],
    ]
    with pytest.raises(ImportRejected) as err:
        ledger_import(
            actor=personas.worker_a, kind="houses", data=csv_bytes(rows), filename="h.csv"
        )
    assert _problems(err.value) == {(3, "面积"), (3, "居住类型")}
    ledger_import(
        actor=personas.worker_a, kind="houses", data=csv_bytes(rows[:2]), filename="h.csv"
    )
    house = House.objects.get()
    assert house.tenure == Tenure.RENTED and str(house.area_m2) == "86.50"
    with pytest.raises(ImportRejected) as err:
        ledger_import(
            actor=personas.worker_a, kind="houses", data=csv_bytes(rows[:2]), filename="h.csv"
        )
    assert "已存在" in err.value.problems[0].message


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(
    ("gender", "role"), [("男", "租户"), ("Male", "Tenant"), ("male", "tenant")]
)
def test_choices_are_read_in_any_of_the_sites_languages_whoever_imports(
    territory, personas, language, gender, role
):
    from django.utils import translation

    row = ["王建国", gender, "", "", "410205001001", "", "", "", role, "否", ""]
    with translation.override(language):
        ledger_import(
            actor=personas.worker_a, kind="residents", data=csv_bytes([HEAD, row]), filename="r.csv"
        )
    resident = Resident.objects.get(name="王建国")
    assert resident.gender == "male"


@pytest.mark.parametrize(
    ("kind", "head", "row", "column", "limit"),
    [
        (
            "residents",
            HEAD,
            ["王建国", "", "", "", "410205001001", "", "", "", "", "否", "标" * 300],
            "标签",
            255,
        ),
        (
            "residents",
            HEAD,
            ["王" * 65, "", "", "", "410205001001", "", "", "", "", "否", ""],
            "姓名",
            64,
        ),
        (
            "businesses",
            ["名称", "所属辖区编码", "地址"],
            ["店" * 129, "410205001001", ""],
            "名称",
            128,
        ),
        (
            "businesses",
            ["名称", "所属辖区编码", "地址"],
            ["老王面馆", "410205001001", "路" * 256],
            "地址",
            255,
        ),
        (
            "regions",
            ["编码", "名称", "层级", "上级编码"],
            ["410205001001099", "院" * 129, "小区/院落", "410205001001"],
            "名称",
            128,
        ),
    ],
)
def test_a_value_too_long_is_a_problem_of_its_row_never_cut_short(
    territory, personas, kind, head, row, column, limit
):
    """What a column cannot hold is refused, naming the row and the column, and nothing is
    imported: it was stored cut short (标签, 名称, 地址) or failed the whole file unnamed."""
    with pytest.raises(ImportRejected) as err:
        ledger_import(
            actor=personas.worker_a, kind=kind, data=csv_bytes([head, row]), filename="x.csv"
        )
    assert (2, column) in _problems(err.value)
    message = next(p.message for p in err.value.problems if p.column == column)
    assert message == f"“{column}”过长（最多{limit}个字）"
    assert (
        not Resident.objects.exists() and not Region.objects.filter(code="410205001001099").exists()
    )


def test_a_shop_opening_in_the_future_is_a_problem_of_its_row(territory, personas):
    head = ["名称", "所属辖区编码", "开业日期"]
    with pytest.raises(ImportRejected) as err:
        ledger_import(
            actor=personas.worker_a,
            kind="businesses",
            data=csv_bytes([head, ["老王面馆", "410205001001", "2099-01-01"]]),
            filename="b.csv",
        )
    assert _problems(err.value) == {(2, "开业日期")}
    assert err.value.problems[0].message == "开业日期不能晚于今天"


def test_a_column_the_ledger_does_not_know_is_named_in_the_result(territory, personas):
    head = ["名称", "所属辖区编码", "备注", "名 称"]
    result = ledger_import(
        actor=personas.worker_a,
        kind="businesses",
        data=csv_bytes([head, ["老王面馆", "410205001001", "自己的备注", "x"]]),
        filename="b.csv",
    )
    assert result.rows == 1
    assert result.notes == ["以下列不属于本台账，未导入：备注、名 称"]


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(
    territory, personas, monkeypatch
):
    rows = [HEAD] + [["王", "", "", "", "410205001001", "", "", "", "", "", ""]] * 40
    data = csv_bytes(rows)
    monkeypatch.setattr(tables, "MAX_FILE_BYTES", len(data) - 1)
    with pytest.raises(ImportRejected) as err:
        ledger_import(actor=personas.worker_a, kind="residents", data=data, filename="r.csv")
    (problem,) = err.value.problems
    assert (problem.row, problem.column) == (None, "文件") and "超过导入上限" in problem.message
    assert not Resident.objects.exists()
    monkeypatch.setattr(tables, "MAX_FILE_BYTES", len(data))
    assert ledger_import(actor=personas.worker_a, kind="residents", data=data, filename="r.csv")


def test_an_xlsx_that_unpacks_past_the_limit_is_refused(territory, personas, monkeypatch):
    data = xlsx_bytes([HEAD] + [["王" * 50, "", "", "", "410205001001"]] * 200)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    assert unpacked > 2 * len(data)  # what the check is for: the parts are compressed
    monkeypatch.setattr(tables, "MAX_XLSX_UNPACKED_BYTES", unpacked - 1)
    with pytest.raises(ImportRejected) as err:
        ledger_import(actor=personas.worker_a, kind="residents", data=data, filename="r.xlsx")
    (problem,) = err.value.problems
    assert problem.column == "文件" and "解压后" in problem.message
    assert not Resident.objects.exists()


def test_a_geojson_over_the_size_limit_is_a_problem_of_the_geojson(
    territory, personas, monkeypatch
):
    geo = json.dumps({"type": "FeatureCollection", "name": "网" * 400, "features": []}).encode()
    monkeypatch.setattr(tables, "MAX_FILE_BYTES", len(geo) - 1)
    grid_head = ["网格编码", "网格名称", "网格层级", "所属社区编码", "上级网格编码"]
    data = csv_bytes([grid_head, ["A-09", "新网格", "1", "410205001001", ""]])
    with pytest.raises(ImportRejected) as err:
        ledger_import(
            actor=personas.worker_a, kind="grids", data=data, filename="g.csv", geojson=geo
        )
    assert any(p.column == "GeoJSON" and "超过导入上限" in p.message for p in err.value.problems)


def test_cli_refuses_a_file_over_the_size_limit_without_reading_it(
    territory, personas, tmp_path, monkeypatch
):
    big = tmp_path / "big.csv"
    big.write_bytes(csv_bytes([HEAD, ["王", "", "", "", "410205001001", "", "", "", "", "", ""]]))
    monkeypatch.setattr(tables, "MAX_FILE_BYTES", big.stat().st_size - 1)
    read = []
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self) or b"")
    with pytest.raises(CommandError, match="超过导入上限"):
        call_command("ledger", "import", "residents", str(big), "--as", "worker_a")
    assert read == [] and not Resident.objects.exists()
