"""The audit findings on the appeal loop: several whistled departments, staff withdrawal,
self-approved extensions, cross-boundary and address-only grid reports, the resident form's
point check, and idempotency keys reused for a different report."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gridgov.appeals import services as s
from gridgov.appeals.models import (
    Action,
    Appeal,
    AppealEvent,
    AppealWhistle,
    ExtensionRequest,
    Notification,
    OutboxMessage,
    Status,
)
from gridgov.appeals.tests.conftest import POINT_A, POINT_B
from gridgov.appeals.tests.helpers import new_appeal
from gridgov.conftest import make_user
from gridgov.core.errors import Conflict, PermissionDenied
from gridgov.core.models import AuditLog
from gridgov.territory.models import Department, Grid

API = "/api/v1/appeals"


def _auth(user) -> dict:
    from gridgov.accounts.tokens import token_create

    _, token = token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _post(client, path: str, body: dict, headers: dict):
    return client.post(f"{API}{path}", json.dumps(body), content_type="application/json", **headers)


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# ---------------------------------------------------------------- 1. several whistled departments


@pytest.fixture
def whistled(personas, cats, territory):
    """A case the community whistled to two departments: 城市管理局 (lead) and 派出所."""
    police = Department.objects.create(code="D-POL", name="派出所", region=territory.district)
    officer = make_user("police_1", "department_handler", territory.district, department=police)
    appeal = new_appeal(personas.worker_a, cats.illegal)
    s.appeal_register(actor=personas.worker_a, appeal=appeal)
    return appeal, police, officer


def test_a_whistled_department_declining_leaves_the_case_with_the_lead(
    client, personas, whistled, territory
):
    appeal, police, officer = whistled
    worker = _auth(personas.worker_a)
    body = {"department_ids": [territory.dept.pk, police.pk]}
    assert _post(client, f"/{appeal.pk}/whistle", body, worker).status_code == 200
    assert _post(client, f"/{appeal.pk}/accept", {}, _auth(personas.handler)).status_code == 200

    declined = _post(client, f"/{appeal.pk}/return", {"reason": "不属于公安职责"}, _auth(officer))

    assert declined.status_code == 200, declined.content
    appeal.refresh_from_db()
    assert appeal.status == Status.ACCEPTED and appeal.assigned_department == territory.dept
    assert appeal.returned_count == 0
    whistle = AppealWhistle.objects.get(appeal=appeal, department=police)
    assert whistle.reported_at is not None and whistle.reported_by == officer  # answered in time
    event = AppealEvent.objects.filter(appeal=appeal).latest("pk")
    assert event.action == Action.RETURN and event.data["whistle_decline"] is True
    assert event.from_status == event.to_status == Status.ACCEPTED
    assert event.note == "不属于公安职责"
    assert AuditLog.objects.filter(action="appeal.return", target_id=str(appeal.pk)).exists()
    assert Notification.objects.filter(user=personas.worker_a, kind="returned").exists()
    # The department that declined is out: it can neither handle nor decline again.
    refused = _post(client, f"/{appeal.pk}/handle", {"result": "x"}, _auth(officer))
    assert refused.status_code == 403
    assert _post(client, f"/{appeal.pk}/return", {"reason": "x"}, _auth(officer)).status_code == 409
    # The lead goes on as before.
    handled = _post(client, f"/{appeal.pk}/handle", {"result": "已拆除"}, _auth(personas.handler))
    assert handled.status_code == 200, handled.content


def test_a_whistled_department_handles_only_after_reporting(personas, whistled, territory):
    appeal, police, officer = whistled
    s.appeal_whistle(actor=personas.worker_a, appeal=appeal, departments=[territory.dept, police])
    s.appeal_accept(actor=personas.handler, appeal=appeal)

    with pytest.raises(PermissionDenied):
        s.appeal_handle(actor=officer, appeal=appeal, result="已处理")
    assert Appeal.objects.get(pk=appeal.pk).status == Status.ACCEPTED

    s.appeal_accept(actor=officer, appeal=appeal)  # 报到
    assert AppealEvent.objects.filter(appeal=appeal, action=Action.REPORT).count() == 1
    s.appeal_handle(actor=officer, appeal=appeal, result="已配合处理")
    assert Appeal.objects.get(pk=appeal.pk).status == Status.HANDLED


def test_the_lead_department_returning_sends_the_whole_case_back(personas, whistled, territory):
    appeal, police, officer = whistled
    s.appeal_whistle(actor=personas.worker_a, appeal=appeal, departments=[territory.dept, police])
    s.appeal_accept(actor=officer, appeal=appeal)  # the first to report leads
    s.appeal_accept(actor=personas.handler, appeal=appeal)
    appeal.refresh_from_db()
    assert appeal.assigned_department == police

    s.appeal_return(actor=officer, appeal=appeal, reason="应由城管牵头")

    appeal.refresh_from_db()
    assert appeal.status == Status.RETURNED and appeal.returned_count == 1
    assert appeal.assigned_department is None
    assert s.is_handler(officer, appeal) is False


def test_detail_page_offers_a_pending_whistled_department_to_decline(personas, whistled, territory):
    appeal, police, officer = whistled
    s.appeal_whistle(actor=personas.worker_a, appeal=appeal, departments=[territory.dept, police])
    s.appeal_accept(actor=personas.handler, appeal=appeal)
    page = _as(officer).get(reverse("appeals:detail", args=[appeal.pk])).content.decode()
    assert 'id="action-return"' in page and 'id="action-handle"' not in page


# ---------------------------------------------------------------- 2. staff withdrawal


@pytest.fixture
def phoned(personas, cats):
    """A registered case taken at the station, with the reporter's phone."""
    appeal = new_appeal(personas.worker_a, cats.sanitation, reporter_phone="13900002222")
    return s.appeal_register(actor=personas.worker_a, appeal=appeal)


def test_staff_withdrawal_needs_a_reason_and_the_reporter_is_told(client, personas, phoned):
    url = f"/{phoned.pk}/withdraw"
    headers = _auth(personas.grid_worker)

    bare = _post(client, url, {}, headers)

    assert bare.status_code == 400 and bare.json()["error"]["field"] == "note"
    assert Appeal.objects.get(pk=phoned.pk).status == Status.REGISTERED
    done = _post(client, url, {"note": "反映人来电：已自行解决"}, headers)
    assert done.status_code == 200, done.content
    phoned.refresh_from_db()
    assert phoned.status == Status.WITHDRAWN
    event = AppealEvent.objects.filter(appeal=phoned).latest("pk")
    assert event.action == Action.WITHDRAW and event.note == "反映人来电：已自行解决"
    sms = OutboxMessage.objects.get(recipient="13900002222")
    assert "代为撤回" in sms.payload["text"] and phoned.tracking_code in sms.payload["text"]


def test_staff_cannot_withdraw_a_supervised_or_overdue_case(personas, phoned, cats):
    detail = reverse("appeals:detail", args=[phoned.pk])
    assert 'id="action-withdraw"' in _as(personas.worker_a).get(detail).content.decode()
    s.appeal_supervise(actor=personas.street_official, appeal=phoned, note="请尽快办理")
    with pytest.raises(Conflict):
        s.appeal_withdraw(actor=personas.grid_worker, appeal=phoned, reason="已解决")
    assert 'id="action-withdraw"' not in _as(personas.worker_a).get(detail).content.decode()
    late = s.appeal_register(
        actor=personas.worker_a, appeal=new_appeal(personas.worker_a, cats.lift)
    )
    Appeal.objects.filter(pk=late.pk).update(deadline=timezone.now() - dt.timedelta(hours=1))
    with pytest.raises(Conflict):
        s.appeal_withdraw(actor=personas.worker_a, appeal=late, reason="已解决")
    assert Appeal.objects.get(pk=late.pk).status == Status.REGISTERED
    # The reporter may still withdraw with the tracking code, without a reason.
    s.appeal_withdraw(
        actor=None,
        appeal=phoned.pk,
        tracking_code=phoned.tracking_code,
        reporter_phone="13900002222",
    )
    assert Appeal.objects.get(pk=phoned.pk).status == Status.WITHDRAWN


def test_staff_withdraw_form_on_the_detail_page_requires_the_reason(personas, phoned):
    client = _as(personas.worker_a)
    response = client.post(reverse("appeals:act", args=[phoned.pk, "withdraw"]), {})
    assert response.status_code == 400 and "撤回理由" in response.content.decode()
    assert Appeal.objects.get(pk=phoned.pk).status == Status.REGISTERED


# ---------------------------------------------------------------- 3. extensions


def _extension_asked(worker, cats, territory, *, working_days: int) -> Appeal:
    """A case the community worker accepted and asked more working days for."""
    appeal = s.appeal_register(actor=worker, appeal=new_appeal(worker, cats.sanitation))
    s.appeal_dispatch(actor=worker, appeal=appeal, region=territory.comm_a)
    s.appeal_accept(actor=worker, appeal=appeal)
    s.appeal_extend_request(
        actor=worker, appeal=appeal, working_days=working_days, reason="需协调物业"
    )
    return appeal


def test_a_handler_cannot_approve_their_own_extension(personas, cats, territory):
    worker = personas.worker_a
    appeal = _extension_asked(worker, cats, territory, working_days=3)
    deadline = Appeal.objects.get(pk=appeal.pk).deadline

    with pytest.raises(PermissionDenied):
        s.appeal_extend_decide(actor=worker, appeal=appeal, approve=True)

    assert Appeal.objects.get(pk=appeal.pk).deadline == deadline
    assert ExtensionRequest.objects.get(appeal=appeal).approved is None
    page = _as(worker).get(reverse("appeals:detail", args=[appeal.pk])).content.decode()
    assert 'id="action-extend_decide"' not in page
    # The street (supervisor) approves it.
    s.appeal_extend_decide(actor=personas.street_official, appeal=appeal, approve=True)
    assert Appeal.objects.get(pk=appeal.pk).deadline > deadline


def test_days_granted_on_an_overdue_case_count_from_the_decision(personas, cats, territory):
    from gridgov.core import workdays

    appeal = _extension_asked(personas.worker_a, cats, territory, working_days=2)
    past = timezone.now() - dt.timedelta(days=5)
    Appeal.objects.filter(pk=appeal.pk).update(deadline=past, overdue_at=past)
    s.appeal_extend_decide(actor=personas.street_official, appeal=appeal, approve=True)
    row = Appeal.objects.get(pk=appeal.pk)
    assert row.deadline > timezone.now() and row.overdue_at is None
    assert row.deadline == workdays.add_working_days(
        ExtensionRequest.objects.get(appeal=appeal).decided_at, 2
    )


# ---------------------------------------------------------------- 4./5. grid worker reports


def test_grid_worker_reports_across_the_boundary_and_gets_the_tracking_code(
    personas, cats, territory
):
    client = _as(personas.grid_worker)
    response = client.post(
        reverse("appeals:grid_report"),
        {
            "category": cats.sanitation.pk,
            "description": "邻社区路口垃圾堆积",
            "latitude": POINT_B[0],
            "longitude": POINT_B[1],
        },
        follow=True,
    )

    assert response.status_code == 200
    appeal = Appeal.objects.get()
    assert appeal.grid == territory.grid_b and appeal.status == Status.RECEIVED
    page = response.content.decode()
    assert appeal.tracking_code in page and "B社区" in page
    assert response.redirect_chain[-1][0] == reverse("appeals:grid_report")
    # B's community, which registers it, is told.
    assert Notification.objects.filter(user=personas.worker_b, appeal=appeal).exists()


def test_grid_worker_reports_with_an_address_when_the_phone_cannot_locate(
    personas, cats, territory
):
    client = _as(personas.grid_worker)
    response = client.post(
        reverse("appeals:grid_report"),
        {"category": cats.illegal.pk, "description": "违建挡光", "address": "47.49号院3号楼北侧"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    appeal = Appeal.objects.get()
    assert appeal.region == territory.comm_a and appeal.grid is None
    assert appeal.address == "47.49号院3号楼北侧" and appeal.status == Status.REGISTERED
    assert "待社区按地址确定" in client.get(response["Location"]).content.decode()


# ---------------------------------------------------------------- 6. resident point check


def test_resident_form_refuses_a_point_outside_every_grid_without_address(personas, cats):
    client = Client(REMOTE_ADDR="10.77.0.1")
    body = {"category": cats.lift.pk, "description": "电梯停运", "latitude": 10, "longitude": 10}

    response = client.post(reverse("appeals:report"), body)

    page = response.content.decode()
    assert response.status_code == 400 and "不在本区任何网格内" in page
    assert "电梯停运" in page  # the input stays
    assert Appeal.objects.count() == 0
    with_address = client.post(reverse("appeals:report"), {**body, "address": "幸福路1号"})
    assert with_address.status_code == 302
    assert Appeal.objects.get().region.kind == "district"  # for the operator to place


def test_public_api_refuses_a_point_outside_every_grid_naming_latitude(client, cats):
    body = {"category_id": cats.lift.pk, "description": "电梯停运", "latitude": 10, "longitude": 10}
    response = _post(client, "/public/", body, {})
    assert response.status_code == 400 and response.json()["error"]["field"] == "latitude"


# ---------------------------------------------------------------- 7. idempotency keys


def test_a_key_replayed_with_a_different_report_is_refused_naming_the_key(client, cats):
    headers = {"HTTP_IDEMPOTENCY_KEY": "phone-1"}
    body = {
        "category_id": cats.lift.pk,
        "description": "电梯停运",
        "latitude": POINT_A[0],
        "longitude": POINT_A[1],
    }
    first = _post(client, "/public/", body, headers)
    assert first.status_code == 201

    other = _post(client, "/public/", {**body, "description": "路灯不亮"}, headers)

    assert other.status_code == 409
    assert other.json()["error"]["field"] == "idempotency_key"
    assert Appeal.objects.count() == 1
    same = _post(client, "/public/", body, headers)
    assert same.status_code == 200 and same.json()["tracking_code"] == first.json()["tracking_code"]


def test_resident_page_back_and_a_different_report_makes_a_new_case(personas, cats):
    client = Client(REMOTE_ADDR="10.77.0.2")
    body = {
        "category": cats.lift.pk,
        "description": "3号楼电梯停运",
        "latitude": POINT_A[0],
        "longitude": POINT_A[1],
        "idempotency_key": "page-key-1",
    }
    first = client.post(reverse("appeals:report"), body)
    other_body = {**body, "description": "5号楼路灯不亮"}

    second = client.post(reverse("appeals:report"), other_body)

    assert first.status_code == second.status_code == 302
    assert first["Location"] != second["Location"]
    assert sorted(Appeal.objects.values_list("description", flat=True)) == [
        "3号楼电梯停运",
        "5号楼路灯不亮",
    ]
    # Each resent as it was stays one case.
    assert client.post(reverse("appeals:report"), other_body)["Location"] == second["Location"]
    assert client.post(reverse("appeals:report"), body)["Location"] == first["Location"]
    assert Appeal.objects.count() == 2


@pytest.mark.django_db
def test_a_reporter_reopens_a_closed_case_within_30_days_only(personas, territory, cats):
    from gridgov.appeals.tests.helpers import appeal_in, superuser

    root = superuser()
    closed = appeal_in(Status.CLOSED, root, territory, cats.sanitation)
    code = closed.tracking_code
    Appeal.objects.filter(pk=closed.pk).update(closed_at=timezone.now() - dt.timedelta(days=31))
    with pytest.raises(Conflict) as late:
        s.appeal_reopen(actor=None, appeal=closed.pk, reason="又坏了", tracking_code=code)
    assert "30" in str(late.value.message)
    assert Appeal.objects.get(pk=closed.pk).status == Status.CLOSED
    reopen_url = reverse("appeals:track_act", args=[code, "reopen"])
    assert (
        reopen_url not in Client().get(reverse("appeals:track_code", args=[code])).content.decode()
    )
    # Staff may still send it back; a reporter within the 30 days too.
    s.appeal_reopen(actor=personas.worker_a, appeal=closed.pk, reason="居民来电：又坏了")
    recent = appeal_in(Status.CLOSED, root, territory, cats.sanitation)
    Appeal.objects.filter(pk=recent.pk).update(closed_at=timezone.now() - dt.timedelta(days=29))
    s.appeal_reopen(
        actor=None, appeal=recent.pk, reason="又坏了", tracking_code=recent.tracking_code
    )
    assert Appeal.objects.get(pk=recent.pk).status == Status.ACCEPTED
    code = recent.tracking_code
    Appeal.objects.filter(pk=recent.pk).update(status=Status.CLOSED)
    reopen_url = reverse("appeals:track_act", args=[code, "reopen"])
    assert reopen_url in Client().get(reverse("appeals:track_code", args=[code])).content.decode()


@pytest.mark.django_db
def test_the_duplicate_panel_lists_only_cases_the_viewer_may_open(personas, cats, territory):
    from gridgov.appeals.tests.helpers import superuser

    root = superuser()
    ours = new_appeal(root, cats.sanitation, description="小区门口垃圾堆积")
    other = new_appeal(root, cats.sanitation, description="小区门口垃圾堆积没人清")
    Appeal.objects.filter(pk=ours.pk).update(
        assigned_department=territory.dept, assigned_level="department", status=Status.DISPATCHED
    )
    page = _as(personas.handler).get(reverse("appeals:detail", args=[ours.pk]))
    assert page.status_code == 200
    assert other.tracking_code not in page.content.decode()
    shown = _as(personas.worker_a).get(reverse("appeals:detail", args=[ours.pk]))
    assert other.tracking_code in shown.content.decode()  # community A may open both


@pytest.mark.django_db
def test_a_merged_reporter_sees_the_outcome_but_never_the_other_code(personas, cats):
    from gridgov.appeals.tests.helpers import superuser

    root = superuser()
    primary = new_appeal(root, cats.sanitation, description="小区门口垃圾堆积")
    duplicate = new_appeal(root, cats.sanitation, description="门口垃圾没人清")
    s.appeal_merge(actor=root, appeal=primary, duplicates=[duplicate])
    s.appeal_register(actor=root, appeal=primary)
    s.appeal_dispatch(actor=root, appeal=primary, grid=primary.grid)
    s.appeal_accept(actor=root, appeal=primary)
    s.appeal_handle(actor=root, appeal=primary, result="已清运，联系人13912345678")
    page = Client().get(reverse("appeals:track_code", args=[duplicate.tracking_code]))
    html = page.content.decode()
    assert primary.tracking_code not in html
    assert "已清运" in html and "13912345678" not in html
    assert 'id="merged-status"' in html


# ---------------------------------------------------------------- small matters end in the grid


def test_a_grid_worker_takes_a_report_of_their_own_grid_and_handles_it(personas, cats, territory):
    client = _as(personas.grid_worker)
    response = client.post(
        reverse("appeals:grid_report"),
        {
            "category": cats.sanitation.pk,
            "description": "楼道堆放杂物，已当场清理",
            "latitude": POINT_A[0],
            "longitude": POINT_A[1],
            "handle_myself": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    appeal = Appeal.objects.get()
    assert appeal.status == Status.ACCEPTED and appeal.assigned_user == personas.grid_worker
    actions = list(appeal.events.order_by("pk").values_list("action", flat=True))
    assert actions == [Action.INTAKE, Action.REGISTER, Action.DISPATCH, Action.ACCEPT]
    page = client.get(response["Location"]).content.decode()
    assert "处置后请填写结果" in page and 'name="handle-result"' in page
    s.appeal_handle(actor=personas.grid_worker, appeal=appeal, result="已清理")


def test_a_grid_worker_takes_only_cases_of_their_own_grid(personas, cats, territory):
    from gridgov.appeals.tests.helpers import new_appeal as intake

    appeal = s.appeal_register(
        actor=personas.operator, appeal=intake(personas.operator, cats.sanitation)
    )
    # A case of a neighbouring grid in the same community, which another worker looks after.
    other = intake(personas.operator, cats.sanitation)
    s.appeal_register(actor=personas.operator, appeal=other)
    second = Grid.objects.create(
        code="410205001001-02", name="A社区第二网格", level=1, region=territory.comm_a
    )
    Appeal.objects.filter(pk=other.pk).update(grid=second)
    with pytest.raises(PermissionDenied):  # not their grid
        s.appeal_dispatch(actor=personas.grid_worker, appeal=other, grid=second)
    with pytest.raises(PermissionDenied):  # their grid, but only to take it themselves
        s.appeal_dispatch(actor=personas.grid_worker, appeal=appeal, region=territory.comm_a)
    s.appeal_dispatch(actor=personas.grid_worker, appeal=appeal, grid=appeal.grid)
    assert Appeal.objects.get(pk=appeal.pk).assigned_user == personas.grid_worker
