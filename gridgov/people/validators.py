"""Checks for personal identifiers: the GB 11643 citizen ID number and phone numbers."""

from __future__ import annotations

import datetime as dt
import re

from django.utils.translation import gettext as _

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def id_number_error(value: str) -> str | None:
    """None when ``value`` is a valid 18-character ID number, else a Chinese message."""
    value = value.strip().upper()
    if (
        len(value) != 18
        or not value[:17].isdigit()
        or not (value[17].isdigit() or value[17] == "X")
    ):
        return _("身份证号应为18位（最后一位可为X）")
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return _("身份证号中的出生日期无效")
    if born.year < 1900 or born > dt.date.today():
        return _("身份证号中的出生日期无效")
    if id_check_digit(value[:17]) != value[17]:
        return _("身份证号校验位不正确")
    return None


def birth_date_from_id(value: str) -> dt.date | None:
    try:
        return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except (ValueError, IndexError):
        return None


def gender_from_id(value: str) -> str:
    """GB 11643: the 17th digit is odd for men, even for women."""
    if len(value) < 17 or not value[16].isdigit():
        return ""
    return "male" if int(value[16]) % 2 else "female"


def phone_error(value: str) -> str | None:
    """None for a mainland mobile (11 digits) or a landline with area code, else a message."""
    value = value.strip().replace(" ", "")
    if _MOBILE.match(value) or _LANDLINE.match(value):
        return None
    return _("联系电话应为11位手机号或带区号的固定电话")


EARLIEST_DATE = dt.date(1900, 1, 1)


def past_date_error(value: dt.date, label: str) -> str | None:
    """A date that has happened (a shop opened or closed): not after today, not before
    1900 (a year typed wrong). The message names ``label``; None when it is fine."""
    from django.utils import timezone

    if value > timezone.localdate():
        return _("%(label)s不能晚于今天") % {"label": label}
    if value < EARLIEST_DATE:
        return _("%(label)s不能早于 1900 年") % {"label": label}
    return None
