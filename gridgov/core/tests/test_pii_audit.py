"""Free text is masked in the forms residents write numbers in (HTTP audit): separators,
+86, full-width digits, 15-digit and grouped ID numbers, e-mail addresses; ordinary numbers
are left alone."""

from __future__ import annotations

import pytest

from gridgov.core.pii import mask_text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("电话138-1234-5678", "电话138****5678"),
        ("电话138 1234 5678", "电话138****5678"),
        ("电话+8613812345678", "电话+86138****5678"),
        ("电话8613812345678", "电话86138****5678"),
        ("电话+86 138 1234 5678。", "电话+86 138****5678。"),
        ("电话0086-138-1234-5678", "电话0086-138****5678"),
        ("电话１３８１２３４５６７８谢谢", "电话138****5678谢谢"),
        ("电话１３８－１２３４－５６７８", "电话138****5678"),
        ("电话13812345678 2号楼", "电话138****5678 2号楼"),
        ("身份证4102 0519 9001 0112 34的张三", "身份证4102**********1234的张三"),
        ("身份证 410205 19900101 123X", "身份证 4102**********123X"),
        ("身份证4102-0519-9001-0112-34", "身份证4102**********1234"),
        ("老身份证410205900101123", "老身份证4102*******1123"),
        ("身份证４１０２０５１９９００１０１１２３４", "身份证4102**********1234"),
        (
            "身份证410205199001011234的张三打13812345678",
            "身份证4102**********1234的张三打138****5678",
        ),
        # more ways found in the wild (an audit's list)
        ("手机 139 87650701", "手机 139****0701"),  # 3-8
        ("备用1398765 0702", "备用139****0702"),  # 7-4
        ("电话1398 765 0601", "电话139****0601"),  # 4-3-4
        ("电话139.8765.0601", "电话139****0601"),
        ("电话(139)87650601", "电话139****0601"),
        ("电话（139）8765-0601", "电话139****0601"),
        ("电话1 3 9 8 7 6 5 0 6 0 1", "电话139****0601"),  # read out digit by digit
        ("电话１３９ ８７６５０６０１", "电话139****0601"),
        ("身份证ID410205198001011234，", "身份证ID4102**********1234，"),
        ("身份证号:410205 198001011234", "身份证号:4102**********1234"),
        ("身份证41020519800101 1234", "身份证4102**********1234"),
    ],
)
def test_mask_text_masks_phone_and_id_numbers_in_common_forms(text, shown):
    assert mask_text(text) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("电子邮箱: wangming@example.com", "电子邮箱: w***@example.com"),
        ("邮箱Zhang.San@mail.example.gov.cn，谢谢", "邮箱Z***@mail.example.gov.cn，谢谢"),
    ],
)
def test_mask_text_masks_e_mail_keeping_first_character_and_domain(text, shown):
    assert mask_text(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "47.49号院1号楼2单元501室",
        "2024-01-01 起漏水，2024年10月1日14:30再次报修",
        "物业费 12345.67 元，押金 3000 元",
        "验证码 123456，邮编 450000",
        "编号138123456789不是手机",  # 12 digits
        "订单号123456789012345",  # 15 digits, no date in it
        "路灯不亮 b1-23-1700000000-123456789",
        "3号楼 1301 1302 1303 1304 室都停水",
        "门牌 100 200 300 400 500 600",
        "坐标 34.755, 114.355",
        "@物业 请处理",
        "1301 1302 130室",  # room numbers, not 130 1130 2130
        "单号SF123456789012345678",  # 18 digits after letters, no birth date in place
        "2026.11.24 13.30",
    ],
)
def test_mask_text_leaves_ordinary_numbers_alone(text):
    assert mask_text(text) == text
