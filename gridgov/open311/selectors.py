"""Reads of the Open311 app: services (categories) and service requests (appeals),
mapped to GeoReport v2 fields."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from gridgov.appeals.attributes import DATATYPE_DESCRIPTIONS, well_formed
from gridgov.appeals.models import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    Action,
    Appeal,
    Category,
    PhotoStage,
    Status,
)
from gridgov.core.db import (
    local_isoformat,
    local_isoformat_params,
    local_isoformat_sql,
    valid_pk,
)
from gridgov.core.errors import ValidationFailed
from gridgov.core.pii import mask_text
from gridgov.core.scope import subtree_params, subtree_sql

MAX_ROWS = 1000  # the spec's cap on one response
MAX_WINDOW = timedelta(days=90)  # the spec's widest date range
W3_YEARS = (1900, 2999)  # the dates a filter may name
DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso(value: datetime | None, tz: Any = None) -> str | None:
    """ISO 8601 with the local offset, e.g. 2026-11-23T13:08:44+08:00 (``tz``: the current
    time zone, looked up once per page by callers that format many values)."""
    if value is None:
        return None
    return value.astimezone(tz or timezone.get_current_timezone()).isoformat(timespec="seconds")


def parse_w3_datetime(raw: str, *, field: str, end_of_day: bool = False) -> datetime:
    """A w3 date-time with zone; '+' decoded as a space in a query string is restored.

    The W3C profile's date alone (``2026-11-01``) names that day on the district's clock:
    its start, or with ``end_of_day`` its last moment (so an end date includes its day)."""
    value = raw.strip()
    if " " in value and "T" in value:
        value = value.replace(" ", "+")
    try:
        if DATE_ONLY.fullmatch(value):
            parsed = datetime.combine(
                date.fromisoformat(value),
                time.max if end_of_day else time.min,
                tzinfo=timezone.get_default_timezone(),
            )
        else:
            parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationFailed(
            _("%(name)s 不是有效的日期时间(例: 2026-11-01T08:00:00+08:00)") % {"name": field},
            field=field,
        )
    if timezone.is_naive(parsed):
        raise ValidationFailed(_("%(name)s 须带时区(Z 或 +08:00)") % {"name": field}, field=field)
    if not W3_YEARS[0] <= parsed.year <= W3_YEARS[1]:
        # Year 1 or 9999 would overflow the 90-day window or the change to UTC.
        raise ValidationFailed(
            _("%(name)s 须在 %(first)s 年至 %(last)s 年之间")
            % {"name": field, "first": W3_YEARS[0], "last": W3_YEARS[1]},
            field=field,
        )
    return parsed


# --- services -------------------------------------------------------------------------


def service_list(*, district_code: str) -> QuerySet[Category]:
    """The district's categories that a request can be filed under (``accepting_q``)."""
    return (
        Category.objects.filter(Category.accepting_q(), district__code=district_code)
        .select_related("parent")
        .order_by("parent__order", "parent__code", "order", "code")
    )


def service_get(*, district_code: str, code: str) -> Category | None:
    """The service with ``code``: a category of ``service_list`` (parent, district and time
    limits loaded), from the per-process cache of ``appeals.caches``."""
    from gridgov.appeals.caches import service_category_by_code

    return service_category_by_code(district_code=district_code, code=code)


def service_as_open311(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description,
        "metadata": bool(well_formed(category.extra_fields)),
        "type": "realtime",
        "keywords": category.parent.name if category.parent_id else "",
        "group": category.parent.name if category.parent_id else category.name,
    }


def service_definition(category: Category) -> dict[str, Any]:
    attributes = []
    for index, field in enumerate(well_formed(category.extra_fields), start=1):
        listed = field["datatype"] in ("singlevaluelist", "multivaluelist")
        attributes.append(
            {
                "variable": True,
                "code": str(field["code"]),
                "datatype": field["datatype"],
                "required": field.get("required", False),
                "datatype_description": str(DATATYPE_DESCRIPTIONS[field["datatype"]]),
                "order": field.get("order") or index,
                "description": field.get("description") or field["code"],
                "values": [
                    {"key": v["key"], "name": v.get("name") or v["key"]}
                    for v in field.get("values", [])
                ]
                if listed
                else [],
            }
        )
    return {"service_code": category.code, "attributes": attributes}


# --- service requests -----------------------------------------------------------------


# Open311 field → the appeal's timestamp, read as local ISO 8601 text.
TIMESTAMPS = {
    "requested_datetime": "created_at",
    "updated_datetime": "updated_at",
    "expected_datetime": "deadline",
}
# The keys of one request row, in the order of the columns of ``_page_sql``.
ROW_KEYS = (
    "pk",
    "public",
    "status",
    "result",
    "description",
    "address",
    "latitude",
    "longitude",
    "category__code",
    "category__name",
    "assigned_department__name",
    "assigned_region__name",
    "region__name",
    "photo",
    *TIMESTAMPS,
    "duplicate_of",
    "reject_note",
)


@lru_cache(maxsize=64)
def _page_sql(
    vendor: str, *, scoped: bool, codes: int, statuses: int, ids: int, paged: bool
) -> str:
    """One statement for a list of request rows, written out because it serves every
    Open311 read: building it through the ORM cost 1.2 ms of a 3 ms page. The page's ids
    come first from the (district, created_at, id) index; names, the first intake photo,
    the timestamps as local text and a rejected case's reason are read for those rows only.

    A status filter matches a merged case by the state of the case it was merged into
    (as ``requests_as_open311`` reports it): one look-up by primary key per merged row."""
    where = ["district_id = (SELECT id FROM territory_region WHERE code = %s)"]
    if scoped:
        where.append(subtree_sql("region_path", vendor))
    if ids:
        where.append(f"id IN ({', '.join(['%s'] * ids)})")
    if codes:
        # A group's code stands for its services (the sub-categories requests are filed under).
        listed = ", ".join(["%s"] * codes)
        where.append(
            "category_id IN (SELECT sc.id FROM appeals_category sc LEFT JOIN appeals_category "
            f"sg ON sg.id = sc.parent_id WHERE sc.code IN ({listed}) OR sg.code IN ({listed}))"
        )
    if statuses:
        wanted = ", ".join(["%s"] * statuses)
        where.append(
            f"(s.status IN ({wanted}) OR (s.status = %s AND (SELECT p.status FROM "
            f"appeals_appeal p WHERE p.id = s.duplicate_of_id) IN ({wanted})))"
        )
    if paged:
        where.append("created_at >= %s AND created_at <= %s")
    times = ", ".join(local_isoformat_sql(f"a.{column}", vendor) for column in TIMESTAMPS.values())
    return (
        # A case is public when its category and the category's group are.
        "SELECT a.id, c.is_public AND NOT EXISTS (SELECT 1 FROM appeals_category g "
        "WHERE g.id = c.parent_id AND NOT g.is_public), a.status, a.result, a.description, "
        "a.address, "
        "a.latitude, a.longitude, c.code, c.name, d.name, ar.name, r.name, "
        "(SELECT p.file FROM appeals_appealphoto p WHERE p.appeal_id = a.id "
        f"AND p.stage = %s ORDER BY p.id LIMIT 1), {times}, a.duplicate_of_id, "
        # The reason of a rejection is the note of its (only) reject event.
        "CASE WHEN a.status = %s THEN (SELECT e.note FROM appeals_appealevent e "
        "WHERE e.appeal_id = a.id AND e.action = %s ORDER BY e.id DESC LIMIT 1) END "
        "FROM appeals_appeal a "
        "JOIN appeals_category c ON c.id = a.category_id "
        "JOIN territory_region r ON r.id = a.region_id "
        "LEFT JOIN territory_department d ON d.id = a.assigned_department_id "
        "LEFT JOIN territory_region ar ON ar.id = a.assigned_region_id "
        "WHERE a.id IN (SELECT s.id FROM appeals_appeal s WHERE "
        + " AND ".join(where)
        + " ORDER BY created_at DESC, id DESC"
        + (" LIMIT %s OFFSET %s" if paged else "")
        + ") ORDER BY a.created_at DESC, a.id DESC"
    )


def _rows(
    *,
    district_code: str,
    scope_path: str | None,
    ids: list[str] = (),  # type: ignore[assignment]
    codes: list[str] = (),  # type: ignore[assignment]
    statuses: list[str] = (),  # type: ignore[assignment]
    window: tuple[datetime, datetime] | None = None,
    limit: int = 0,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Request rows (``ROW_KEYS``) of the district visible under ``scope_path`` (None: the
    whole district): those with an id in ``ids``, or a page of ``window``."""
    vendor = connection.vendor
    sql = _page_sql(
        vendor,
        scoped=bool(scope_path),
        codes=len(codes),
        statuses=len(statuses),
        ids=len(ids),
        paged=window is not None,
    )
    zone = timezone.get_current_timezone_name()
    adapt = connection.ops.adapt_datetimefield_value
    params: list[Any] = [PhotoStage.INTAKE]
    params += local_isoformat_params(vendor, zone) * len(TIMESTAMPS)
    params += [Status.REJECTED, Action.REJECT, district_code]
    if scope_path:
        params += subtree_params(scope_path, vendor)
    params += [*ids, *codes, *codes]
    if statuses:
        params += [*statuses, Status.MERGED, *statuses]
    if window is not None:
        params += [adapt(window[0]), adapt(window[1]), limit, offset]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [dict(zip(ROW_KEYS, row, strict=True)) for row in cursor.fetchall()]


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def request_list(
    *,
    district_code: str,
    scope_path: str | None,
    params: dict[str, str],
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """GET requests: filters per GeoReport v2 plus ``page``/``page_size``; value rows.

    ``service_request_id`` (comma-separated) overrides every other filter. Otherwise the
    date range defaults to the last 90 days and may not be wider than 90 days; at most
    1,000 rows per response. Errors: ValidationFailed naming the parameter.
    """
    place = {"district_code": district_code, "scope_path": scope_path}
    ids = _split(params.get("service_request_id", ""))
    if ids:
        if len(ids) > MAX_ROWS:
            raise ValidationFailed(
                _("service_request_id 最多 %(n)s 个") % {"n": MAX_ROWS}, field="service_request_id"
            )
        return _ids_rows(place, ids)

    page = _int_param(params, "page", 1, 1, 100000)
    size = _int_param(params, "page_size", MAX_ROWS, 1, MAX_ROWS)

    codes = _split(params.get("service_code", ""))
    if codes:
        known = set(
            Category.objects.filter(district__code=district_code, code__in=codes).values_list(
                "code", flat=True
            )
        )
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValidationFailed(
                _("service_code 不存在: %(value)s") % {"value": ", ".join(unknown)},
                field="service_code",
            )

    statuses = _split(params.get("status", "").lower())
    wanted: list[str] = []
    if statuses:
        bad = [s for s in statuses if s not in ("open", "closed")]
        if bad:
            raise ValidationFailed(_("status 只能是 open 或 closed"), field="status")
        if set(statuses) == {"open"}:
            wanted = sorted(OPEN_STATUSES)
        elif set(statuses) == {"closed"}:
            # A merged case is matched by its primary's state (see ``_page_sql``).
            wanted = sorted(FINAL_STATUSES - {Status.MERGED})

    start = end = None
    if params.get("start_date"):
        start = parse_w3_datetime(params["start_date"], field="start_date")
    if params.get("end_date"):
        end = parse_w3_datetime(params["end_date"], field="end_date", end_of_day=True)
    if start is None and end is None:
        end = now or timezone.now()
        start = end - MAX_WINDOW
    elif start is None:
        start = end - MAX_WINDOW
    elif end is None:
        end = start + MAX_WINDOW
    if start > end:
        raise ValidationFailed(_("start_date 不能晚于 end_date"), field="start_date")
    if end - start > MAX_WINDOW:
        raise ValidationFailed(_("start_date 与 end_date 相隔不能超过90天"), field="end_date")
    rows = _rows(
        **place,
        codes=codes,
        statuses=wanted,
        window=(start, end),
        limit=size,
        offset=(page - 1) * size,
    )
    return _with_primaries(rows, district_code=district_code)


def _int_param(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(_("%(name)s 须为整数") % {"name": name}, field=name) from None
    if value < low or value > high:
        raise ValidationFailed(
            _("%(name)s 须在 %(low)s 到 %(high)s 之间") % {"name": name, "low": low, "high": high},
            field=name,
        )
    return value


def _ids_rows(place: dict[str, Any], ids: list[str]) -> list[dict[str, Any]]:
    """The rows with these service_request_ids; one that is not an id matches nothing."""
    pks = [pk for pk in map(valid_pk, ids) if pk is not None]
    if not pks:
        return []
    return _with_primaries(_rows(**place, ids=pks), district_code=place["district_code"])


def _with_primaries(rows: list[dict[str, Any]], *, district_code: str) -> list[dict[str, Any]]:
    """Give each merged row the row of the case it was merged into (key ``primary``): one
    query for the page, none when the page holds no merged case. The primary is read
    whatever the caller's scope: a merged request reports the joint case's progress (but
    never its tracking code; see ``requests_as_open311``)."""
    wanted = {row["duplicate_of"] for row in rows if row["status"] == Status.MERGED}
    wanted.discard(None)
    if not wanted:
        return rows
    primaries = {
        row["pk"]: row
        for row in _rows(district_code=district_code, scope_path=None, ids=sorted(wanted))
    }
    for row in rows:
        if row["status"] == Status.MERGED:
            row["primary"] = primaries.get(row["duplicate_of"])
    return rows


def request_get(*, district_code: str, scope_path: str | None, code: str) -> dict[str, Any] | None:
    rows = _ids_rows({"district_code": district_code, "scope_path": scope_path}, [code])
    return rows[0] if rows else None


def status_notes(row: dict[str, Any], labels: dict[str, str]) -> str:
    """The state's name; for a public case that is finished, its result or the reason of
    its rejection (phone and ID numbers masked). A merged case names the request it is
    handled with (by id, never by tracking code) and gives that request's own note."""
    status = row["status"]
    label = labels.get(status, status)
    if status == Status.MERGED:
        primary = row.get("primary")
        if primary is None:
            return _("%(label)s(与其他同一问题的诉求合并办理)") % {"label": label}
        # The joint case's result is shown only where both cases may show one.
        shown = {**primary, "public": primary["public"] and row["public"]}
        return _("与请求 %(id)s 合并办理；%(notes)s") % {
            "id": primary["pk"],
            "notes": status_notes(shown, labels),
        }
    if status not in FINAL_STATUSES or not row["public"]:
        return label
    text = (row["reject_note"] if status == Status.REJECTED else "") or row["result"]
    if text:
        return f"{label}: {mask_text(text)[:500]}"
    return label


def requests_as_open311(
    rows: list[dict[str, Any]], request: HttpRequest | None = None
) -> list[dict[str, Any]]:
    """Value rows → GeoReport v2 request objects (closed = our final states).

    The id is the appeal's number, never its tracking code: the code is the reporter's key
    to rate, withdraw or reopen the case. A case of a category that is not public shows its
    status only: no description, result, address, location or photo. A merged case (with
    its ``primary`` row, see ``_with_primaries``) reports the case it was merged into:
    that case's open/closed state, deadline, last update and agency."""
    labels = {value: str(label) for value, label in Status.choices}
    media_base = request.build_absolute_uri("/")[:-1] if request is not None else ""
    final = FINAL_STATUSES
    tz = timezone.get_current_timezone()
    out = []
    for row in rows:
        public = row["public"]
        photo = row["photo"] if public else None
        # The case whose progress this request reports: its own, or the joint case's.
        state = row.get("primary") or row
        out.append(
            {
                "service_request_id": str(row["pk"]),
                "status": "closed" if state["status"] in final else "open",
                "status_notes": status_notes(row, labels),
                "service_name": row["category__name"],
                "service_code": row["category__code"],
                "description": mask_text(row["description"]) if public else "",
                "agency_responsible": state["assigned_department__name"]
                or state["assigned_region__name"]
                or state["region__name"],
                "service_notice": "",
                "requested_datetime": local_isoformat(row["requested_datetime"], tz),
                "updated_datetime": local_isoformat(state["updated_datetime"], tz),
                "expected_datetime": local_isoformat(state["expected_datetime"], tz),
                "address": row["address"] if public else "",
                "address_id": "",
                "zipcode": "",
                "lat": row["latitude"] if public else None,
                "long": row["longitude"] if public else None,
                "media_url": media_base + default_storage.url(photo) if photo else "",
            }
        )
    return out


def idempotency_ref(key_id: int | None, client_key: str) -> str:
    """The stored idempotency key: namespaced per API key so clients cannot collide."""
    return f"o311:{key_id if key_id is not None else 'anon'}:{client_key}"


def token_lookup(*, district_code: str, token: str, key_id: int | None) -> Appeal | None:
    """A token is our tracking code, or the Idempotency-Key the same API key posted with."""
    q = Q(tracking_code=token) | Q(idempotency_key=idempotency_ref(key_id, token))
    return Appeal.objects.filter(q, district__code=district_code).only("pk").first()


def service_notice(appeal: Appeal) -> str:
    """What the client tells the reporter: the tracking code (their key to follow, rate and
    reopen the case, given to the one who posted it only) and the time limit."""
    notice = _("查询码: %(code)s") % {"code": appeal.tracking_code}
    if appeal.deadline is None:
        return notice
    return (
        notice
        + "；"
        + _("办理时限: %(deadline)s")
        % {"deadline": f"{timezone.localtime(appeal.deadline):%Y-%m-%d %H:%M}"}
    )
