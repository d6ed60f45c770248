"""Acting as the reporter with the tracking code: the code alone is read by the staff who
handle the case, so where a phone number is on file it must come with the code."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from gridgov.appeals import services as s
from gridgov.appeals.models import Appeal, Channel, Rating, Status
from gridgov.appeals.tests.helpers import new_appeal, spot
from gridgov.core.errors import ValidationFailed

PHONE = "13700007777"


def handled(personas, territory, category, **intake) -> Appeal:
    """A case handled by the grid worker, who was told its tracking code."""
    appeal = new_appeal(personas.worker_a, category, point=spot(), **intake)
    s.appeal_register(actor=personas.worker_a, appeal=appeal)
    s.appeal_dispatch(actor=personas.worker_a, appeal=appeal, grid=territory.grid_a)
    s.appeal_accept(actor=personas.grid_worker, appeal=appeal)
    return s.appeal_handle(actor=personas.grid_worker, appeal=appeal, result="已修复")


def rate(appeal: Appeal, **proof):
    return s.appeal_verify(
        actor=None, appeal=appeal.pk, rating=Rating.SATISFIED, resolved=True, **proof
    )


@pytest.mark.django_db
def test_the_code_alone_cannot_rate_a_case_with_a_phone_on_file(personas, territory, cats):
    appeal = handled(personas, territory, cats.sanitation, reporter_phone=PHONE)
    code = appeal.tracking_code
    for phone in (None, "", "13700007778", "0371-23456789"):
        with pytest.raises(ValidationFailed) as refused:
            rate(appeal, tracking_code=code, reporter_phone=phone)
        assert refused.value.field == "reporter_phone"
        assert Appeal.objects.get(pk=appeal.pk).status == Status.HANDLED
    # The reporter's number however they write it.
    rate(appeal, tracking_code=code, reporter_phone="+86 137 0000 7777")
    assert Appeal.objects.get(pk=appeal.pk).rating == Rating.SATISFIED


@pytest.mark.django_db
def test_withdraw_and_reopen_by_code_ask_for_the_phone_too(personas, territory, cats):
    open_case = new_appeal(personas.worker_a, cats.lift, point=spot(), reporter_phone=PHONE)
    with pytest.raises(ValidationFailed) as refused:
        s.appeal_withdraw(actor=None, appeal=open_case.pk, tracking_code=open_case.tracking_code)
    assert refused.value.field == "reporter_phone"
    closed = handled(personas, territory, cats.sanitation, reporter_phone=PHONE)
    proof = {"tracking_code": closed.tracking_code, "reporter_phone": PHONE}
    rate(closed, **proof)
    s.appeal_close(actor=personas.worker_a, appeal=closed)
    with pytest.raises(ValidationFailed):
        s.appeal_reopen(
            actor=None, appeal=closed.pk, reason="又坏了", tracking_code=proof["tracking_code"]
        )
    s.appeal_reopen(actor=None, appeal=closed.pk, reason="又坏了", **proof)
    assert Appeal.objects.get(pk=closed.pk).reopened_count == 1


@pytest.mark.django_db
def test_without_a_phone_on_file_the_code_is_enough(personas, territory, cats):
    appeal = handled(personas, territory, cats.sanitation)
    rate(appeal, tracking_code=appeal.tracking_code)
    assert Appeal.objects.get(pk=appeal.pk).status == Status.VERIFIED


@pytest.mark.django_db
def test_the_reporters_own_account_needs_no_phone(personas, territory, cats):
    appeal = new_appeal(
        personas.resident,
        cats.sanitation,
        point=spot(),
        channel=Channel.SELF_SERVICE,
        reporter_phone=PHONE,
    )
    assert appeal.reporter_user == personas.resident
    s.appeal_register(actor=personas.worker_a, appeal=appeal)
    s.appeal_dispatch(actor=personas.worker_a, appeal=appeal, grid=territory.grid_a)
    s.appeal_accept(actor=personas.grid_worker, appeal=appeal)
    s.appeal_handle(actor=personas.grid_worker, appeal=appeal, result="已修复")
    client = Client()
    client.force_login(personas.resident)
    page = client.get(reverse("appeals:track_code", args=[appeal.tracking_code])).content
    assert b'name="reporter_phone"' not in page
    s.appeal_verify(actor=personas.resident, appeal=appeal.pk, rating=Rating.BASIC, resolved=True)
    assert Appeal.objects.get(pk=appeal.pk).rating == Rating.BASIC


@pytest.mark.django_db
def test_the_track_page_asks_for_the_phone_only_where_one_is_on_file(personas, territory, cats):
    with_phone = handled(personas, territory, cats.sanitation, reporter_phone=PHONE)
    without = handled(personas, territory, cats.lift)
    page = Client().get(reverse("appeals:track_code", args=[with_phone.tracking_code]))
    html = page.content.decode()
    assert html.count('name="reporter_phone"') == 1  # the rating form (withdraw is past)
    assert PHONE not in html and PHONE[-4:] not in html  # the page does not give it away
    other = Client().get(reverse("appeals:track_code", args=[without.tracking_code]))
    assert b'name="reporter_phone"' not in other.content


@pytest.mark.django_db
def test_a_signed_out_handler_with_the_code_cannot_rate_their_own_case(personas, territory, cats):
    appeal = handled(personas, territory, cats.sanitation, reporter_phone=PHONE)
    # The grid worker's inbox told them the code; signed out, the page asks for the number.
    response = Client().post(
        reverse("appeals:track_act", args=[appeal.tracking_code, "rate"]),
        {"rating": Rating.SATISFIED, "resolved": "1"},
    )
    assert response.status_code == 400 and "联系电话" in response.content.decode()
    assert Appeal.objects.get(pk=appeal.pk).status == Status.HANDLED


@pytest.mark.django_db
def test_signed_in_staff_never_act_as_the_reporter_by_code_and_number(personas, territory, cats):
    # The handler, signed in, is refused alike whatever number they type: no guess tells.
    appeal = handled(personas, territory, cats.sanitation, reporter_phone=PHONE)
    handler = Client()
    handler.force_login(personas.grid_worker)
    url = reverse("appeals:track_act", args=[appeal.tracking_code, "rate"])
    answers = {
        handler.post(
            url, {"rating": Rating.SATISFIED, "resolved": "1", "reporter_phone": p}
        ).status_code
        for p in ("13700000000", PHONE)
    }
    assert answers == {403}
    assert Appeal.objects.get(pk=appeal.pk).status == Status.HANDLED


@pytest.mark.django_db
def test_the_operator_cannot_withdraw_an_overdue_case_as_its_reporter(personas, territory, cats):
    # Staff may not withdraw an overdue or supervised case; the code and the number they
    # typed at intake do not turn them into the reporter.
    appeal = new_appeal(
        personas.operator, cats.lift, point=spot(), channel=Channel.HOTLINE, reporter_phone=PHONE
    )
    s.appeal_register(actor=personas.operator, appeal=appeal)
    s.appeal_supervise(actor=personas.operator, appeal=appeal, note="请尽快")
    operator = Client()
    operator.force_login(personas.operator)
    response = operator.post(
        reverse("appeals:track_act", args=[appeal.tracking_code, "withdraw"]),
        {"note": "", "reporter_phone": PHONE},
    )
    assert response.status_code == 409
    assert Appeal.objects.get(pk=appeal.pk).status == Status.REGISTERED
    # Signed out, with the number, the reporter may.
    s.appeal_withdraw(
        actor=None, appeal=appeal.pk, tracking_code=appeal.tracking_code, reporter_phone=PHONE
    )
    assert Appeal.objects.get(pk=appeal.pk).status == Status.WITHDRAWN


@pytest.mark.django_db
def test_a_wrong_number_is_told_apart_from_a_missing_one(personas, territory, cats):
    appeal = handled(personas, territory, cats.sanitation, reporter_phone=PHONE)
    for phone, words in ((None, "请填写"), ("13700000000", "不一致")):
        with pytest.raises(ValidationFailed) as refused:
            rate(appeal, tracking_code=appeal.tracking_code, reporter_phone=phone)
        assert words in str(refused.value.message)


@pytest.mark.django_db
def test_an_api_client_relays_the_residents_rating_with_code_and_number(personas, territory, cats):
    from gridgov.accounts.models import Role
    from gridgov.conftest import make_user

    appeal = handled(personas, territory, cats.sanitation, reporter_phone=PHONE)
    relay = make_user("wechat_app", Role.API_CLIENT, territory.district)
    with pytest.raises(ValidationFailed):
        s.appeal_verify(
            actor=relay,
            appeal=appeal.pk,
            rating=Rating.SATISFIED,
            resolved=True,
            tracking_code=appeal.tracking_code,
        )
    s.appeal_verify(
        actor=relay,
        appeal=appeal.pk,
        rating=Rating.SATISFIED,
        resolved=True,
        tracking_code=appeal.tracking_code,
        reporter_phone=PHONE,
    )
    assert Appeal.objects.get(pk=appeal.pk).rating == Rating.SATISFIED
