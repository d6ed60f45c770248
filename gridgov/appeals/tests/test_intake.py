from __future__ import annotations

import io

import pytest
from PIL import Image

from gridgov.appeals.models import Action, Appeal, AppealEvent, Channel, OutboxMessage, Status
from gridgov.appeals.services import appeal_intake
from gridgov.appeals.tests.conftest import POINT_A, POINT_B
from gridgov.core.errors import Conflict, PermissionDenied, ValidationFailed
from gridgov.core.models import AuditLog


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (32, 24), (200, 10, 10))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = {1: "N", 2: (34.0, 45.0, 18.0), 3: "E", 4: (114.0, 21.0, 18.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_intake_by_point_selects_grid_and_community(
    personas, cats, territory, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appeal = appeal_intake(
            actor=personas.grid_worker,
            channel=Channel.GRID_PATROL,
            category=cats.illegal,
            description="邻居私搭乱建挡光",
            latitude=POINT_A[0],
            longitude=POINT_A[1],
            reporter_name="王先生",
            reporter_phone="13800001234",
        )
    assert appeal.status == Status.RECEIVED
    assert appeal.grid == territory.grid_a
    assert appeal.region == territory.comm_a
    assert appeal.region_path == territory.comm_a.path
    assert appeal.deadline is not None and appeal.deadline > appeal.created_at
    assert len(appeal.tracking_code) == 10
    event = AppealEvent.objects.get(appeal=appeal)
    assert event.action == Action.INTAKE and event.to_status == Status.RECEIVED
    assert AuditLog.objects.filter(action="appeal.intake", target_id=str(appeal.pk)).count() == 1


def test_same_idempotency_key_returns_the_same_appeal(personas, cats):
    kwargs = dict(
        actor=personas.operator,
        channel=Channel.HOTLINE,
        category=cats.sewer,
        description="下水管道破裂",
        latitude=POINT_A[0],
        longitude=POINT_A[1],
        idempotency_key="call-42",
    )
    first = appeal_intake(**kwargs)
    second = appeal_intake(**kwargs)
    assert first.pk == second.pk
    assert Appeal.objects.count() == 1
    assert AppealEvent.objects.count() == 1
    # The key reused for another report (here another place) is refused, naming the key.
    with pytest.raises(Conflict) as err:
        appeal_intake(**{**kwargs, "latitude": POINT_B[0], "longitude": POINT_B[1]})
    assert err.value.field == "idempotency_key"
    assert Appeal.objects.count() == 1


def test_address_alone_needs_a_region_from_the_operator(personas, cats, territory):
    with pytest.raises(ValidationFailed) as err:
        appeal_intake(
            actor=personas.operator,
            channel=Channel.HOTLINE,
            category=cats.sewer,
            description="下水管道破裂",
            address="幸福路1号",
        )
    assert err.value.field == "location"
    appeal = appeal_intake(
        actor=personas.operator,
        channel=Channel.HOTLINE,
        category=cats.sewer,
        description="下水管道破裂",
        address="幸福路1号",
        region=territory.comm_b,
    )
    assert appeal.region == territory.comm_b and appeal.grid is None


def test_explicit_region_outside_the_workers_jurisdiction_is_refused(personas, cats, territory):
    with pytest.raises(ValidationFailed) as err:
        appeal_intake(
            actor=personas.worker_b,
            channel=Channel.DOORSTEP,
            category=cats.sewer,
            description="下水管道破裂",
            region=territory.comm_a,
        )
    assert err.value.field == "region"
    assert Appeal.objects.count() == 0


def test_anonymous_staff_channel_is_forbidden_but_self_service_works(
    cats, territory, django_capture_on_commit_callbacks
):
    with pytest.raises(PermissionDenied):
        appeal_intake(
            actor=None,
            channel=Channel.HOTLINE,
            category=cats.sewer,
            description="x",
            latitude=POINT_A[0],
            longitude=POINT_A[1],
        )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        appeal = appeal_intake(
            actor=None,
            channel=Channel.SELF_SERVICE,
            category=cats.sewer,
            description="楼下污水外溢",
            reporter_phone="13900002222",
        )
    assert appeal.region == territory.district  # placed later by the operator
    assert OutboxMessage.objects.filter(recipient="13900002222").count() == 1
    assert len(callbacks) == 1  # delivery enqueued after commit


def test_photo_is_stored_without_exif_and_bad_files_are_refused(personas, cats):
    raw = jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif().get(0x8825)
    appeal = appeal_intake(
        actor=personas.grid_worker,
        channel=Channel.GRID_PATROL,
        category=cats.sanitation,
        description="垃圾堆积",
        latitude=POINT_A[0],
        longitude=POINT_A[1],
        photos=[raw],
    )
    photo = appeal.photos.get()
    assert photo.content_type == "image/jpeg"
    with photo.file.open("rb") as fh:
        stored = Image.open(io.BytesIO(fh.read()))
        assert not stored.getexif()
    with pytest.raises(ValidationFailed) as err:
        appeal_intake(
            actor=personas.grid_worker,
            channel=Channel.GRID_PATROL,
            category=cats.sanitation,
            description="垃圾堆积",
            latitude=POINT_A[0],
            longitude=POINT_A[1],
            photos=[b"GIF89a not a photo"],
        )
    assert err.value.field == "photos"
    too_big = io.BytesIO(b"\xff\xd8" + b"0" * (8 * 1024 * 1024 + 1))
    too_big.name = "big.jpg"
    with pytest.raises(ValidationFailed):
        appeal_intake(
            actor=personas.grid_worker,
            channel=Channel.GRID_PATROL,
            category=cats.sanitation,
            description="垃圾堆积",
            latitude=POINT_A[0],
            longitude=POINT_A[1],
            photos=[too_big],
        )
    assert Appeal.objects.count() == 1


def test_duplicates_are_proposed_on_intake(personas, cats):
    first = appeal_intake(
        actor=personas.operator,
        channel=Channel.HOTLINE,
        category=cats.lift,
        description="3号楼电梯坏了，停在5楼不动",
        latitude=34.7551,
        longitude=114.3551,
    )
    far = appeal_intake(
        actor=personas.operator,
        channel=Channel.HOTLINE,
        category=cats.lift,
        description="电梯坏了",
        latitude=34.7590,
        longitude=114.3590,
    )
    other_cat = appeal_intake(
        actor=personas.operator,
        channel=Channel.HOTLINE,
        category=cats.sanitation,
        description="3号楼电梯坏了",
        latitude=34.7551,
        longitude=114.3551,
    )
    second = appeal_intake(
        actor=personas.operator,
        channel=Channel.HOTLINE,
        category=cats.lift,
        description="3号楼电梯坏了",
        latitude=34.7552,
        longitude=114.3552,
    )
    ids = second.duplicate_candidates
    assert ids == [first.pk]
    assert far.pk not in ids and other_cat.pk not in ids
    event = second.events.get(action=Action.INTAKE)
    assert event.data["duplicate_candidates"] == [first.pk]


def test_intake_query_count_does_not_grow_with_the_table(
    personas, cats, django_assert_max_num_queries
):
    from gridgov.appeals.tests.helpers import spot

    for _ in range(5):
        lat, lon = spot()
        appeal_intake(
            actor=personas.operator,
            channel=Channel.HOTLINE,
            category=cats.sewer,
            description="下水管道破裂",
            latitude=lat,
            longitude=lon,
        )
    lat, lon = spot()
    # the filing rule and the time limit (a category not from the category cache, as the
    # API's and Open311's are), duplicate look-up, savepoint, appeal, event, audit, release
    # (the grid and its community come from the grid index)
    with django_assert_max_num_queries(8):
        appeal_intake(
            actor=personas.operator,
            channel=Channel.HOTLINE,
            category=cats.sewer,
            description="下水管道破裂",
            latitude=lat,
            longitude=lon,
        )


def test_appeal_list_page_is_one_query(personas, cats, django_assert_num_queries):
    from gridgov.appeals.selectors import appeal_page
    from gridgov.appeals.tests.helpers import spot

    for _ in range(3):
        lat, lon = spot()
        appeal_intake(
            actor=personas.operator,
            channel=Channel.HOTLINE,
            category=cats.sewer,
            description="下水管道破裂",
            latitude=lat,
            longitude=lon,
        )
    with django_assert_num_queries(1):
        page = appeal_page(actor=personas.worker_a, size=2)
        assert [a.category.parent.name for a in page.items] == ["设施维护", "设施维护"]
        assert page.items[0].region.name == "A社区"


def test_category_cache_loads_a_district_at_once(cats, django_assert_num_queries):
    from gridgov.appeals import caches
    from gridgov.appeals.models import Priority, TimeLimit, TimeUnit

    TimeLimit.objects.filter(category__in=[cats.sewer, cats.sewer.parent]).delete()
    TimeLimit.objects.create(
        category=cats.sewer.parent, priority=Priority.URGENT, amount=3, unit=TimeUnit.CALENDAR_HOURS
    )
    TimeLimit.objects.create(
        category=cats.sewer.parent, priority=Priority.NORMAL, amount=5, unit=TimeUnit.WORKING_DAYS
    )
    TimeLimit.objects.create(
        category=cats.sewer, priority=Priority.NORMAL, amount=2, unit=TimeUnit.WORKING_DAYS
    )
    caches.invalidate()
    with django_assert_num_queries(2):  # the district's categories, then their time limits
        sewer = caches.category_by_id(cats.sewer.pk)
    district = cats.sewer.district.code
    with django_assert_num_queries(0):
        assert caches.category_by_id(cats.fire.pk).pk == cats.fire.pk
        assert caches.service_category_by_code(district_code=district, code="safety.fire")
        assert caches.service_category_by_code(district_code=district, code="no.such") is None
        assert caches.category_by_id(cats.lift.parent_id).pk == cats.lift.parent_id
    assert sewer.parent_id == cats.sewer.parent_id and sewer.district.code == district
    # Its own limit first, then its parent's.
    assert sewer.cached_limits == {
        Priority.URGENT: (3, TimeUnit.CALENDAR_HOURS),
        Priority.NORMAL: (2, TimeUnit.WORKING_DAYS),
    }
    with django_assert_num_queries(1):  # no district: no time limits to read
        assert caches.category_by_id(10**9) is None
    with django_assert_num_queries(0):
        assert caches.category_by_id(10**9) is None


def test_category_cache_sees_a_saved_category_at_once(cats):
    from gridgov.appeals import caches

    assert caches.category_by_id(cats.fire.pk).is_active
    cats.fire.is_active = False
    cats.fire.save()
    assert not caches.category_by_id(cats.fire.pk).is_active
    code = cats.fire.district.code
    assert caches.service_category_by_code(district_code=code, code="safety.fire") is None
