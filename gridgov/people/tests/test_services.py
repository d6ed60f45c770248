from __future__ import annotations

import datetime as dt

import pytest

from gridgov.accounts.models import Role
from gridgov.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gridgov.core.models import AuditLog
from gridgov.people import selectors, services
from gridgov.people.models import (
    Business,
    BusinessStatus,
    MemberKind,
    NewOrgKind,
    Occupancy,
    PartyCoverage,
    PartyOrgKind,
    RoleKind,
    Tenure,
)
from gridgov.people.tests.conftest import valid_id
from gridgov.people.validators import id_number_error, phone_error

pytestmark = pytest.mark.django_db


def _audits(action: str, obj) -> int:
    return AuditLog.objects.filter(action=action, target_id=str(obj.pk)).count()


def test_gb11643_check_digit_accepts_valid_and_rejects_wrong_digit():
    assert id_number_error("11010519491231002X") is None  # the standard's own example
    assert id_number_error("110105194912310021") == "身份证号校验位不正确"
    assert id_number_error("11010519491332002X") == "身份证号中的出生日期无效"
    assert id_number_error("12345") is not None
    assert phone_error("13812345678") is None and phone_error("0371-23456789") is None
    assert phone_error("1381234567") is not None


def test_resident_grid_is_derived_from_house_and_gender_from_id(registry, territory):
    assert registry.flat.grid == territory.grid_a
    assert registry.tenant.grid == territory.grid_a
    assert registry.tenant.gender == "male"  # 17th digit 3 is odd
    assert registry.tenant.birth_date == dt.date(1990, 1, 1)
    assert _audits("people.resident_create", registry.tenant) == 1


def test_resident_create_rejects_bad_id_number_and_changes_nothing(territory, personas):
    with pytest.raises(ValidationFailed) as err:
        services.resident_create(
            actor=personas.worker_a,
            region=territory.comm_a,
            name="甲",
            id_number="410205199001011230",
        )
    assert err.value.field == "id_number"
    assert not selectors.resident_list(actor=personas.worker_a).exists()


def test_resident_create_outside_jurisdiction_is_not_found(territory, personas):
    with pytest.raises(NotFound):
        services.resident_create(actor=personas.worker_b, region=territory.comm_a, name="甲")


def test_resident_cannot_edit_registry(territory, personas):
    with pytest.raises(PermissionDenied):
        services.resident_create(actor=personas.resident, region=territory.comm_a, name="甲")


def test_resident_update_audits_changed_field_names_not_values(registry, personas):
    services.resident_update(
        actor=personas.worker_a, resident=registry.owner, phone="13900000000", tags="独居老人，低保"
    )
    registry.owner.refresh_from_db()
    assert registry.owner.phone == "13900000000"
    assert registry.owner.tags == "独居老人,低保"
    row = AuditLog.objects.get(action="people.resident_update", target_id=str(registry.owner.pk))
    assert sorted(row.data["fields"]) == ["phone", "tags"]
    assert "13900000000" not in str(row.data)


def test_rented_flat_changes_tenants_and_keeps_history(registry, personas):
    day = dt.date.today()
    services.occupancy_change(
        actor=personas.worker_a,
        house=registry.flat,
        moved_on=day,
        arriving=[services.PersonInput(name="陈新", phone="13511112222")],
    )
    rows = list(Occupancy.objects.filter(house=registry.flat).order_by("pk"))
    assert len(rows) == 2
    assert rows[0].resident == registry.tenant and rows[0].ended_on == day
    assert rows[1].resident.name == "陈新" and rows[1].ended_on is None
    assert rows[1].resident.grid == registry.flat.grid
    registry.flat.refresh_from_db()
    assert registry.flat.tenure == Tenure.RENTED
    registry.tenant.refresh_from_db()  # the old tenant's record is kept
    assert _audits("people.occupancy_change", registry.flat) == 1


def test_last_tenant_leaving_makes_flat_vacant(registry, personas):
    services.occupancy_change(
        actor=personas.worker_a, house=registry.flat, leaving=[registry.tenant.pk]
    )
    registry.flat.refresh_from_db()
    assert registry.flat.tenure == Tenure.VACANT
    assert not Occupancy.objects.filter(house=registry.flat, ended_on=None).exists()


def test_occupancy_change_rejects_non_occupant(registry, personas):
    with pytest.raises(ValidationFailed) as err:
        services.occupancy_change(
            actor=personas.worker_a, house=registry.flat, leaving=[registry.owner.pk]
        )
    assert err.value.field == "leaving"
    assert Occupancy.objects.filter(house=registry.flat, ended_on=None).count() == 1


def test_business_close_keeps_record_and_cannot_close_twice(registry, personas):
    services.business_close(actor=personas.worker_a, business=registry.shop)
    shop = Business.objects.get(pk=registry.shop.pk)
    assert shop.status == BusinessStatus.CLOSED and shop.closed_on == dt.date.today()
    assert _audits("people.business_close", shop) == 1
    with pytest.raises(Conflict):
        services.business_close(actor=personas.worker_a, business=shop)
    assert set(selectors.business_list(actor=personas.worker_a, status="open")) == set()


def test_party_tree_obeys_children_rules_and_territory(registry, territory, personas):
    p = personas
    grand = services.party_org_create(
        actor=p.street_official,
        kind=PartyOrgKind.GRAND_COMMITTEE,
        name="A社区大党委",
        region=territory.comm_a,
        parent=registry.committee,
    )
    branch = services.party_org_create(
        actor=p.worker_a,
        kind=PartyOrgKind.BRANCH,
        name="47.49号院党支部",
        region=territory.compound_a,
        parent=grand,
    )
    group = services.party_org_create(
        actor=p.worker_a,
        kind=PartyOrgKind.GROUP,
        name="1号楼党小组",
        region=territory.building_a,
        parent=branch,
    )
    services.party_org_create(
        actor=p.worker_a,
        kind=PartyOrgKind.HOUSEHOLD,
        name="王家中心户",
        region=territory.building_a,
        parent=group,
        household=registry.flat,
    )
    with pytest.raises(ValidationFailed) as err:  # a group cannot hold a branch
        services.party_org_create(
            actor=p.worker_a,
            kind=PartyOrgKind.BRANCH,
            name="x",
            region=territory.compound_a,
            parent=group,
        )
    assert err.value.field == "kind"
    with pytest.raises(ValidationFailed) as err:  # B's compound is outside A's committee
        services.party_org_create(
            actor=p.street_official,
            kind=PartyOrgKind.BRANCH,
            name="x",
            region=territory.compound_b,
            parent=grand,
        )
    assert err.value.field == "region"
    tree = selectors.party_org_tree(actor=p.street_official)
    assert [n.org.name for n in tree] == ["三里堡街道党工委"]
    chain = tree[0].children[0].children[0].children[0].children[0]
    assert chain.org.name == "王家中心户"
    # worker A sees the part of the tree inside A, rooted at A's grand committee
    assert [n.org.name for n in selectors.party_org_tree(actor=p.worker_a)] == ["A社区大党委"]


def test_party_member_needs_workplace_when_in_service(registry, territory, personas):
    branch = services.party_org_create(
        actor=personas.street_official,
        kind=PartyOrgKind.GRAND_COMMITTEE,
        name="A社区大党委",
        region=territory.comm_a,
        parent=registry.committee,
    )
    with pytest.raises(ValidationFailed) as err:
        services.party_member_create(
            actor=personas.worker_a,
            name="党员甲",
            kind=MemberKind.IN_SERVICE,
            branch=branch,
            home_community=territory.comm_a,
        )
    assert err.value.field == "workplace"
    unit = services.partner_unit_create(
        actor=personas.worker_a, region=territory.comm_a, name="市第一医院"
    )
    member = services.party_member_create(
        actor=personas.worker_a,
        name="党员甲",
        kind=MemberKind.IN_SERVICE,
        branch=branch,
        home_community=territory.comm_a,
        workplace=unit,
        resident=registry.owner,
    )
    registry.owner.refresh_from_db()
    assert registry.owner.is_party_member
    assert member.region_path == territory.comm_a.path
    assert _audits("people.party_member_create", member) == 1


def test_representative_gets_a_resident_account_on_their_grid(territory, personas):
    role = services.role_assign(
        actor=personas.worker_a,
        kind=RoleKind.REPRESENTATIVE,
        grid=territory.grid_a,
        person_name="人大代表张三",
        detail="人大代表",
    )
    assert role.user is not None
    assert role.user.role == Role.RESIDENT and role.user.scope_region == territory.comm_a
    assert not role.user.has_usable_password()
    services.role_end(actor=personas.worker_a, assignment=role)
    role.user.refresh_from_db()
    assert not role.user.is_active
    with pytest.raises(Conflict):
        services.role_end(actor=personas.worker_a, assignment=role)


def test_grid_worker_role_sets_and_frees_grid_owner(territory, personas):
    territory.grid_b.refresh_from_db()
    assert territory.grid_b.owner is None
    role = services.role_assign(
        actor=personas.worker_b,
        kind=RoleKind.GRID_WORKER,
        grid=territory.grid_b,
        person_name="worker_b",
        user=personas.worker_b,
    )
    territory.grid_b.refresh_from_db()
    assert territory.grid_b.owner == personas.worker_b
    services.role_end(actor=personas.worker_b, assignment=role)
    territory.grid_b.refresh_from_db()
    assert territory.grid_b.owner is None
    with pytest.raises(ValidationFailed):
        services.role_assign(
            actor=personas.worker_a,
            kind=RoleKind.GRID_WORKER,
            region=territory.comm_a,
            person_name="x",
        )


def test_new_org_coverage_change_is_audited(territory, personas):
    org = services.new_org_create(
        actor=personas.worker_a,
        region=territory.comm_a,
        name="快递驿站",
        kind=NewOrgKind.NEW_EMPLOYMENT,
        member_count=20,
        party_member_count=1,
    )
    with pytest.raises(ValidationFailed):  # own organisation needs 3 members
        services.new_org_set_coverage(
            actor=personas.worker_a, new_org=org, coverage=PartyCoverage.OWN_ORG
        )
    services.new_org_set_coverage(
        actor=personas.worker_a, new_org=org, coverage=PartyCoverage.INSTRUCTOR
    )
    assert [o.pk for o in selectors.new_org_list(actor=personas.worker_a, coverage="covered")] == [
        org.pk
    ]
    assert _audits("people.new_org_set_coverage", org) == 1
    with pytest.raises(NotFound):
        services.new_org_set_coverage(
            actor=personas.worker_b, new_org=org, coverage=PartyCoverage.NONE
        )


def test_grid_counts(registry, territory, personas):
    counts = selectors.grid_counts(grid=territory.grid_a)
    assert counts == {"residents": 2, "houses": 2, "open_businesses": 1}
    services.business_close(actor=personas.worker_a, business=registry.shop)
    assert selectors.grid_counts(grid=territory.grid_a)["open_businesses"] == 0


def test_resident_list_filters(registry, territory, personas):
    a = personas.worker_a
    assert {r.pk for r in selectors.resident_list(actor=a)} == {
        registry.tenant.pk,
        registry.owner.pk,
    }
    assert [r.pk for r in selectors.resident_list(actor=a, tag="独居")] == [registry.owner.pk]
    assert [r.pk for r in selectors.resident_list(actor=a, name_prefix="王")] == [
        registry.tenant.pk
    ]
    street = personas.street_official
    assert {
        r.pk for r in selectors.resident_list(actor=street, community_id=territory.comm_b.pk)
    } == {registry.resident_b.pk}
    with pytest.raises(NotFound):
        selectors.resident_list(actor=a, community_id=territory.comm_b.pk)
    with pytest.raises(NotFound):
        selectors.resident_get(actor=personas.worker_b, resident_id=registry.tenant.pk)


def test_valid_id_helper_is_valid():
    assert id_number_error(valid_id()) is None


@pytest.mark.parametrize("when", [dt.date(2099, 1, 1), dt.date(1, 1, 1)])
def test_a_shop_opens_and_closes_on_days_that_have_been(registry, personas, territory, when):
    """A date not yet come, or before 1900 (a year typed wrong), is refused naming it."""
    with pytest.raises(ValidationFailed) as err:
        services.business_open(
            actor=personas.worker_a, region=territory.comm_a, name="新店", opened_on=when
        )
    assert err.value.field == "opened_on" and "开业日期" in str(err.value.message)
    with pytest.raises(ValidationFailed) as err:
        services.business_close(actor=personas.worker_a, business=registry.shop, closed_on=when)
    assert err.value.field == "closed_on" and "关闭日期" in str(err.value.message)
    registry.shop.refresh_from_db()
    assert registry.shop.closed_on is None


def test_one_id_number_one_resident(registry, personas, territory):
    """A form sent twice, or a person registered again, is refused naming 身份证号."""
    taken = registry.tenant.id_number
    with pytest.raises(ValidationFailed) as err:
        services.resident_create(
            actor=personas.worker_a, region=territory.comm_a, name="王建国", id_number=taken
        )
    assert err.value.field == "id_number" and "已有此身份证号" in str(err.value.message)
    other = services.resident_create(actor=personas.worker_a, region=territory.comm_a, name="李四")
    with pytest.raises(ValidationFailed):
        services.resident_update(actor=personas.worker_a, resident=other, id_number=taken)
    # A resident keeps their own number when other details change.
    services.resident_update(actor=personas.worker_a, resident=registry.tenant, id_number=taken)
    assert type(registry.tenant).objects.filter(id_number=taken).count() == 1
