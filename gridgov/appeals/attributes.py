"""A category's extra fields (附加属性): the attributes an Open311 client may send with a
request, as the district configures them in the back office.

``Category.extra_fields`` is a list of definitions, each
``{code, datatype, required, description, order, values: [{key, name}]}``.
``clean_extra_fields`` checks a whole list when a category is saved and says what is wrong
with which definition; ``well_formed`` is what the readers (Open311, the JSON API) use, so a
definition stored before these checks existed is left out rather than breaking the
district's service list.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LIST_DATATYPES = ("singlevaluelist", "multivaluelist")
DATATYPE_DESCRIPTIONS = {
    "string": gettext_lazy("单行文本"),
    "number": gettext_lazy("数字"),
    "datetime": gettext_lazy("日期时间(ISO 8601, 含时区)"),
    "text": gettext_lazy("多行文本"),
    "singlevaluelist": gettext_lazy("从列表中选择一项"),
    "multivaluelist": gettext_lazy("从列表中选择一项或多项"),
}
KEYS = ("code", "datatype", "required", "description", "order", "values")
MAX_FIELDS = 30
MAX_VALUES = 100
MAX_CODE = 64
MAX_DESCRIPTION = 255
MAX_ORDER = 9999
# A plain code: an attribute's is sent as ``attribute[<code>]`` in a form body, a
# category's is an Open311 path segment and list item: no brackets, slashes, spaces or commas.
PLAIN_CODE = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
CODE = re.compile(PLAIN_CODE)


def _problem(item: Any) -> str | None:
    """What is wrong with one definition, or None."""
    if not isinstance(item, dict):
        return _("每一项须为一个对象（{…}）")
    unknown = sorted(str(k) for k in item if k not in KEYS)
    if unknown:
        return _("不认识的键 %(keys)s（可用的键：%(known)s）") % {
            "keys": ", ".join(unknown),
            "known": ", ".join(KEYS),
        }
    code = item.get("code")
    if not isinstance(code, str) or not CODE.fullmatch(code) or len(code) > MAX_CODE:
        return _("code 须为 1–%(n)s 个字母、数字、点、下划线或连字符，以字母或数字开头") % {
            "n": MAX_CODE
        }
    datatype = item.get("datatype")
    if datatype not in DATATYPES:
        return _("datatype 须为 %(choices)s 之一") % {"choices": ", ".join(DATATYPES)}
    if not isinstance(item.get("required", False), bool):
        return _("required 须为 true 或 false")
    description = item.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        return _("description 须为不超过 %(n)s 字的文本") % {"n": MAX_DESCRIPTION}
    order = item.get("order", 0)
    if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= MAX_ORDER:
        return _("order 须为 0–%(n)s 的整数") % {"n": MAX_ORDER}
    values = item.get("values", [])
    if not isinstance(values, list):
        return _("values 须为列表")
    if datatype not in LIST_DATATYPES:
        if values:
            return _("只有列表类型（%(choices)s）才有 values") % {
                "choices": ", ".join(LIST_DATATYPES)
            }
        return None
    if not values:
        return _("列表类型须在 values 中列出可选的值")
    if len(values) > MAX_VALUES:
        return _("values 不能超过 %(n)s 项") % {"n": MAX_VALUES}
    keys = set()
    for value in values:
        if not isinstance(value, dict) or set(value) - {"key", "name"}:
            return _('values 的每一项须为 {"key": …, "name": …}')
        key, name = value.get("key"), value.get("name", "")
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_CODE:
            return _("values 的 key 须为不超过 %(n)s 字的文本") % {"n": MAX_CODE}
        if not isinstance(name, str) or len(name) > MAX_DESCRIPTION:
            return _("values 的 name 须为不超过 %(n)s 字的文本") % {"n": MAX_DESCRIPTION}
        if key in keys:
            return _("values 中的 key「%(key)s」重复") % {"key": key}
        keys.add(key)
    return None


def clean_extra_fields(value: Any) -> list[dict[str, Any]]:
    """``value`` checked as a whole: an empty entry becomes ``[]``; otherwise a list of at
    most MAX_FIELDS well-formed definitions with distinct codes. Raises ValidationError
    naming the definition (its position and code) and what is wrong with it."""
    if value in (None, "", {}):
        return []
    if not isinstance(value, list):
        raise ValidationError(_("附加属性须为列表（[…]），每项定义一个属性"))
    if len(value) > MAX_FIELDS:
        raise ValidationError(_("附加属性不能超过 %(n)s 项") % {"n": MAX_FIELDS})
    codes: set[str] = set()
    for index, item in enumerate(value, start=1):
        problem = _problem(item)
        if problem is None and item["code"] in codes:
            problem = _("code 与前面的一项重复")
        if problem is not None:
            code = item.get("code") if isinstance(item, dict) else None
            where = (
                _("第 %(n)s 项（%(code)s）") % {"n": index, "code": code}
                if isinstance(code, str) and code
                else _("第 %(n)s 项") % {"n": index}
            )
            raise ValidationError(
                _("%(where)s：%(problem)s") % {"where": where, "problem": problem}
            )
        codes.add(item["code"])
    return value


def well_formed(value: Any) -> list[dict[str, Any]]:
    """The well-formed definitions of ``value`` (the first of each code), in their order."""
    if not isinstance(value, list):
        return []
    found: dict[str, dict[str, Any]] = {}
    for item in value:
        if _problem(item) is None and item["code"] not in found:
            found[item["code"]] = item
    return sorted(found.values(), key=lambda f: (f.get("order", 0), f["code"]))
