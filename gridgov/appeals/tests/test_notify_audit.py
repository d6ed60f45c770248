"""HTTP audit, notifications: texts are masked when written (inbox, e-mail, SMS), and an
anonymous form cannot make gridgov text one number without end (intake confirmations)."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.appeals import notify
from gridgov.appeals import services as s
from gridgov.appeals.models import (
    Appeal,
    Notification,
    NotificationKind,
    OutboxChannel,
    OutboxMessage,
)
from gridgov.appeals.tests.helpers import new_appeal, spot
from gridgov.core.notice import Notice

TEXT = "身份证410205199001011234的张三打13812345678说楼道灯坏了"
CLEAR = ("410205199001011234", "13812345678")
MASKED = ("4102**********1234", "138****5678")


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Rate-limit counters in a private in-memory cache (never a shared Redis)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "f2n"}
    }


def assert_masked(text: str) -> None:
    for number in CLEAR:
        assert number not in text
    for shown in MASKED:
        assert shown in text


@pytest.mark.django_db
def test_dispatch_notification_and_its_e_mail_hold_the_description_masked(
    personas, cats, territory
):
    personas.grid_worker.email = "grid_a@example.org"
    personas.grid_worker.save(update_fields=["email"])
    appeal = new_appeal(personas.grid_worker, cats.sanitation, description=TEXT)
    s.appeal_register(actor=personas.worker_a, appeal=appeal)
    s.appeal_dispatch(actor=personas.worker_a, appeal=appeal, grid=territory.grid_a)
    rows = list(Notification.objects.filter(appeal=appeal, kind=NotificationKind.DISPATCHED))
    assert rows
    for row in rows:
        assert_masked(row.text)
    mails = list(OutboxMessage.objects.filter(channel=OutboxChannel.EMAIL))
    assert [m.recipient for m in mails] == ["grid_a@example.org"]
    assert_masked(mails[0].payload["text"])
    assert "13812345678" not in mails[0].payload["subject"]
    assert not any(n in json.dumps(mails[0].payload) for n in CLEAR)


@pytest.mark.django_db
def test_sms_and_inbox_texts_are_masked_when_written(personas):
    msg = notify.notify_phone(phone="13900001111", text=Notice(f"您反映的问题已办结：{TEXT}"))
    assert_masked(msg.payload["text"])
    [row] = notify.notify_users(
        users=[personas.worker_a], appeal=None, kind=NotificationKind.OTHER, text=Notice(TEXT)
    )
    row.refresh_from_db()
    assert_masked(row.text)


def public_intake(client: Client, cats, phone: str, n: int):
    point = spot()
    return client.post(
        "/api/v1/appeals/public/",
        {
            "category_id": cats.sanitation.pk,
            "description": f"第{n}处垃圾没人清",
            "latitude": point[0],
            "longitude": point[1],
            "reporter_phone": phone,
        },
        content_type="application/json",
    )


@pytest.mark.django_db
def test_one_number_gets_at_most_three_intake_sms_a_day_the_cases_are_still_taken(
    personas, cats, settings, caplog
):
    settings.GRIDGOV_INTAKE_SMS_PER_PHONE = 3
    client = Client()
    # One number, written four ways: the count is the number's.
    phones = ["13900001111", "139-0000-1111", "+8613900001111", "13900001111"]
    with caplog.at_level(logging.WARNING, logger="gridgov.appeals.notify"):
        answers = [public_intake(client, cats, phone, i) for i, phone in enumerate(phones)]
    assert [a.status_code for a in answers] == [201] * 4
    codes = [a.json()["tracking_code"] for a in answers]
    assert Appeal.objects.filter(tracking_code__in=codes).count() == 4
    sms = OutboxMessage.objects.filter(channel=OutboxChannel.SMS)
    assert sorted(sms.values_list("recipient", flat=True)) == ["13900001111"] * 3
    assert not sms.filter(dedupe_key=f"intake:{codes[3]}").exists()
    assert "not queued" in caplog.text and "13900001111" not in caplog.text
    # Another number is not affected; a day later the number is told again.
    assert public_intake(client, cats, "13700002222", 5).status_code == 201
    assert sms.filter(recipient="13700002222").count() == 1
    OutboxMessage.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))
    later = public_intake(client, cats, "13900001111", 6)
    assert sms.filter(dedupe_key=f"intake:{later.json()['tracking_code']}").exists()


@pytest.mark.django_db
def test_the_daily_share_counts_intake_confirmations_only(personas, settings):
    settings.GRIDGOV_INTAKE_SMS_PER_PHONE = 1
    assert notify.notify_phone(
        phone="13900001111", text=Notice("结果"), dedupe="outcome:1:0:a1:sms"
    )
    assert notify.notify_phone(phone="13900001111", text=Notice("受理"), dedupe="intake:AAAA")
    assert (
        notify.notify_phone(phone="13900001111", text=Notice("受理"), dedupe="intake:BBBB") is None
    )
    # Other messages to the number are never held back.
    assert notify.notify_phone(
        phone="13900001111", text=Notice("结果"), dedupe="outcome:2:0:a2:sms"
    )


@pytest.mark.django_db
def test_rows_written_before_masking_are_masked_where_stored(personas):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("gridgov.appeals.migrations.0010_mask_stored_notifications")
    # As rows were written before notify masked them: raw, straight into the tables.
    row = Notification.objects.create(
        user=personas.worker_a, kind=NotificationKind.OTHER, text=f"新派遣诉求：{TEXT}"
    )
    plain = Notification.objects.create(
        user=personas.worker_a, kind=NotificationKind.OTHER, text="楼道灯坏了"
    )
    msg = OutboxMessage.objects.create(
        channel=OutboxChannel.EMAIL,
        recipient="a@example.com",
        payload={"subject": f"【网格治理】{TEXT}"[:40], "text": TEXT},
        next_attempt_at=timezone.now(),
    )
    migration.mask_stored(apps, None)
    row.refresh_from_db()
    msg.refresh_from_db()
    assert_masked(row.text)
    assert_masked(msg.payload["text"])
    assert not any(n in json.dumps(msg.payload, ensure_ascii=False) for n in CLEAR)
    assert Notification.objects.get(pk=plain.pk).text == "楼道灯坏了"


@pytest.mark.django_db
def test_stored_texts_and_parameters_are_masked_again_in_the_forms_found_since(personas):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("gridgov.appeals.migrations.0011_mask_stored_texts_again")
    grouped = "手机 139 87650701，身份证ID410205198001011234"
    row = Notification.objects.create(
        user=personas.worker_a,
        kind=NotificationKind.OTHER,
        text=f"新派遣诉求：{grouped}",
        message="诉求 %(code)s：%(reason)s",
        params={"code": "ABCDEFGHJK", "reason": grouped, "inner": {"params": {"x": grouped}}},
    )
    msg = OutboxMessage.objects.create(
        channel=OutboxChannel.SMS,
        recipient="13900001111",
        payload={"text": grouped},
        next_attempt_at=timezone.now(),
    )
    migration.mask_stored_again(apps, None)
    row.refresh_from_db()
    msg.refresh_from_db()
    stored = json.dumps([row.text, row.params, msg.payload], ensure_ascii=False)
    assert "87650701" not in stored and "410205198001011234" not in stored
    assert row.params["reason"] == "手机 139****0701，身份证ID4102**********1234"
    assert row.params["inner"]["params"]["x"] == row.params["reason"]
    assert row.params["code"] == "ABCDEFGHJK"


@pytest.mark.django_db
def test_an_e_mail_about_a_text_with_line_breaks_is_delivered(personas, cats, territory):
    from django.core import mail

    personas.grid_worker.email = "grid_a@example.org"
    personas.grid_worker.save(update_fields=["email"])
    appeal = new_appeal(
        personas.grid_worker, cats.sanitation, description="第一行\n第二行\r\n第三行"
    )
    s.appeal_register(actor=personas.worker_a, appeal=appeal)
    mail.outbox.clear()
    s.appeal_dispatch(actor=personas.worker_a, appeal=appeal, grid=territory.grid_a)
    [msg] = OutboxMessage.objects.filter(channel=OutboxChannel.EMAIL)
    notify.deliver(msg.pk)
    msg.refresh_from_db()
    assert msg.sent_at is not None and msg.last_error == ""
    [sent] = mail.outbox
    assert "\n" not in sent.subject and "第一行 第二行" in sent.subject
    # A row stored before the subject was made one line is delivered too.
    old = OutboxMessage.objects.create(
        channel=OutboxChannel.EMAIL,
        recipient="a@example.com",
        payload={"subject": "【网格治理】新派遣诉求：第一行\n第二行", "text": "第一行\n第二行"},
        next_attempt_at=timezone.now(),
    )
    assert notify.deliver(old.pk)
    assert mail.outbox[-1].subject == "【网格治理】新派遣诉求：第一行 第二行"
