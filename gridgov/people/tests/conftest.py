from __future__ import annotations

from types import SimpleNamespace

import pytest

from gridgov.people import services
from gridgov.people.models import OccupancyRole, PartyOrgKind, Tenure
from gridgov.people.validators import id_check_digit


def valid_id(first17: str = "41020519900101123") -> str:
    return first17 + id_check_digit(first17)


@pytest.fixture
def registry(territory, personas) -> SimpleNamespace:
    """A rented flat in A with a tenant, an owner-occupied flat, a shop, and one resident in B."""
    t, p = territory, personas
    flat = services.house_create(
        actor=p.worker_a, region=t.building_a, room="1-101", tenure=Tenure.RENTED
    )
    own = services.house_create(actor=p.worker_a, region=t.building_a, room="1-102")
    tenant = services.resident_create(
        actor=p.worker_a,
        house=flat,
        name="王建国",
        phone="13812345678",
        id_number=valid_id(),
        occupancy_role=OccupancyRole.TENANT,
    )
    owner = services.resident_create(
        actor=p.worker_a, house=own, name="李秀英", phone="13987654321", tags="独居老人"
    )
    shop = services.business_open(
        actor=p.worker_a, region=t.comm_a, name="老王面馆", contact_phone="13700001111"
    )
    resident_b = services.resident_create(
        actor=p.worker_b, region=t.compound_b, name="赵六", phone="13600002222"
    )
    committee = services.party_org_create(
        actor=p.street_official,
        kind=PartyOrgKind.WORKING_COMMITTEE,
        name="三里堡街道党工委",
        region=t.street,
    )
    return SimpleNamespace(
        flat=flat,
        own=own,
        tenant=tenant,
        owner=owner,
        shop=shop,
        resident_b=resident_b,
        committee=committee,
    )
