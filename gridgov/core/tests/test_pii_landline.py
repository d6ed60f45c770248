"""Landline numbers typed into free text are masked like mobile numbers: the area code and the
last four digits are kept (0371-****6789), whichever of the usual forms they were written in;
numbers that only look like one (dates, times, amounts, house numbers, postal and tracking
codes, a local number with neither its area code nor a phone label) are left alone."""

from __future__ import annotations

import pytest

from gridgov.core.pii import mask_text

LANDLINE = "，座机0371-23456789"
LANDLINE_MASKED = "，座机0371-****6789"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("电话0371-23456789", "电话0371-****6789"),
        ("电话0371 2345678", "电话0371-***5678"),
        ("电话(0371)23456789", "电话0371-****6789"),
        ("电话（0371）23456789", "电话0371-****6789"),
        ("电话(0371) 2345-6789", "电话0371-****6789"),
        ("电话037123456789", "电话0371-****6789"),
        ("电话0378-2345678。", "电话0378-***5678。"),
        ("许昌0374-2345678", "许昌0374-***5678"),
        ("电话0371 2345 6789 找王师傅", "电话0371-****6789 找王师傅"),
        ("北京010-62345678", "北京010-****5678"),
        ("上海02123456789", "上海021-****6789"),
        # an extension stays as written: it is nothing without the number
        ("单位0371-23456789-123", "单位0371-****6789-123"),
        ("单位0371-23456789转123", "单位0371-****6789转123"),
        # full-width digits, hyphen and brackets from a Chinese input method
        ("电话０３７１－２３４５６７８９", "电话0371-****6789"),
        ("电话（０３７１）２３４５６７８", "电话0371-***5678"),
        # a landline and a mobile in one text
        ("座机0371-23456789，手机13812345678", "座机0371-****6789，手机138****5678"),
        # other ways people write them
        ("楼下（0371）-23456789 噪音", "楼下0371-****6789 噪音"),
        ("电话0371 - 23456789", "电话0371-****6789"),
        ("电话0371—23456789", "电话0371-****6789"),
        ("回电 0374 678 9012", "回电 0374-***9012"),
        ("电话0371.23456789", "电话0371-****6789"),
        ("电话+86 371 2345 6789", "电话+86 371-****6789"),
        ("电话+86-371-23456789", "电话+86-371-****6789"),
        ("电话0086-371-23456789", "电话0086-371-****6789"),
    ],
)
def test_mask_text_masks_landline_keeping_area_code_and_last_four_digits(text, shown):
    assert mask_text(text) == shown


def test_mask_text_masks_mobile_dialled_with_trunk_zero():
    assert mask_text("手机013812345678") == "手机0138****5678"


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-24 起漏水，20261124 再次报修",
        "每天08:30-17:30，周末0830-1130",
        "物业费12345.67元",
        "12号楼3单元502室",
        "邮编475000，呼市邮编010020",
        "2019-2026年",
        "坐标 34.755, 114.03712345678",
        "订单号012345678901",
        "编号23456789",  # a local number without its area code nor a phone label
        "查询码2345678923",  # a tracking code of digits only (the alphabet has no 0)
        "0371-1234567",  # a local number never starts with 0 or 1
        "020-2345678",  # 010 and 02x have 8-digit local numbers
        "身份证4102**********1234",
        "顺丰单号SF037123456789",  # right after a letter: an order or waybill number
    ],
)
def test_mask_text_leaves_what_only_looks_like_a_landline_alone(text):
    # The landline after it shows the text was scanned (and fails without landline masking).
    assert mask_text(text + LANDLINE) == text + LANDLINE_MASKED


def test_mask_text_leaves_tracking_codes_alone():
    from gridgov.appeals.models import new_tracking_code

    codes = " ".join(new_tracking_code() for _ in range(200))
    assert mask_text(codes + LANDLINE) == codes + LANDLINE_MASKED


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("居民电话23456789，请联系", "居民电话****6789，请联系"),
        ("座机为 2345-6789", "座机为 ****6789"),
        ("固话：234 5678", "固话：***5678"),
        ("联系方式２３４５６７８９", "联系方式****6789"),
        ("Tel 2345 6789 转 12", "Tel ****6789 转 12"),
        ("电话号码是 2345678", "电话号码是 ***5678"),
    ],
)
def test_a_local_number_after_a_phone_label_is_masked(text, shown):
    assert mask_text(text) == shown


@pytest.mark.parametrize(
    "text",
    ["电话费23456789元", "订单号 23456789", "电话：2345678901", "电话：12345678"],
)
def test_a_label_does_not_make_other_numbers_a_phone(text):
    assert mask_text(text) == text
