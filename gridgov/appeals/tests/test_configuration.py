"""The district's configuration in the back office: categories and their extra fields.

Bad configuration is refused where it is entered, naming the field; what was stored before
these checks existed does not break the district's Open311 service list or the JSON API.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from gridgov.accounts.tokens import token_create
from gridgov.appeals.attributes import clean_extra_fields
from gridgov.appeals.caches import invalidate
from gridgov.appeals.forms import category_choices
from gridgov.appeals.models import Category, RateSettings, TimeLimit
from gridgov.appeals.services import _LIFT_FIELDS, _UTILITY_FIELDS
from gridgov.appeals.tests.conftest import POINT_A
from gridgov.appeals.tests.helpers import new_appeal, staff_client
from gridgov.core.errors import ValidationFailed
from gridgov.open311.services import apikey_create
from gridgov.open311.tests.conftest import POTHOLE_FIELDS

GOOD = POTHOLE_FIELDS[1]  # a list type, well formed


def category_form(category: Category, **changes) -> dict:
    """The admin change form of ``category`` as sent back unchanged, with ``changes``."""
    data = {
        "district": category.district_id,
        "code": category.code,
        "name": category.name,
        "parent": category.parent_id or "",
        "is_active": "on" if category.is_active else "",
        "default_priority": category.default_priority,
        "description": category.description,
        "extra_fields": json.dumps(category.extra_fields, ensure_ascii=False),
        "order": category.order,
        "is_public": "on" if category.is_public else "",
        "time_limits-TOTAL_FORMS": "0",
        "time_limits-INITIAL_FORMS": "0",
        "time_limits-MIN_NUM_FORMS": "0",
        "time_limits-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    # An unticked box is not sent at all.
    return {k: v for k, v in data.items() if not (k.startswith("is_") and v == "")}


def test_the_seeded_definitions_are_well_formed():
    for fields in (_LIFT_FIELDS, _UTILITY_FIELDS, [GOOD]):
        assert clean_extra_fields(fields) == fields
    assert clean_extra_fields(None) == []
    assert clean_extra_fields("") == []


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"code": "a", "datatype": "string"}, "须为列表"),
        (["a", "b"], "第 1 项：每一项须为一个对象"),
        ([{**GOOD, "order": "abc"}], "第 1 项（lane）：order 须为"),
        ([{**GOOD, "order": [1]}], "order 须为"),
        ([{**GOOD, "order": True}], "order 须为"),
        ([{**GOOD, "datatype": "String"}], "datatype 须为 string, number"),
        ([{**GOOD, "required": "false"}], "required 须为 true 或 false"),
        ([{**GOOD, "values": []}], "列表类型须在 values 中列出"),
        ([{**GOOD, "values": [{"name": "左侧"}]}], "values 的 key"),
        ([{**GOOD, "values": [{"key": "a"}, {"key": "a"}]}], "key「a」重复"),
        ([{**GOOD, "code": "a b"}], "code 须为"),
        ([{**GOOD, "code": "a]"}], "code 须为"),
        ([{**GOOD, "code": "x" * 65}], "code 须为"),
        ([{**GOOD, "description": "长" * 256}], "description 须为"),
        ([{**GOOD, "requried": True}], "不认识的键 requried"),
        ([{**GOOD, "datatype": "string"}], "只有列表类型"),
        ([GOOD, {**GOOD, "order": 3}], "第 2 项（lane）：code 与前面的一项重复"),
    ],
)
def test_bad_definitions_are_refused_saying_which_and_why(fields, says):
    with pytest.raises(ValidationError) as caught:
        clean_extra_fields(fields)
    assert says in caught.value.messages[0]


def test_the_admin_refuses_a_bad_definition_naming_the_field_and_keeps_the_old_one(personas, cats):
    client = staff_client(personas.admin)
    lift = cats.lift
    before = lift.extra_fields
    bad = [{**GOOD, "order": "abc"}]
    answer = client.post(
        f"/admin/appeals/category/{lift.pk}/change/",
        category_form(lift, extra_fields=json.dumps(bad)),
    )
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert "extra_fields" in errors and "order 须为" in errors["extra_fields"][0]
    lift.refresh_from_db()
    assert lift.extra_fields == before
    # The district's Open311 service list is unaffected.
    assert Client().get("/open311/v2/services.json").status_code == 200


def test_an_emptied_definition_box_saves_no_fields(personas, cats):
    client = staff_client(personas.admin)
    lift = cats.lift
    answer = client.post(
        f"/admin/appeals/category/{lift.pk}/change/", category_form(lift, extra_fields="")
    )
    assert answer.status_code == 302
    lift.refresh_from_db()
    assert lift.extra_fields == []


def test_definitions_stored_before_the_checks_do_not_break_the_readers(personas, cats):
    lift = cats.lift
    Category.objects.filter(pk=lift.pk).update(
        extra_fields=[
            {**GOOD, "order": "abc"},
            {**GOOD, "code": "ok", "order": 1},
            {"code": "gone", "datatype": "String"},
        ]
    )
    Category.objects.filter(pk=cats.sewer.pk).update(extra_fields={"code": "a"})
    client = Client()
    assert client.get("/open311/v2/services.json").status_code == 200
    definition = client.get(f"/open311/v2/services/{lift.code}.json")
    assert definition.status_code == 200
    assert [a["code"] for a in definition.json()["attributes"]] == ["ok"]
    assert client.get(f"/open311/v2/services/{cats.sewer.code}.xml").status_code == 200
    api = Client()
    api.force_login(personas.operator)
    listed = {c["code"]: c for c in api.get("/api/v1/appeals/categories").json()}
    assert [f["code"] for f in listed[lift.code]["extra_fields"]] == ["ok"]
    assert listed[cats.sewer.code]["extra_fields"] == []


# ---------------------------------------------------------------- time limits and rates


@pytest.mark.parametrize(
    ("amount", "unit", "says"),
    [
        ("0", "working_days", "1"),
        ("251", "working_days", "不能超过 250"),
        ("2147483647", "calendar_hours", "不能超过 8760"),
        ("2001", "working_hours", "不能超过 2000"),
    ],
)
def test_a_time_limit_out_of_bounds_is_refused_naming_the_amount(
    personas, cats, amount, unit, says
):
    client = staff_client(personas.admin)
    answer = client.post(
        "/admin/appeals/timelimit/add/",
        {"category": cats.sewer.pk, "priority": "complex", "amount": amount, "unit": unit},
    )
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert list(errors) == ["amount"] and says in errors["amount"][0]
    assert not TimeLimit.objects.filter(category=cats.sewer, priority="complex").exists()


def test_a_time_limit_of_a_working_year_is_kept(personas, cats):
    client = staff_client(personas.admin)
    answer = client.post(
        "/admin/appeals/timelimit/add/",
        {"category": cats.sewer.pk, "priority": "complex", "amount": "250", "unit": "working_days"},
    )
    assert answer.status_code == 302
    assert TimeLimit.objects.get(category=cats.sewer, priority="complex").amount == 250


RATES = {
    "basic_value": "0.8",
    "response_hours": "24",
    "weight_response": "0.2",
    "weight_resolution": "0.4",
    "weight_satisfaction": "0.4",
    "whistle_report_hours": "2",
}


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"basic_value": "1.5"}, "basic_value", "1"),
        ({"weight_response": "-1", "weight_resolution": "1.6"}, "weight_response", "0"),
        ({"response_hours": "1000000000"}, "response_hours", "720"),
        ({"response_hours": "0"}, "response_hours", "1"),
        ({"whistle_report_hours": "100000"}, "whistle_report_hours", "200"),
        ({"weight_response": "0.5"}, "__all__", "之和须为 1（现为 1.3）"),
    ],
)
def test_rate_settings_out_of_bounds_are_refused_naming_the_field(
    personas, territory, changes, field, says
):
    client = staff_client(personas.admin)
    answer = client.post(
        "/admin/appeals/ratesettings/add/",
        {"district": territory.district.pk, **RATES, **changes},
    )
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert field in errors and says in errors[field][0]
    assert not RateSettings.objects.exists()


def test_rate_settings_within_bounds_are_kept(personas, territory):
    client = staff_client(personas.admin)
    changes = {"weight_response": "0.3", "weight_resolution": "0.3", "basic_value": "0.6"}
    answer = client.post(
        "/admin/appeals/ratesettings/add/",
        {"district": territory.district.pk, **RATES, **changes},
    )
    assert answer.status_code == 302
    row = RateSettings.objects.get()
    assert (row.weight_response, row.basic_value) == (0.3, 0.6)


def test_values_stored_before_the_bounds_are_brought_within_them(territory, personas, cats):
    from django.apps import apps

    migration = importlib.import_module("gridgov.appeals.migrations.0013_configuration_bounds")
    zero = TimeLimit.objects.create(category=cats.sewer, priority="complex", amount=0)
    huge = TimeLimit.objects.create(
        category=cats.lift, priority="complex", amount=2147483647, unit="calendar_hours"
    )
    rates = RateSettings.objects.create(
        district=territory.district, basic_value=1.5, response_hours=10**9, weight_response=-1
    )
    migration.within_bounds(apps, None)
    zero.refresh_from_db(), huge.refresh_from_db(), rates.refresh_from_db()
    assert (zero.amount, huge.amount) == (1, 8760)
    assert (rates.basic_value, rates.response_hours, rates.weight_response) == (1.0, 720, 0.0)
    # A new case in the category gets a deadline again.
    new = new_appeal(personas.worker_a, cats.lift, priority="complex")
    assert abs(new.deadline - new.created_at - dt.timedelta(hours=8760)) < dt.timedelta(minutes=1)


# ---------------------------------------------------------------- the category tree


def _change_category(client: Client, category: Category, **changes):
    return client.post(
        f"/admin/appeals/category/{category.pk}/change/", category_form(category, **changes)
    )


def _field_error(answer, field: str) -> str:
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert field in errors, errors
    return errors[field][0]


def test_the_tree_keeps_two_levels(personas, cats):
    client = staff_client(personas.admin)
    other = cats.by_code["other"]
    facility = cats.lift.parent
    city = cats.sanitation.parent
    assert "自己的上级" in _field_error(_change_category(client, other, parent=other.pk), "parent")
    # A group with sub-categories cannot become a sub-category itself.
    assert "有下级分类" in _field_error(
        _change_category(client, facility, parent=city.pk), "parent"
    )
    assert Category.objects.get(pk=other.pk).parent_id is None
    assert Category.objects.get(pk=facility.pk).parent_id is None


@pytest.mark.parametrize("code", ["a,b", "a/b", "road light", "路灯", ".road"])
def test_a_category_code_is_a_plain_code(personas, cats, code):
    client = staff_client(personas.admin)
    other = cats.by_code["other"]
    assert "编码只能由字母" in _field_error(_change_category(client, other, code=code), "code")
    assert Category.objects.get(pk=other.pk).code == "other"


def test_a_category_belongs_to_a_district(personas, territory, cats):
    client = staff_client(personas.admin)
    other = cats.by_code["other"]
    _field_error(_change_category(client, other, district=territory.street.pk), "district")
    assert Category.objects.get(pk=other.pk).district_id == territory.district.pk


def _filed(personas, category: Category) -> dict[str, bool]:
    """Whether each channel accepts a case in ``category``."""
    offered = []
    for value, label in category_choices(category.district)[1:]:
        offered += [pk for pk, _name in label] if isinstance(label, list) else [value]
    _key, clear = apikey_create(actor=personas.admin, name="t")
    open311 = Client().post(
        "/open311/v2/requests.json",
        {
            "api_key": clear,
            "service_code": category.code,
            "description": "路灯不亮",
            "lat": POINT_A[0],
            "long": POINT_A[1],
        },
    )
    listed = [s["service_code"] for s in Client().get("/open311/v2/services.json").json()]
    api = Client().post(
        "/api/v1/appeals/",
        json.dumps(
            {
                "channel": "hotline",
                "category_id": category.pk,
                "description": "路灯不亮",
                "latitude": POINT_A[0],
                "longitude": POINT_A[1],
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_create(user=personas.operator, name='t')[1]}",
    )
    if api.status_code != 201:
        assert api.json()["error"]["field"] == "category_id"
    return {
        "hotline form": str(category.pk) in offered,
        "open311 list": category.code in listed,
        "open311 post": open311.status_code == 201,
        "json api": api.status_code == 201,
    }


def test_one_rule_says_where_a_case_can_be_filed_in_every_channel(personas, cats):
    sewer, facility = cats.sewer, cats.sewer.parent
    everywhere = {
        "hotline form": True,
        "open311 list": True,
        "open311 post": True,
        "json api": True,
    }
    nowhere = dict.fromkeys(everywhere, False)
    assert _filed(personas, sewer) == everywhere
    # A group is filed under through its sub-categories.
    assert _filed(personas, facility) == nowhere
    # Switching a group off switches off its sub-categories, wherever the case comes from.
    Category.objects.filter(pk=facility.pk).update(is_active=False)
    invalidate()
    assert _filed(personas, Category.objects.get(pk=sewer.pk)) == nowhere
    # A group whose sub-categories are all off is filed under itself.
    Category.objects.filter(pk=facility.pk).update(is_active=True)
    Category.objects.filter(parent=facility).update(is_active=False)
    invalidate()
    assert _filed(personas, Category.objects.get(pk=facility.pk)) == everywhere


# ---------------------------------------------------------------- holidays and API keys


def test_a_district_admin_who_is_no_superuser_manages_holidays_and_api_keys(personas):
    assert not personas.admin.is_superuser
    client = staff_client(personas.admin)
    assert client.get("/admin/core/holiday/").status_code == 200
    assert client.get("/admin/core/holiday/add/").status_code == 200
    assert client.get("/admin/open311/apikey/").status_code == 200
    worker = staff_client(personas.worker_a)
    assert worker.get("/admin/core/holiday/").status_code == 403
    assert worker.get("/admin/open311/apikey/").status_code == 403


def test_an_api_key_is_revoked_never_deleted(personas):
    key, _clear = apikey_create(actor=personas.admin, name="热线")
    client = staff_client(personas.admin)
    assert client.get(f"/admin/open311/apikey/{key.pk}/delete/").status_code == 403
    listing = client.get("/admin/open311/apikey/").content.decode()
    assert "delete_selected" not in listing and "revoke_keys" in listing


def test_an_api_key_is_scoped_to_a_community_or_above(personas, territory):
    with pytest.raises(ValidationFailed) as err:
        apikey_create(actor=personas.admin, name="楼栋", region=territory.building_a)
    assert err.value.field == "region"
    with pytest.raises(CommandError, match="授权范围须为"):
        call_command("apikey", "create", "--name", "楼栋", "--region", territory.building_a.code)
    form = staff_client(personas.admin).get("/admin/open311/apikey/add/")
    choices = [str(pk) for pk, _label in form.context["adminform"].form.fields["region"].choices]
    assert str(territory.comm_a.pk) in choices and str(territory.building_a.pk) not in choices
    assert apikey_create(actor=personas.admin, name="社区", region=territory.comm_a)[0].region_id


def test_a_duplicate_time_limit_row_is_named_by_its_label(personas, cats):
    client = staff_client(personas.admin)
    sewer = cats.sewer
    row = {"priority": "complex", "amount": "10", "unit": "working_days"}
    form = category_form(
        sewer,
        **{
            "time_limits-TOTAL_FORMS": "2",
            **{f"time_limits-{i}-{k}": v for i in (0, 1) for k, v in row.items()},
        },
    )
    answer = client.post(f"/admin/appeals/category/{sewer.pk}/change/", form)
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "请修改分类 和 紧急程度的重复数据" in page and "priority的重复数据" not in page
    assert not TimeLimit.objects.filter(category=sewer, priority="complex").exists()
