"""Notifications are shown in each reader's language; e-mail and SMS in the system's."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext_noop

from gridgov.appeals import notify
from gridgov.appeals import services as s
from gridgov.appeals.models import Notification, NotificationKind, OutboxMessage
from gridgov.appeals.tests.helpers import new_appeal, spot
from gridgov.core.notice import Notice

OUTCOME = gettext_noop("您反映的问题已办结：%(result)s")
WITH_CODE = gettext_noop("%(text)s（查询码 %(tracking_code)s）")


def reader(user, language: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def dispatched(personas, cats, territory):
    appeal = new_appeal(personas.worker_a, cats.utilities, point=spot())
    s.appeal_register(actor=personas.worker_a, appeal=appeal)
    s.appeal_dispatch(actor=personas.worker_a, appeal=appeal, grid=territory.grid_a)
    return appeal


@pytest.mark.django_db
def test_the_inbox_shows_a_dispatch_in_the_readers_language(personas, cats, territory):
    appeal = dispatched(personas, cats, territory)
    [row] = Notification.objects.filter(user=personas.grid_worker)
    assert row.text.startswith("新派遣诉求")  # the stored rendering: the system's language

    english = reader(personas.grid_worker, "en").get("/appeals/inbox/").content.decode()
    assert f"New case dispatched, {appeal.tracking_code}: " in english
    assert "新派遣诉求" not in english
    chinese = reader(personas.grid_worker).get("/appeals/inbox/").content.decode()
    assert f"新派遣诉求 {appeal.tracking_code}" in chinese

    api = reader(personas.grid_worker).get("/api/v1/appeals/inbox", HTTP_ACCEPT_LANGUAGE="en")
    [item] = api.json()["items"]
    assert item["text"].startswith(f"New case dispatched, {appeal.tracking_code}: ")


@pytest.mark.django_db
def test_an_english_speakers_action_writes_email_and_sms_in_the_system_language(personas):
    with translation.override("en"):
        notify.notify_users(
            users=[personas.worker_a],
            appeal=None,
            kind=NotificationKind.OTHER,
            text=Notice(OUTCOME, {"result": "已修复"}),
        )
        notify.notify_phone(phone="13900001111", text=Notice(OUTCOME, {"result": "已修复"}))
    texts = [m.payload["text"] for m in OutboxMessage.objects.order_by("pk")]
    assert texts and all(t == "您反映的问题已办结：已修复" for t in texts)


@pytest.mark.django_db
def test_a_nested_notice_is_stored_masked_and_shown_whole_in_english(personas):
    inner = Notice(OUTCOME, {"result": "已修复，回电13812345678"})
    [row] = notify.notify_users(
        users=[personas.resident],
        appeal=None,
        kind=NotificationKind.OUTCOME,
        text=Notice(WITH_CODE, {"text": inner, "tracking_code": "AB12CD34"}),
    )
    row.refresh_from_db()
    assert "13812345678" not in json.dumps(row.params, ensure_ascii=False)
    assert row.params["text"]["message"] == OUTCOME
    with translation.override("en"):
        shown = row.shown_text
    assert shown.startswith("Your report has been resolved: ")
    assert "(tracking code AB12CD34)" in shown and "138****5678" in shown
    with translation.override("zh-hans"):
        assert row.shown_text == "您反映的问题已办结：已修复，回电138****5678（查询码 AB12CD34）"


@pytest.mark.django_db
def test_an_older_row_without_its_message_shows_its_text_masked(personas):
    row = Notification.objects.create(
        user=personas.worker_a, kind=NotificationKind.OTHER, text="请回电13812345678"
    )
    with translation.override("en"):
        assert row.shown_text == "请回电138****5678"


@pytest.mark.django_db
def test_a_message_that_no_longer_fits_its_parameters_shows_the_text(personas):
    row = Notification.objects.create(
        user=personas.worker_a,
        kind=NotificationKind.OTHER,
        text="诉求 X 已超期，请督办",
        message="诉求 %(tracking_code)s 已超期，请督办",
        params={"code": "X"},  # a parameter renamed since
    )
    assert row.shown_text == "诉求 X 已超期，请督办"
