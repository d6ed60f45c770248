"""Open311 POST → one appeal through the appeals intake service.

Checks the request against GeoReport v2 and the category's attribute definitions, places
it by lat/long, and hands over to ``appeal_intake`` with channel "api".

Placement rule: a point must lie inside a grid of the caller's jurisdiction; otherwise
400 naming lat/long. A point in a grid of the district outside the key's region is
refused whatever else is given (the appeal would go to that grid, out of the key's
sight). Exception: when ``address_string`` is given, a point outside every grid of the
district (or no point at all) is accepted and the appeal is placed at the caller's scope
region (the key's region, else the district), without a grid, for the command centre to
place by hand.
"""

from __future__ import annotations

import math
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from gridgov.appeals.attributes import well_formed
from gridgov.appeals.models import Appeal, Category, Channel
from gridgov.core.errors import ValidationFailed
from gridgov.open311 import selectors
from gridgov.open311.models import ApiKey
from gridgov.territory.geo import GRID_FIELDS, get_index, grid_id_for_point
from gridgov.territory.models import Grid, Region

MAX_ATTRIBUTE_TEXT = 4000
MAX_ATTRIBUTE_STRING = 255
# As the JSON API: longer keys are refused, never cut (two cut keys would be one request).


def check_attributes(category: Category, attributes: dict[str, list[str]]) -> list[str]:
    """Validate attributes against the service definition; returns readable lines
    ("名称: 值") to keep with the appeal. Errors: ValidationFailed naming attribute[code]."""
    from gridgov.appeals.services import _no_nul

    fields = {str(f["code"]): f for f in well_formed(category.extra_fields)}
    for code in attributes:
        if code not in fields:
            raise ValidationFailed(
                _("%(name)s 不是该服务的属性") % {"name": f"attribute[{code}]"},
                field=f"attribute[{code}]",
            )
    lines = []
    for code, field in fields.items():
        name = f"attribute[{code}]"
        values = [v.strip() for v in attributes.get(code, []) if v.strip()]
        if not values:
            if field.get("required"):
                raise ValidationFailed(_("%(name)s 为必填项") % {"name": name}, field=name)
            continue
        datatype = field["datatype"]
        if datatype != "multivaluelist" and len(values) > 1:
            raise ValidationFailed(_("%(name)s 只能有一个值") % {"name": name}, field=name)
        for v in values:
            _no_nul(v, name)
        value = values[0]
        if datatype == "number":
            try:
                finite = math.isfinite(float(value))
            except ValueError:
                finite = False
            if not finite:
                raise ValidationFailed(_("%(name)s 须为数字") % {"name": name}, field=name)
        elif datatype == "datetime":
            try:
                ok = parse_datetime(value.replace(" ", "+")) is not None
            except ValueError:
                ok = False
            if not ok:
                raise ValidationFailed(
                    _("%(name)s 不是有效的日期时间") % {"name": name}, field=name
                )
        elif datatype == "string" and len(value) > MAX_ATTRIBUTE_STRING:
            raise ValidationFailed(
                _("%(name)s 不能超过 %(n)s 个字符") % {"name": name, "n": MAX_ATTRIBUTE_STRING},
                field=name,
            )
        elif datatype == "text" and len(value) > MAX_ATTRIBUTE_TEXT:
            raise ValidationFailed(
                _("%(name)s 不能超过 %(n)s 个字符") % {"name": name, "n": MAX_ATTRIBUTE_TEXT},
                field=name,
            )
        elif datatype in ("singlevaluelist", "multivaluelist"):
            names = {
                str(v.get("key")): str(v.get("name", v.get("key")))
                for v in field.get("values") or []
                if isinstance(v, dict)
            }
            bad = [v for v in values if v not in names]
            if bad:
                raise ValidationFailed(
                    _("%(name)s 的取值不在列表中: %(values)s")
                    % {"name": name, "values": ", ".join(bad)},
                    field=name,
                )
            value = "、".join(names[v] for v in values)
        label = str(field.get("description") or code)
        lines.append(f"{label}: {value}")
    return lines


def _grid_path(grid_id: int, district_id: int) -> str | None:
    """A grid's region path if it lies in the district, from the grid index (no query)."""
    entry = get_index().info.get(grid_id)
    if entry is None:  # an index built without the grid columns
        return (
            Grid.objects.filter(pk=grid_id, district_id=district_id)
            .values_list("region_path", flat=True)
            .first()
        )
    grid = dict(zip(GRID_FIELDS, entry[0], strict=True))
    return grid["region_path"] if grid["district_id"] == district_id else None


def _place(
    *,
    key: ApiKey | None,
    district: Region,
    latitude: float | None,
    longitude: float | None,
    address: str,
) -> Region | None:
    """The region to pass to intake when the point does not decide it (None = by grid).

    Intake files a point that lies in a grid under that grid whatever region it is given,
    so a point in a grid outside the key's scope is refused here, with or without an
    address."""
    scope_region = key.user.scope_region if key is not None else district
    scope_path = scope_region.path if scope_region is not None else district.path
    if latitude is not None and longitude is not None:
        grid_id = grid_id_for_point(latitude=latitude, longitude=longitude)
        grid_path = _grid_path(grid_id, district.pk) if grid_id is not None else None
        if grid_path is not None:
            if grid_path.startswith(scope_path):
                return None
            raise ValidationFailed(_("lat/long 所在网格不在该 API 密钥的授权范围内"), field="lat")
        if not address:
            raise ValidationFailed(_("lat/long 不在您管辖范围内的任何网格中"), field="lat")
    elif not address:
        raise ValidationFailed(_("须提供位置: lat 和 long, 或 address_string"), field="lat")
    return scope_region or district


def open311_intake(
    *,
    actor: Any,
    key: ApiKey | None,
    district_code: str,
    service_code: str,
    latitude: float | None,
    longitude: float | None,
    address: str,
    address_id: str,
    description: str,
    attributes: dict[str, list[str]],
    first_name: str,
    last_name: str,
    phone: str,
    email: str,
    media_url: str,
    photo: Any,
    client_key: str | None,
) -> Appeal:
    """Validate one Open311 POST and register it as an appeal (channel "api").

    Errors: ValidationFailed naming the parameter (service_code, lat/long, attribute[…],
    description, phone, email, media_url); whatever ``appeal_intake``
    raises.

    ``email`` is checked but not kept: the appeal's text is published (the Open311 list), and
    gridgov reaches reporters by phone.
    """
    from gridgov.appeals.services import _no_nul, appeal_intake, is_blank

    _no_nul(email, "email")
    _no_nul(media_url, "media_url")
    if not service_code:
        raise ValidationFailed(_("service_code 为必填项"), field="service_code")
    category = selectors.service_get(district_code=district_code, code=service_code)
    if category is None:
        raise ValidationFailed(
            _("service_code 不存在: %(value)s") % {"value": service_code}, field="service_code"
        )
    district = category.district
    if address_id and not address:
        address = address_id
    region = _place(
        key=key, district=district, latitude=latitude, longitude=longitude, address=address
    )
    if len(address) > 255:
        raise ValidationFailed(_("address_string 不能超过255个字符"), field="address_string")
    lines = check_attributes(category, attributes)
    details = list(lines)
    if media_url:
        details.append(f"图片链接: {media_url[:500]}")
    if len(phone) > 20:
        raise ValidationFailed(_("phone 不能超过20个字符"), field="phone")
    reporter_name = f"{last_name}{first_name}".strip()[:64]
    return appeal_intake(
        actor=actor,
        channel=Channel.API,
        category=category,
        # Optional in GeoReport v2: without one (or only invisible characters), the service.
        description=category.name if is_blank(description) else description.strip(),
        details=details,
        priority=category.default_priority,
        latitude=latitude,
        longitude=longitude,
        address=address,
        reporter_name=reporter_name,
        reporter_phone=phone,
        idempotency_key=selectors.idempotency_ref(key.pk if key else None, client_key)
        if client_key
        else None,
        photos=(photo,) if photo is not None else (),
        region=region,
    )
