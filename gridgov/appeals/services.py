"""Writes on appeals: intake and one service per transition of the closed loop.

Each service: keyword-only arguments and a required ``actor`` (None only where a
resident without an account may act: self-service intake, rating, withdrawal, with the
tracking code); ``transaction.atomic`` with the appeal locked (``select_for_update``);
guard clauses in a fixed order — 404 (missing or outside jurisdiction), 409 (the current
state forbids the action, see ``models.TRANSITIONS``), 403 (capability / not the
handler), 400 (bad input naming the field); then the change, one ``AppealEvent`` history
row, one audit row, and notifications written to the inbox/outbox whose delivery is
scheduled with ``transaction.on_commit``. Every service returns the appeal.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from gridgov.accounts import capabilities as caps
from gridgov.accounts.models import Role, User
from gridgov.accounts.services import search_logged
from gridgov.appeals import notify
from gridgov.appeals.deadlines import compute_deadline
from gridgov.appeals.duplicates import in_region, near_lookup, note_appeal_id, rank, stored_tokens
from gridgov.appeals.models import (
    CLOCK_STATUSES,
    FINAL_STATUSES,
    TRANSITIONS,
    Action,
    Appeal,
    AppealEvent,
    AppealPhoto,
    AppealWhistle,
    Category,
    Channel,
    ExtensionRequest,
    Level,
    NotificationKind,
    PhotoStage,
    Priority,
    RateSettings,
    Rating,
    Status,
    TimeLimit,
    TimeUnit,
)
from gridgov.appeals.photos import CleanPhoto, clean_photos
from gridgov.core import workdays
from gridgov.core.audit import audit, audit_entry
from gridgov.core.db import insert_linked, valid_pk
from gridgov.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from gridgov.core.notice import Notice
from gridgov.core.pii import mask_phone, mask_text
from gridgov.core.scope import in_scope
from gridgov.territory.geo import grid_for_point
from gridgov.territory.models import Department, Grid, Region, RegionKind

ANONYMOUS_CHANNELS = frozenset({Channel.SELF_SERVICE, Channel.API})
MAX_DESCRIPTION = 2000

# ---------------------------------------------------------------- helpers


def rate_settings_for(district: Region | int) -> RateSettings:
    """The district's rate settings row, or an unsaved one with the defaults."""
    district_id = district if isinstance(district, int) else district.pk
    row = RateSettings.objects.filter(district_id=district_id).first()
    return row or RateSettings(district_id=district_id)


def _authenticated(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False)


def is_department_user(actor: Any) -> bool:
    return (
        _authenticated(actor)
        and bool(getattr(actor, "department_id", None))
        and (actor.role == Role.DEPARTMENT_HANDLER)
    )


def can_view(actor: Any, appeal: Appeal) -> bool:
    """Jurisdiction over the appeal's region; for department staff: dispatched/whistled to
    their department (the same rule as ``selectors.appeal_list``)."""
    if not _authenticated(actor) or not caps.has_cap(actor, caps.APPEAL_VIEW):
        return False
    if is_department_user(actor):
        # Department staff see what was dispatched or whistled to their department, anywhere.
        if appeal.assigned_department_id == actor.department_id:
            return True
        return AppealWhistle.objects.filter(
            appeal_id=appeal.pk, department_id=actor.department_id
        ).exists()
    return in_scope(actor, appeal.region_path)


def is_handler(actor: Any, appeal: Appeal) -> bool:
    """May ``actor`` work on the case as its current handler?

    A department: the lead (``assigned_department``), or a department whistled alongside
    it (see ``_whistled_handler``)."""
    if not caps.has_cap(actor, caps.APPEAL_HANDLE):
        return False
    if is_department_user(actor):
        if appeal.assigned_department_id == actor.department_id:
            return True
        return _whistled_handler(appeal, actor.department_id)
    if actor.is_superuser:
        return True
    if appeal.assigned_region_id is None:
        return False
    return in_scope(actor, appeal.assigned_region.path)


def _whistle_declined(appeal_id: int, department_id: int) -> bool:
    """Has the department declined the whistle or returned the case (退单 history row)?"""
    return AppealEvent.objects.filter(
        appeal_id=appeal_id, action=Action.RETURN, data__department=department_id
    ).exists()


def _whistled_handler(appeal: Appeal, department_id: int) -> bool:
    """A whistled department other than the lead works on the case once it has reported
    (报到); before that it may only report (accept) while the case awaits acceptance. A
    department that declined (退回) is out; so are all once the case left the departments."""
    if appeal.assigned_level != Level.DEPARTMENT:
        return False
    reported = list(
        AppealWhistle.objects.filter(appeal_id=appeal.pk, department_id=department_id).values_list(
            "reported_at", flat=True
        )[:1]
    )
    if not reported or (reported[0] is None and appeal.status != Status.DISPATCHED):
        return False
    return not _whistle_declined(appeal.pk, department_id)


def _has_code(appeal: Appeal, tracking_code: str | None) -> bool:
    return bool(tracking_code) and tracking_code.strip().upper() == appeal.tracking_code


def phone_on_file(appeal: Appeal) -> str:
    """The number the reporter gave, or their resident record's."""
    return appeal.reporter_phone or (appeal.reporter.phone if appeal.reporter_id else "")


PHONE_INCOMPLETE = gettext_lazy("反映人电话应为完整的电话号码（7 至 20 位数字）")


def phone_searched(value: str | None) -> str | None:
    """The number a search by phone looks for (the hotline's caller history, the queue's and
    the API's ``reporter_phone`` filter), written one way as ``notify.sms_number`` writes it
    and as intake stores it: ASCII digits without spaces or hyphens, a mainland mobile
    without +86 / 0086 / 86. None when ``value`` is no complete number: 7 to 20 digits,
    after an optional "+"."""
    number = notify.sms_number((value or "").strip())
    digits = number.removeprefix("+")
    if not (digits.isascii() and digits.isdigit() and 7 <= len(digits) <= 20):
        return None
    return number


def phone_search(*, actor: Any, phone: str, purpose: str) -> str:
    """Allow one search of the cases by a reporter's number (caller history, the queue's and
    the API's filter) and return the number to look up.

    Whether a number reported a case tells a number that lists show masked (guessing the
    four hidden digits takes at most 10,000 searches), so: intake staff only
    (APPEAL_TRIAGE: not departments nor API clients), at most
    ``GRIDGOV_PHONE_SEARCHES_PER_HOUR`` per person (TooManyRequests), and each search leaves
    a row in the personal-data access log (``PiiAccessLog``, the number masked, ``purpose``
    as the reason). ValidationFailed naming ``reporter_phone`` for no complete number."""
    _require(actor, caps.APPEAL_TRIAGE)
    number = phone_searched(phone)
    if number is None:
        raise ValidationFailed(PHONE_INCOMPLETE, field="reporter_phone")
    search_logged(
        actor=actor,
        subject_type="appeals.phone_search",
        label=mask_phone(number),
        fields="reporter_phone",
        reason=purpose,
        per_hour=settings.GRIDGOV_PHONE_SEARCHES_PER_HOUR,
    )
    return number


def _is_reporter(
    actor: Any,
    appeal: Appeal,
    tracking_code: str | None,
    reporter_phone: str | None = None,
    *,
    phone_checked: bool = True,
) -> bool:
    """Is ``actor`` the reporter: by their own account, or by the tracking code. The code is
    no proof alone where a number is on file and ``phone_checked`` (a rating, a reopening, a
    withdrawal: what moves the rates): staff who handle the case read its code, so the
    reporter's number must come with it. Where no number was given, the code is all there
    is."""
    if _authenticated(actor) and appeal.reporter_user_id == actor.pk:
        return True
    if not _has_code(appeal, tracking_code):
        return False
    if not phone_checked:
        return True
    if _is_staff(actor):
        # Signed in, staff act as staff (their rules, their name in the history), never as
        # the reporter by a code and a number they may have read at work.
        return False
    if not (on_file := phone_on_file(appeal)):
        return True
    return bool(reporter_phone) and notify.sms_number(reporter_phone) == notify.sms_number(on_file)


def _is_staff(actor: Any) -> bool:
    """Does ``actor`` read cases at work (and so their codes)? Not a resident, party member
    or partner unit, nor an API client, which relays what its residents do."""
    return (
        _authenticated(actor)
        and caps.has_cap(actor, caps.APPEAL_VIEW)
        and getattr(actor, "role", None) != Role.API_CLIENT
    )


def _refuse_reporter(
    actor: Any,
    appeal: Appeal,
    tracking_code: str | None,
    reporter_phone: str | None = None,
    *,
    denied: str | None = None,
) -> None:
    """Raise why ``actor`` may not act as the reporter: the code without the phone number on
    file or with another one (400, naming ``reporter_phone``; the same answer whatever was
    typed but for the wording), else no right at all (403, ``denied`` or a general message),
    as for signed-in staff."""
    if _has_code(appeal, tracking_code) and not _is_staff(actor):
        message = (
            _("填写的号码与反映问题时留下的联系电话不一致")
            if reporter_phone and reporter_phone.strip()
            else _("请填写反映问题时留下的联系电话，核对后才能以反映人身份办理")
        )
        raise ValidationFailed(message, field="reporter_phone")
    raise PermissionDenied(denied or _("您没有执行此操作的权限"))


def _lock(appeal: Appeal | int, actor: Any, *, tracking_code: str | None = None) -> Appeal:
    """Re-read and lock the appeal; 404 when missing or outside the actor's reach."""
    pk = appeal.pk if isinstance(appeal, Appeal) else valid_pk(appeal)
    if pk is None:
        raise NotFound(_("诉求不存在"))
    row = Appeal.objects.select_for_update().filter(pk=pk).first()
    if row is None:
        raise NotFound(_("诉求不存在"))
    if can_view(actor, row) or _is_reporter(actor, row, tracking_code, phone_checked=False):
        return row
    raise NotFound(_("诉求不存在"))


def _check_transition(appeal: Appeal, action: str) -> None:
    """The one place that enforces ``TRANSITIONS``; 409 with the state and action named."""
    allowed, _target = TRANSITIONS[action]
    if appeal.status not in allowed:
        raise Conflict(
            _("诉求当前状态为「%(status_label)s」，不能执行「%(action_label)s」")
            % {"status_label": Status(appeal.status).label, "action_label": Action(action).label},
            field="status",
        )


def _require(actor: Any, *capabilities: str) -> None:
    if not any(caps.has_cap(actor, c) for c in capabilities):
        raise PermissionDenied(_("您没有执行此操作的权限"))


# Characters no stored text may hold: the C0 controls but tab, line feed and carriage return
# (NUL cannot be stored by PostgreSQL; the others make the Open311 XML invalid), lone
# surrogates (not encodable as UTF-8) and the non-characters U+FFFE and U+FFFF.
_FORBIDDEN_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _no_nul(value: str, field: str) -> str:
    """``value`` unchanged; ValidationFailed naming ``field`` when it holds a control
    character (other than tab, newline, carriage return), a lone surrogate or U+FFFE/U+FFFF:
    refused as bad input rather than stored, or failing later with a 500."""
    if value and _FORBIDDEN_CHARS.search(value):
        raise ValidationFailed(_("含有非法字符"), field=field)
    return value


# Characters that show nothing: a text of only these and whitespace is empty.
_INVISIBLE = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]*")


def is_blank(value: str | None) -> bool:
    """Does ``value`` hold nothing but whitespace and zero-width characters?"""
    return not value or bool(_INVISIBLE.fullmatch(value))


def _require_text(value: str, field: str, label: str, max_length: int = 500) -> str:
    """``value`` stripped; ValidationFailed naming ``field`` when it is empty (also when it
    holds only whitespace and zero-width characters: U+200B–U+200D, U+2060, U+FEFF), too
    long, or holds a forbidden character (``_no_nul``)."""
    value = _no_nul((value or "").strip(), field)
    if is_blank(value):
        raise ValidationFailed(_("请填写%(label)s") % {"label": label}, field=field)
    if len(value) > max_length:
        raise ValidationFailed(
            _("%(label)s不能超过 %(max_length)s 字") % {"label": label, "max_length": max_length},
            field=field,
        )
    return value


def _record(appeal: Appeal, **step: Any) -> AppealEvent:
    """Write the history row and the audit row for one step (arguments: ``_history``)."""
    event, entry = _history(appeal, **step)
    event.save()
    entry.save()
    return event


def _history(
    appeal: Appeal,
    *,
    actor: Any,
    action: str,
    from_status: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> tuple[AppealEvent, Any]:
    """The unsaved history row and audit row for one step of ``appeal``."""
    actor_id = actor.pk if _authenticated(actor) else None
    note = _no_nul(note or "", "note")
    if len(note) > MAX_DESCRIPTION:
        raise ValidationFailed(
            _("说明不能超过 %(count)s 字") % {"count": MAX_DESCRIPTION}, field="note"
        )
    event = AppealEvent(
        appeal=appeal,
        actor_id=actor_id,
        action=action,
        from_status=from_status,
        to_status=appeal.status,
        note=note,
        data=data or {},
        at=at or timezone.now(),
    )
    entry = audit_entry(
        actor=actor,
        action=f"appeal.{action}",
        target=appeal,
        region_path=appeal.region_path,
        data={"from": from_status, "to": appeal.status, **(data or {})},
    )
    return event, entry


def _save_photos(appeal: Appeal, photos: list[CleanPhoto], stage: str) -> None:
    for photo in photos:
        AppealPhoto.objects.create(
            appeal=appeal,
            stage=stage,
            file=photo.content,
            content_type=photo.content_type,
            size=photo.size,
        )


def _users_of_region(region: Region | None) -> list[User]:
    if region is None:
        return []
    roles = [Role.COMMUNITY_WORKER, Role.STREET_OFFICIAL]
    return list(User.objects.filter(scope_region=region, role__in=roles, is_active=True)[:50])


def _users_of_department(department_id: int | None) -> list[User]:
    if not department_id:
        return []
    return list(
        User.objects.filter(
            department_id=department_id, is_active=True, role=Role.DEPARTMENT_HANDLER
        )[:50]
    )


def handlers_of(appeal: Appeal) -> list[User]:
    """Who to tell about the case: the accepting person, else the assigned level's staff."""
    if appeal.assigned_user_id:
        return [appeal.assigned_user]
    users = _users_of_department(appeal.assigned_department_id)
    if appeal.assigned_level == Level.GRID and appeal.grid_id and appeal.grid.owner_id:
        users.append(appeal.grid.owner)
    elif appeal.assigned_region_id:
        users += _users_of_region(appeal.assigned_region)
    return users


def dispatchers_of(appeal: Appeal) -> list[User]:
    """Who sent the case on: the actors of its latest dispatch/whistle/escalate/intake."""
    event = (
        AppealEvent.objects.filter(
            appeal=appeal,
            actor__isnull=False,
            action__in=[
                Action.DISPATCH,
                Action.WHISTLE,
                Action.ESCALATE,
                Action.REGISTER,
                Action.INTAKE,
            ],
        )
        .select_related("actor")
        .order_by("-at", "-pk")
        .first()
    )
    if event is not None:
        return [event.actor]
    return _users_of_region(appeal.region)


def supervisors_of(appeal: Appeal) -> list[User]:
    """Operators and street officials above the appeal's region (at most 50)."""
    paths = [p for p in _ancestor_paths(appeal.region_path)]
    return list(
        User.objects.filter(
            role__in=[Role.OPERATOR, Role.STREET_OFFICIAL, Role.DISTRICT_ADMIN],
            is_active=True,
            scope_region__path__in=paths,
        )[:50]
    )


def _ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def _tell_reporters(appeal: Appeal, *, text: Notice, dedupe: str, kind: str) -> None:
    """The reporter(s) of the case and of every merged duplicate: inbox and/or SMS."""
    rows = [
        appeal,
        *Appeal.objects.filter(duplicate_of=appeal).select_related("reporter", "reporter_user"),
    ]
    for row in rows:
        code_text = Notice(
            gettext_noop("%(text)s（查询码 %(tracking_code)s）"),
            {
                "text": text,
                "tracking_code": row.tracking_code,
            },
        )
        if row.reporter_user_id:
            notify.notify_users(
                users=[row.reporter_user],
                appeal=row,
                kind=kind,
                text=code_text,
                dedupe=f"{dedupe}:a{row.pk}",
            )
        phone = row.reporter_phone or (row.reporter.phone if row.reporter_id else "")
        if phone:
            notify.notify_phone(phone=phone, text=code_text, dedupe=f"{dedupe}:a{row.pk}:sms")


def _get_appeal_id(appeal: Appeal | int) -> int:
    return appeal.pk if isinstance(appeal, Appeal) else int(appeal)


# ---------------------------------------------------------------- intake

# Django builds ``Choices.values`` as a new list on every read.
CHANNELS, PRIORITIES = frozenset(Channel.values), frozenset(Priority.values)
# A phone number as typed: ASCII digits, with '+', '-' and spaces (not ``str.isdigit``, which
# also takes superscripts and full-width digits that no SMS gateway dials).
_PHONE = re.compile(r"[0-9+\- ]*[0-9][0-9+\- ]*")


def _place(
    *,
    actor: Any,
    channel: str,
    category: Category,
    latitude: float | None,
    longitude: float | None,
    address: str,
    region: Region | None,
    confined: bool = False,
) -> tuple[Region, Grid | None]:
    grid = None
    if latitude is not None and longitude is not None:
        # The grid and its community come from the index: no query after the look-up.
        grid = grid_for_point(latitude=latitude, longitude=longitude)
        if grid is not None and grid.district_id != category.district_id:
            grid = None
        if grid is not None and confined and not in_scope(actor, grid.region_path):
            raise ValidationFailed(_("该位置所在网格不在您的授权范围内"), field="latitude")
    if grid is not None:
        return grid.region, grid
    if confined and region is None:
        return _confined_place(actor=actor, category=category, latitude=latitude, address=address)
    if region is not None:
        if (region.district_id or region.pk) != category.district_id:
            raise ValidationFailed(_("所属辖区与分类不属于同一区县"), field="region")
        if (
            _authenticated(actor)
            and caps.has_cap(actor, caps.APPEAL_INTAKE)
            and not in_scope(actor, region.path)
        ):
            raise ValidationFailed(_("所选辖区不在您的管辖范围内"), field="region")
        return region, None
    if channel in ANONYMOUS_CHANNELS:
        if latitude is not None and not address:
            # As Open311 answers: a point outside every grid of the district, and nothing
            # else to place the appeal by.
            raise ValidationFailed(
                _("该位置不在本区任何网格内，请重新定位或填写地址"), field="latitude"
            )
        # Placed later by the operator (appeal_register with region=…).
        return category.district, None
    if latitude is not None:
        raise ValidationFailed(_("该位置不在任何网格内，请选择所属辖区"), field="region")
    raise ValidationFailed(_("请在地图上选点或选择所属辖区"), field="location")


def _confined_place(
    *, actor: Any, category: Category, latitude: float | None, address: str
) -> tuple[Region, None]:
    """Where a confined actor's (an API key's) report without a grid goes: its own scope
    region, so the key can read back what it filed (never the district, outside its reach).
    Without any location (point, address or region) it is refused, as Open311 refuses it."""
    if latitude is None and not address:
        raise ValidationFailed(_("须提供位置：经纬度或地址"), field="latitude")
    if latitude is not None and not address:
        raise ValidationFailed(
            _("该位置不在本区任何网格内，请重新定位或填写地址"), field="latitude"
        )
    scope = getattr(actor, "scope_region", None) or category.district
    if (scope.district_id or scope.pk) != category.district_id:
        raise ValidationFailed(_("所选分类不属于您授权范围所在的区县"), field="category")
    return scope, None


def _check_point(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None):
        raise ValidationFailed(
            _("经纬度须同时填写"), field="latitude" if latitude is None else "longitude"
        )
    if latitude is not None and not -90 <= latitude <= 90:
        raise ValidationFailed(_("纬度须在 -90 到 90 之间"), field="latitude")
    if longitude is not None and not -180 <= longitude <= 180:
        raise ValidationFailed(_("经度须在 -180 到 180 之间"), field="longitude")


def appeal_intake(
    *,
    actor: Any,
    channel: str,
    category: Category,
    description: str,
    priority: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    address: str = "",
    reporter: Any = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    idempotency_key: str | None = None,
    photos: Iterable[Any] = (),
    region: Region | None = None,
    details: Iterable[str] = (),
    confined: bool = False,
) -> Appeal:
    """受理: record a new appeal (status ``received``) from any channel.

    ``actor`` may be None for anonymous self-service/API intake; staff channels need
    APPEAL_INTAKE. The point selects the grid (and the region: the grid's community);
    without a point the ``region`` must be given (anonymous reports without either are
    placed at the district for the operator to place; with a point outside every grid of
    the district and no address they are refused, naming ``latitude``). The same
    ``idempotency_key`` returns the first appeal, never a second case; sent again with a
    different category, description, location or reporter phone it is refused (409, naming
    ``idempotency_key``), and when that new input fails a check it gets that error: only a
    resend of the same report (``REPLAY_FIELDS``) answers with the first case even if it no
    longer passes. Staff reporting a point outside their jurisdiction: the appeal goes
    to the point's grid and that community's staff are told; a ``confined`` actor (an API
    key's service user) is refused there instead (field ``latitude``), its report without a
    grid is placed in its own scope region (or the ``region`` within it), and one with no
    location at all is refused (``latitude``). An API client (role ``api_client``) files on
    channel ``api`` only (field ``channel``): staff channels text the reporter the tracking
    code. Photos are checked (JPEG/PNG, ≤ 8 MB) and stored without metadata. The deadline
    is computed from the category's time limit.
    ``reporter`` links the case to the reporter's resident record (居民档案); the name and
    phone left blank are taken from it.
    ``details`` (checked lines such as an Open311 client's attributes) are kept after the
    description, under 【附加信息】; the length limit is the description's own.
    The returned appeal carries ``duplicate_candidates``: the ids of open appeals of the same
    category within 100 m and 48 h (at most 50), best match first; the intake event records
    them too, in id order.
    Errors: ValidationFailed (field named), PermissionDenied, Conflict (reused key).
    """
    if idempotency_key:
        idempotency_key = _no_nul(idempotency_key.strip(), "idempotency_key")[:128]
    details = tuple(details)
    try:
        return _intake(
            actor=actor,
            channel=channel,
            category=category,
            description=description,
            priority=priority,
            latitude=latitude,
            longitude=longitude,
            address=address,
            reporter=reporter,
            reporter_name=reporter_name,
            reporter_phone=reporter_phone,
            idempotency_key=idempotency_key or None,
            photos=photos,
            region=region,
            details=details,
            confined=confined,
        )
    except DomainError as exc:
        # A client resending the report it filed (a retry after a lost answer) gets the first
        # appeal even when the same input no longer passes: the category was deactivated, the
        # point's grid redrawn, the person's role changed since. Any other input gets its
        # error: the key alone is no credential (under ``public:`` and ``o311:anon:`` anyone
        # may send any key), and a key reused for a different report is refused (409).
        if not idempotency_key or exc.field == "idempotency_key":
            raise
        existing = _replay(idempotency_key)
        sent = _replay_content(
            category=category,
            description=description,
            details=details,
            latitude=latitude,
            longitude=longitude,
            address=address,
            reporter=reporter,
            reporter_phone=reporter_phone,
        )
        if existing is None or not _same_report(existing, sent):
            raise
        return existing


# What a replay must repeat to answer with the first appeal (as normalised by ``_intake``).
REPLAY_FIELDS = ("category_id", "description", "latitude", "longitude", "address", "reporter_phone")


def _same_report(existing: Appeal, sent: dict[str, Any]) -> bool:
    """Does ``sent`` (``REPLAY_FIELDS`` as stored) repeat ``existing``'s report?"""
    return all(getattr(existing, f) == sent[f] for f in REPLAY_FIELDS)


def _as_float(value: Any) -> Any:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return value  # not a number: never equal to a stored coordinate


def _replay_content(
    *,
    category: Category | None,
    description: str,
    details: tuple[str, ...],
    latitude: Any,
    longitude: Any,
    address: str,
    reporter: Any,
    reporter_phone: str,
) -> dict[str, Any]:
    """``REPLAY_FIELDS`` of an intake's input normalised as ``_intake`` stores them (strip,
    ``_with_details``, ``_reporter_contact``, ``sms_number``, floats), without its checks:
    for input that failed one."""
    _name, phone = _reporter_contact(reporter, "", reporter_phone)
    return {
        "category_id": getattr(category, "pk", None),
        "description": _with_details((description or "").strip(), details),
        "latitude": _as_float(latitude),
        "longitude": _as_float(longitude),
        "address": (address or "").strip(),
        "reporter_phone": notify.sms_number((phone or "").strip()),
    }


def _with_details(description: str, details: Iterable[str]) -> str:
    """The description with the checked detail lines after it, as intake stores it."""
    return f"{description}\n【附加信息】{'；'.join(details)}" if details else description


def _reporter_contact(reporter: Any, name: str, phone: str) -> tuple[str, str]:
    """The name and phone given, or else the resident record's."""
    if reporter is None:
        return name, phone
    return name or reporter.name, phone or reporter.phone


def _replay(idempotency_key: str) -> Appeal | None:
    existing = (
        Appeal.objects.select_related("category__parent", "region", "grid")
        .filter(idempotency_key=idempotency_key)
        .first()
    )
    if existing is not None:
        existing.duplicate_candidates = []
        existing.replayed = True
    return existing


def _intake(
    *,
    actor: Any,
    channel: str,
    category: Category,
    description: str,
    priority: str | None,
    latitude: float | None,
    longitude: float | None,
    address: str,
    reporter: Any,
    reporter_name: str,
    reporter_phone: str,
    idempotency_key: str | None,
    photos: Iterable[Any],
    region: Region | None,
    details: Iterable[str],
    confined: bool,
) -> Appeal:
    """The new appeal, or the first one with the same idempotency key: the key is not
    looked up first; the unique index refuses a second row (also under concurrency) and
    the first appeal is read then."""
    if channel not in CHANNELS:
        raise ValidationFailed(_("来源渠道无效"), field="channel")
    if channel != Channel.API and getattr(actor, "role", None) == Role.API_CLIENT:
        # A staff channel would text the tracking code to whatever number the client names.
        raise ValidationFailed(_("API 客户端只能以「API」渠道反映诉求"), field="channel")
    if channel not in ANONYMOUS_CHANNELS:
        _require(actor, caps.APPEAL_INTAKE)
    if category is None or not category.accepts_cases:
        raise ValidationFailed(_("请选择有效的诉求分类"), field="category")
    description = _require_text(description, "description", _("诉求内容"), MAX_DESCRIPTION)
    description = _with_details(description, [_no_nul(line, "description") for line in details])
    priority = priority or category.default_priority
    if priority not in PRIORITIES:
        raise ValidationFailed(_("紧急程度无效"), field="priority")
    _check_point(latitude, longitude)
    address = _no_nul((address or "").strip(), "address")
    if len(address) > 255:
        raise ValidationFailed(_("地址不能超过 255 字"), field="address")
    reporter_name, reporter_phone = _reporter_contact(reporter, reporter_name, reporter_phone)
    reporter_name = _no_nul((reporter_name or "").strip(), "reporter_name")[:64]
    reporter_phone = (reporter_phone or "").strip()
    if reporter_phone and (len(reporter_phone) > 20 or not _PHONE.fullmatch(reporter_phone)):
        raise ValidationFailed(_("联系电话格式不正确"), field="reporter_phone")
    # Stored one way, so that a caller's earlier cases are found by an exact look-up.
    reporter_phone = notify.sms_number(reporter_phone)
    if reporter is not None and reporter.district_id != category.district_id:
        raise ValidationFailed(_("反映人不属于本区县"), field="reporter")
    place, grid = _place(
        actor=actor,
        channel=channel,
        category=category,
        latitude=latitude,
        longitude=longitude,
        address=address,
        region=region,
        confined=confined,
    )
    cleaned = clean_photos(photos)
    now = timezone.now()
    terms = stored_tokens(description)
    # Possible duplicates: around the point, looked up in the statement that inserts the
    # appeal (one round trip); without one, in the community the operator chose.
    lookup = (
        near_lookup(category=category, latitude=latitude, longitude=longitude, at=now)
        if latitude is not None
        else None
    )
    found = []
    if lookup is None and region is not None:
        found = in_region(category=category, region_path=place.path, at=now)
    authenticated = _authenticated(actor)
    appeal = Appeal(
        region=place,
        grid=grid,
        category=category,
        priority=priority,
        channel=channel,
        description=description,
        description_tokens=terms,
        address=address,
        latitude=latitude,
        longitude=longitude,
        reporter=reporter,
        reporter_name=reporter_name,
        reporter_phone=reporter_phone,
        reporter_user=actor if authenticated and channel == Channel.SELF_SERVICE else None,
        idempotency_key=idempotency_key or None,
        created_by=actor if authenticated else None,
        created_at=now,
        deadline=compute_deadline(category=category, priority=priority, start=now),
    )
    appeal.fill_derived()
    event, entry = _history(
        appeal,
        actor=actor,
        action=Action.INTAKE,
        from_status="",
        at=now,
        data={"channel": channel, "duplicate_candidates": sorted(row[0] for row in found)},
    )
    texts_reporter = channel in (Channel.SELF_SERVICE, Channel.HOTLINE) and reporter_phone
    # Staff may report what they see across their boundary (a grid worker on patrol): it goes
    # to the grid of the point, and that community, which registers it, is told.
    foreign = channel not in ANONYMOUS_CHANNELS and not in_scope(actor, place.path)
    try:
        # The appeal, its history row and its audit row in one statement (PostgreSQL);
        # photos and the messages, when there are any, in the same transaction.
        with transaction.atomic() if cleaned or texts_reporter or foreign else nullcontext():
            near = insert_linked(
                appeal, [(event, "appeal_id"), (entry, "target_id")], lookup=lookup
            )
            _save_photos(appeal, cleaned, PhotoStage.INTAKE)
            if texts_reporter:
                notify.notify_phone(
                    phone=reporter_phone,
                    dedupe=f"intake:{appeal.tracking_code}",
                    text=Notice(
                        gettext_noop(
                            "您反映的问题已受理，查询码 %(tracking_code)s，可凭码查询进度并评价。"
                        ),
                        {"tracking_code": appeal.tracking_code},
                    ),
                )
            if foreign:
                notify.notify_users(
                    users=_users_of_region(place),
                    appeal=appeal,
                    kind=NotificationKind.OTHER,
                    text=Notice(
                        gettext_noop(
                            "辖区外工作人员上报了本辖区的诉求 %(tracking_code)s，请立案办理"
                        ),
                        {"tracking_code": appeal.tracking_code},
                    ),
                    dedupe=f"foreign_intake:{appeal.pk}",
                )
    except IntegrityError:
        if idempotency_key:
            existing = _replay(idempotency_key)
            if existing is not None:
                if not _same_report(existing, {f: getattr(appeal, f) for f in REPLAY_FIELDS}):
                    raise Conflict(
                        _("该幂等键已用于另一条内容不同的诉求，请换用新的键提交"),
                        field="idempotency_key",
                    ) from None
                return existing
        raise
    note_appeal_id(appeal.pk)
    appeal.duplicate_candidates = [pk for pk, _d, _s in rank(near if lookup else found, terms)]
    appeal.replayed = False
    return appeal


# ---------------------------------------------------------------- the loop


def appeal_register(
    *,
    actor: Any,
    appeal: Appeal | int,
    category: Category | None = None,
    priority: str | None = None,
    region: Region | None = None,
    grid: Grid | None = None,
    note: str = "",
) -> Appeal:
    """立案: accept the received appeal as a case; may correct category, priority and place.

    The deadline is recomputed from the intake time. Needs APPEAL_TRIAGE or APPEAL_DISPATCH.
    """
    with transaction.atomic():
        row = _lock(appeal, actor)
        _require(actor, caps.APPEAL_TRIAGE, caps.APPEAL_DISPATCH)
        _check_transition(row, Action.REGISTER)
        changes: dict[str, Any] = {}
        if category is not None and category.pk != row.category_id:
            if category.district_id != row.district_id or not category.accepts_cases:
                raise ValidationFailed(_("请选择有效的诉求分类"), field="category")
            changes["category"] = [row.category_id, category.pk]
            row.category = category
        if priority is not None and priority != row.priority:
            if priority not in Priority.values:
                raise ValidationFailed(_("紧急程度无效"), field="priority")
            changes["priority"] = [row.priority, priority]
            row.priority = priority
        if grid is not None:
            if not in_scope(actor, grid.region_path):
                raise ValidationFailed(_("所选网格不在您的管辖范围内"), field="grid")
            row.grid = grid
            region = grid.region
        if region is not None and region.pk != row.region_id:
            if (region.district_id or region.pk) != row.district_id or not in_scope(
                actor, region.path
            ):
                raise ValidationFailed(_("所选辖区不在您的管辖范围内"), field="region")
            changes["region"] = [row.region_id, region.pk]
            row.region = region
        row.deadline = compute_deadline(
            category=row.category, priority=row.priority, start=row.created_at
        )
        from_status = row.status
        row.status = Status.REGISTERED
        row.save(
            update_fields=[
                "category",
                "priority",
                "region",
                "region_path",
                "district",
                "grid",
                "deadline",
                "status",
                "updated_at",
            ]
        )
        _record(
            row,
            actor=actor,
            action=Action.REGISTER,
            from_status=from_status,
            note=note,
            data={"changes": changes} if changes else {},
        )
    return row


def appeal_dispatch(
    *,
    actor: Any,
    appeal: Appeal | int,
    grid: Grid | None = None,
    region: Region | None = None,
    department: Department | None = None,
    note: str = "",
) -> Appeal:
    """派遣: send the case to exactly one of a grid, a community/street, or a department.

    From ``registered`` or ``returned``. Needs APPEAL_DISPATCH; the grid/region must be in
    the dispatcher's jurisdiction; the department must belong to the district. Tells the
    new handler(s). A grid worker may send a case of their own grid to that grid, that is
    take it (小事不出网格: what they can settle on the spot does not wait for a dispatcher).
    """
    with transaction.atomic():
        row = _lock(appeal, actor)
        _check_transition(row, Action.DISPATCH)
        takes_own = (
            grid is not None
            and region is None
            and department is None
            and grid.pk == row.grid_id
            and grid.owner_id == getattr(actor, "pk", None)
        )
        if not takes_own:
            _require(actor, caps.APPEAL_DISPATCH)
        targets = [t for t in (grid, region, department) if t is not None]
        if len(targets) != 1:
            raise ValidationFailed(_("请选择一个派遣对象：网格、社区/街道或部门"), field="target")
        data: dict[str, Any] = {}
        row.assigned_user = None
        if grid is not None:
            if not in_scope(actor, grid.region_path):
                raise ValidationFailed(_("所选网格不在您的管辖范围内"), field="grid")
            row.assigned_level, row.assigned_region, row.assigned_department = (
                Level.GRID,
                grid.region,
                None,
            )
            row.grid = grid
            row.assigned_user = grid.owner
            data = {"grid": grid.pk, "grid_name": grid.name}
        elif region is not None:
            if region.kind not in (RegionKind.COMMUNITY, RegionKind.STREET, RegionKind.TOWNSHIP):
                raise ValidationFailed(_("只能派遣到社区或街道"), field="region")
            if not in_scope(actor, region.path):
                raise ValidationFailed(_("所选辖区不在您的管辖范围内"), field="region")
            level = Level.COMMUNITY if region.kind == RegionKind.COMMUNITY else Level.STREET
            row.assigned_level, row.assigned_region, row.assigned_department = (level, region, None)
            data = {"region": region.pk, "region_name": region.name}
        else:
            assert department is not None
            if department.district_id != row.district_id or not department.is_active:
                raise ValidationFailed(_("所选部门无效"), field="department")
            row.assigned_level, row.assigned_region, row.assigned_department = (
                Level.DEPARTMENT,
                None,
                department,
            )
            data = {"department": department.pk, "department_name": department.name}
        from_status = row.status
        row.status = Status.DISPATCHED
        row.save(
            update_fields=[
                "assigned_level",
                "assigned_region",
                "assigned_department",
                "assigned_user",
                "grid",
                "status",
                "updated_at",
            ]
        )
        _record(
            row, actor=actor, action=Action.DISPATCH, from_status=from_status, note=note, data=data
        )
        target_name = (
            data.get("grid_name") or data.get("region_name") or data.get("department_name")
        )
        notify.notify_users(
            users=handlers_of(row),
            appeal=row,
            kind=NotificationKind.DISPATCHED,
            text=Notice(
                gettext_noop("新派遣诉求 %(tracking_code)s：%(description)s"),
                {
                    "tracking_code": row.tracking_code,
                    "description": mask_text(row.description)[:60],
                },
            ),
            dedupe=f"dispatch:{row.pk}:{row.events.count()}",
        )
        row.dispatch_target = target_name
    return row


def appeal_accept(*, actor: Any, appeal: Appeal | int, note: str = "") -> Appeal:
    """签收 / 报到: the handler accepts the dispatched case.

    A department that was whistled reports (报到) with this service too: its whistle row
    is marked reported; if another department already accepted, the report is recorded
    without a state change. Two handlers accepting at once: the row lock lets exactly one
    win; the other gets 409.
    """
    with transaction.atomic():
        row = _lock(appeal, actor)
        now = timezone.now()
        whistle = None
        if is_department_user(actor):
            whistle = (
                AppealWhistle.objects.select_for_update()
                .filter(appeal=row, department_id=actor.department_id, reported_at=None)
                .first()
            )
        if whistle is not None and row.status == Status.ACCEPTED:
            # A second whistled department reports while the case is already being handled.
            whistle.reported_at, whistle.reported_by = now, actor
            whistle.save(update_fields=["reported_at", "reported_by"])
            _record(
                row,
                actor=actor,
                action=Action.REPORT,
                from_status=row.status,
                note=note,
                data={"department": actor.department_id, "late": now > whistle.report_deadline},
            )
            return row
        _check_transition(row, Action.ACCEPT)
        if not is_handler(actor, row):
            raise PermissionDenied(_("该诉求未派遣给您或您的部门"))
        data: dict[str, Any] = {}
        if whistle is not None:
            whistle.reported_at, whistle.reported_by = now, actor
            whistle.save(update_fields=["reported_at", "reported_by"])
            row.assigned_department_id = actor.department_id
            row.assigned_level = Level.DEPARTMENT
            data = {
                "department": actor.department_id,
                "whistle_report": True,
                "late": now > whistle.report_deadline,
            }
        from_status = row.status
        row.status = Status.ACCEPTED
        row.assigned_user = actor
        if row.responded_at is None:
            row.responded_at = now
        row.save(
            update_fields=[
                "status",
                "assigned_user",
                "assigned_department",
                "assigned_level",
                "responded_at",
                "updated_at",
            ]
        )
        _record(
            row,
            actor=actor,
            action=Action.ACCEPT,
            from_status=from_status,
            note=note,
            data=data,
            at=now,
        )
    return row


def appeal_handle(
    *, actor: Any, appeal: Appeal | int, result: str, photos: Iterable[Any] = ()
) -> Appeal:
    """处置: the handler records the result (text and optional result photos).

    Tells the dispatcher the case awaits verification (回访).
    """
    cleaned = clean_photos(photos)
    with transaction.atomic():
        row = _lock(appeal, actor)
        _check_transition(row, Action.HANDLE)
        if not is_handler(actor, row):
            raise PermissionDenied(_("该诉求未派遣给您或您的部门"))
        result = _require_text(result, "result", _("办理结果"), MAX_DESCRIPTION)
        from_status = row.status
        row.status, row.result, row.handled_at = Status.HANDLED, result, timezone.now()
        row.save(update_fields=["status", "result", "handled_at", "updated_at"])
        _save_photos(row, cleaned, PhotoStage.RESULT)
        _record(
            row,
            actor=actor,
            action=Action.HANDLE,
            from_status=from_status,
            note=result,
            data={"photos": len(cleaned)},
        )
        # 回访 is never the handler's (appeal_verify): whoever sent the case on, else the
        # community's staff (a grid worker who took their own report sent it to themselves).
        verifiers = [u for u in dispatchers_of(row) if u.pk != actor.pk] or [
            u for u in _users_of_region(row.region) if u.pk != actor.pk
        ]
        notify.notify_users(
            users=verifiers,
            appeal=row,
            kind=NotificationKind.OTHER,
            text=Notice(
                gettext_noop("诉求 %(tracking_code)s 已处置，请回访"),
                {"tracking_code": row.tracking_code},
            ),
            dedupe=f"handled:{row.pk}:{row.events.count()}",
        )
    return row


def appeal_return(*, actor: Any, appeal: Appeal | int, reason: str) -> Appeal:
    """退单: the handler returns a wrong dispatch with a reason; back to the dispatcher.

    A whistled department that is not the lead declines only its own part instead (see
    ``_decline_whistle``): the case stays with the others."""
    with transaction.atomic():
        row = _lock(appeal, actor)
        _check_transition(row, Action.RETURN)
        if is_department_user(actor) and row.assigned_department_id != actor.department_id:
            whistle = (
                AppealWhistle.objects.select_for_update()
                .filter(appeal=row, department_id=actor.department_id)
                .first()
            )
            if whistle is not None and row.assigned_level == Level.DEPARTMENT:
                return _decline_whistle(actor=actor, row=row, whistle=whistle, reason=reason)
        if not is_handler(actor, row):
            raise PermissionDenied(_("该诉求未派遣给您或您的部门"))
        reason = _require_text(reason, "reason", _("退单理由"))
        data = {
            "level": row.assigned_level,
            "department": row.assigned_department_id,
            "region": row.assigned_region_id,
            "extension_lapsed": _lapse_pending_extension(row, timezone.now()),
        }
        dispatchers = dispatchers_of(row)
        from_status = row.status
        row.status = Status.RETURNED
        row.returned_count += 1
        row.assigned_level, row.assigned_region, row.assigned_department, row.assigned_user = (
            "",
            None,
            None,
            None,
        )
        row.save(
            update_fields=[
                "status",
                "returned_count",
                "assigned_level",
                "assigned_region",
                "assigned_department",
                "assigned_user",
                "updated_at",
            ]
        )
        _record(
            row, actor=actor, action=Action.RETURN, from_status=from_status, note=reason, data=data
        )
        notify.notify_users(
            users=dispatchers,
            appeal=row,
            kind=NotificationKind.RETURNED,
            text=Notice(
                gettext_noop("诉求 %(tracking_code)s 被退单：%(reason)s"),
                {"tracking_code": row.tracking_code, "reason": mask_text(reason)[:80]},
            ),
            dedupe=f"returned:{row.pk}:{row.returned_count}",
        )
    return row


def _decline_whistle(*, actor: Any, row: Appeal, whistle: AppealWhistle, reason: str) -> Appeal:
    """A whistled department (not the lead) declines: the state does not change. The decline
    is its answer to the whistle, so the whistle counts as reported in time (never flagged);
    the history row (退单, ``whistle_decline``) keeps the department out of the case from now
    on (``_whistled_handler``). The one who whistled is told. Runs in the caller's lock."""
    department_id = actor.department_id
    if _whistle_declined(row.pk, department_id):
        raise Conflict(_("本部门已退回该诉求"), field="status")
    reason = _require_text(reason, "reason", _("退单理由"))
    now = timezone.now()
    if whistle.reported_at is None:
        whistle.reported_at, whistle.reported_by = now, actor
        whistle.save(update_fields=["reported_at", "reported_by"])
    row.save(update_fields=["updated_at"])
    _record(
        row,
        actor=actor,
        action=Action.RETURN,
        from_status=row.status,
        note=reason,
        data={"department": department_id, "whistle_decline": True},
        at=now,
    )
    notify.notify_users(
        users=[u for u in [whistle.whistled_by] if u is not None],
        appeal=row,
        kind=NotificationKind.RETURNED,
        text=Notice(
            gettext_noop("%(department_name)s 退回吹哨诉求 %(tracking_code)s：%(reason)s"),
            {
                "department_name": whistle.department.name,
                "tracking_code": row.tracking_code,
                "reason": mask_text(reason)[:80],
            },
        ),
        dedupe=f"whistle_decline:{whistle.pk}",
    )
    return row


def appeal_verify(
    *,
    actor: Any,
    appeal: Appeal | int,
    rating: str,
    resolved: bool,
    comment: str = "",
    tracking_code: str | None = None,
    reporter_phone: str | None = None,
) -> Appeal:
    """回访/评价: the resident's satisfaction (满意/基本满意/不满意) and whether it is solved.

    By staff with APPEAL_VERIFY in jurisdiction (calling the resident back), or by the
    reporter themselves with their account, or with the tracking code and, where the case
    has a phone number on file, that number (``_is_reporter``). Separation of duties:
    whoever recorded the handling (the actor of the latest 处置 row, ``handled_by``) does
    not verify it (403), not even with the tracking code unless they are the reporter's own
    account; the community, the command centre or the reporter does. The reporter of a
    merged duplicate rates the joint case's handling on their own report (``_rate_merged``).
    """
    with transaction.atomic():
        row = _lock(appeal, actor, tracking_code=tracking_code)
        by_account = _authenticated(actor) and row.reporter_user_id == actor.pk
        if row.status == Status.MERGED and (by_account or not _is_staff(actor)):
            return _rate_merged(
                actor,
                row,
                rating=rating,
                resolved=resolved,
                comment=comment,
                tracking_code=tracking_code,
                reporter_phone=reporter_phone,
            )
        _check_transition(row, Action.VERIFY)
        by_reporter = _is_reporter(actor, row, tracking_code, reporter_phone)
        if not (
            by_reporter
            or (caps.has_cap(actor, caps.APPEAL_VERIFY) and in_scope(actor, row.region_path))
        ):
            _refuse_reporter(actor, row, tracking_code, reporter_phone)
        if not by_account and _authenticated(actor) and handled_by(row) == actor.pk:
            raise PermissionDenied(
                _("处置人不能回访自己办理的诉求，请由社区、指挥中心回访或由反映人凭查询码评价")
            )
        comment = _rating_input(rating, resolved, comment)
        from_status = row.status
        row.status, row.rating, row.resolved, row.rating_comment = (
            Status.VERIFIED,
            rating,
            bool(resolved),
            comment,
        )
        row.save(update_fields=["status", "rating", "resolved", "rating_comment", "updated_at"])
        _record(
            row,
            actor=actor,
            action=Action.VERIFY,
            from_status=from_status,
            note=comment,
            data={
                "rating": rating,
                "resolved": bool(resolved),
                "by_reporter": by_reporter,
            },
        )
    return row


def _rating_input(rating: str, resolved: bool | None, comment: str | None) -> str:
    """The comment of a rating, stripped and cut to its field; ValidationFailed naming
    ``rating`` or ``resolved`` when either is missing or unknown."""
    if rating not in Rating.values:
        raise ValidationFailed(_("请选择评价：满意、基本满意或不满意"), field="rating")
    if resolved is None:
        raise ValidationFailed(_("请选择问题是否解决"), field="resolved")
    return _no_nul((comment or "").strip(), "comment")[:255]


# The joint case's states in which it has an outcome that a merged reporter may rate.
_RATEABLE_JOINT = frozenset({Status.HANDLED, Status.VERIFIED, Status.CLOSED})


def _merged_rating_refusal(row: Appeal) -> str | None:
    """Why the reporter of the merged duplicate ``row`` may not rate now, or None: the joint
    case has no outcome yet, or they rated its latest handling already."""
    joint = Appeal.objects.only("status", "handled_at").filter(pk=row.duplicate_of_id).first()
    if joint is None or joint.status not in _RATEABLE_JOINT or joint.handled_at is None:
        return _("合并办理的诉求尚未办理完毕，办理完毕后才能评价")
    if AppealEvent.objects.filter(
        appeal=row, action=Action.RATE_MERGED, at__gte=joint.handled_at
    ).exists():
        return _("您已评价过本次办理结果")
    return None


def may_rate_merged(appeal: Appeal) -> bool:
    """May the reporter of ``appeal`` rate it as a merged duplicate now?"""
    return appeal.status == Status.MERGED and _merged_rating_refusal(appeal) is None


def may_rate(appeal: Appeal) -> bool:
    """May the reporter of ``appeal`` rate it now: their own case handled, or the case it
    was merged into (``may_rate_merged``)? What the tracking page and the API offer."""
    return appeal.status in TRANSITIONS[Action.VERIFY][0] or may_rate_merged(appeal)


def _rate_merged(
    actor: Any,
    row: Appeal,
    *,
    rating: str,
    resolved: bool | None,
    comment: str,
    tracking_code: str | None,
    reporter_phone: str | None,
) -> Appeal:
    """The reporter of a merged duplicate (``row``, locked) rates the joint case's handling.

    Kept on their own report (rating, resolved, comment) and in its history; staff see it
    beside the duplicates on the joint case. The joint case's own 回访 and the rates, which
    count it once, are unchanged. Once per handling: after the joint case is reworked and
    handled again, they may rate again (the earlier rating stays in the history)."""
    if not _is_reporter(actor, row, tracking_code, reporter_phone):
        _refuse_reporter(actor, row, tracking_code, reporter_phone)
    if refusal := _merged_rating_refusal(row):
        raise Conflict(refusal, field="status")
    comment = _rating_input(rating, resolved, comment)
    row.rating, row.resolved, row.rating_comment = rating, bool(resolved), comment
    row.save(update_fields=["rating", "resolved", "rating_comment", "updated_at"])
    _record(
        row,
        actor=actor,
        action=Action.RATE_MERGED,
        from_status=row.status,
        note=comment,
        data={"rating": rating, "resolved": bool(resolved), "by_reporter": True},
    )
    return row


def handled_by(appeal: Appeal | int) -> int | None:
    """The id of whoever recorded the latest handling (处置) of the case, if anyone."""
    return (
        AppealEvent.objects.filter(appeal_id=_get_appeal_id(appeal), action=Action.HANDLE)
        .order_by("-at", "-pk")
        .values_list("actor_id", flat=True)
        .first()
    )


def appeal_close(*, actor: Any, appeal: Appeal | int, note: str = "") -> Appeal:
    """结案: close a verified case; the reporter and every merged duplicate's reporter
    are told the outcome (inbox and SMS).

    A case the resident rated 不满意 goes back for rework (``appeal_reopen``) instead: 409
    naming ``rating``. Only someone with APPEAL_SUPERVISE in jurisdiction may close it as it
    is (审核办结), giving the reason (``note``, required then); the close row records
    ``closed_unsatisfied`` and the rates still count the case unsatisfied."""
    with transaction.atomic():
        row = _lock(appeal, actor)
        _require(actor, caps.APPEAL_VERIFY, caps.APPEAL_DISPATCH)
        _check_transition(row, Action.CLOSE)
        if not in_scope(actor, row.region_path):
            raise PermissionDenied(_("只有属地工作人员可以结案"))
        data: dict[str, Any] = {}
        if row.rating == Rating.UNSATISFIED:
            if not caps.has_cap(actor, caps.APPEAL_SUPERVISE):
                raise Conflict(
                    _("居民评价为不满意，不能直接结案，请退回返工（重新办理）"),
                    field="rating",
                )
            note = _require_text(note, "note", _("审核办结说明"), MAX_DESCRIPTION)
            data["closed_unsatisfied"] = True
        now = timezone.now()
        from_status = row.status
        row.status, row.closed_at = Status.CLOSED, now
        row.save(update_fields=["status", "closed_at", "updated_at"])
        _record(
            row,
            actor=actor,
            action=Action.CLOSE,
            from_status=from_status,
            note=note,
            data={
                "on_time": row.deadline is None or (row.handled_at or now) <= row.deadline,
                **data,
            },
            at=now,
        )
        _tell_outcome(row)
    return row


def _tell_outcome(row: Appeal) -> None:
    """The closed case's outcome to its reporter and every merged duplicate's reporter,
    once per closure (a reporter already told is not told again)."""
    _tell_reporters(
        row,
        kind=NotificationKind.OUTCOME,
        text=Notice(
            gettext_noop("您反映的问题已办结：%(result)s"), {"result": mask_text(row.result)[:80]}
        ),
        dedupe=f"outcome:{row.pk}:{row.reopened_count}",
    )


# How long after closure a reporter may still send a case back for rework (返工).
REPORTER_REOPEN_DAYS = 30


def reporter_may_reopen(appeal: Appeal, now: dt.datetime) -> bool:
    """May the reporter send the case back now (its state allows, and not long closed)?"""
    return appeal.status in TRANSITIONS[Action.REOPEN][0] and (
        appeal.closed_at is None
        or now - appeal.closed_at <= dt.timedelta(days=REPORTER_REOPEN_DAYS)
    )


def appeal_reopen(
    *,
    actor: Any,
    appeal: Appeal | int,
    reason: str,
    tracking_code: str | None = None,
    reporter_phone: str | None = None,
) -> Appeal:
    """返工: an unsatisfied resident's case goes back to its handler (counted in
    ``reopened_count``). By staff with APPEAL_VERIFY/APPEAL_DISPATCH, or the reporter (as in
    ``appeal_verify``): within ``REPORTER_REOPEN_DAYS`` of closure (later, the same problem
    is a new report).

    The rework is timed afresh: a new deadline from now with the category's time limit for
    the case's priority (``clock_started_at``), so the handler is reminded, and marked
    overdue, against the new one."""
    with transaction.atomic():
        row = _lock(appeal, actor, tracking_code=tracking_code)
        _check_transition(row, Action.REOPEN)
        by_reporter = _is_reporter(actor, row, tracking_code, reporter_phone)
        if by_reporter and not reporter_may_reopen(row, timezone.now()):
            raise Conflict(
                _("该诉求已结案超过 %(days)s 天，不能再返工；如问题再次出现，请重新反映")
                % {"days": REPORTER_REOPEN_DAYS},
                field="status",
            )
        if not (
            by_reporter
            or (
                (
                    caps.has_cap(actor, caps.APPEAL_VERIFY)
                    or caps.has_cap(actor, caps.APPEAL_DISPATCH)
                )
                and in_scope(actor, row.region_path)
            )
        ):
            _refuse_reporter(actor, row, tracking_code, reporter_phone)
        reason = _require_text(reason, "reason", _("返工理由"))
        from_status = row.status
        now = timezone.now()
        data = {
            "rating": row.rating,
            "resolved": row.resolved,
            "old_deadline": row.deadline.isoformat() if row.deadline else None,
        }
        row.status = Status.ACCEPTED
        row.reopened_count += 1
        row.rating, row.resolved, row.rating_comment, row.closed_at = "", None, "", None
        row.clock_started_at, row.overdue_at = now, None
        row.deadline = compute_deadline(category=row.category, priority=row.priority, start=now)
        data["deadline"] = row.deadline.isoformat()
        row.save(
            update_fields=[
                "status",
                "reopened_count",
                "rating",
                "resolved",
                "rating_comment",
                "closed_at",
                "clock_started_at",
                "deadline",
                "overdue_at",
                "updated_at",
            ]
        )
        _record(
            row,
            actor=actor,
            action=Action.REOPEN,
            from_status=from_status,
            note=reason,
            data=data,
            at=now,
        )
        notify.notify_users(
            users=handlers_of(row),
            appeal=row,
            kind=NotificationKind.OTHER,
            text=Notice(
                gettext_noop("诉求 %(tracking_code)s 返工：%(reason)s"),
                {"tracking_code": row.tracking_code, "reason": mask_text(reason)[:80]},
            ),
            dedupe=f"reopen:{row.pk}:{row.reopened_count}",
        )
    return row


def appeal_reject(*, actor: Any, appeal: Appeal | int, reason: str) -> Appeal:
    """不予受理: reject an invalid appeal with a reason. It is the outcome of every report
    merged into it too: its reporter and every merged duplicate's reporter are told the
    reason (inbox and/or SMS, each with their own tracking code)."""
    with transaction.atomic():
        row = _lock(appeal, actor)
        _require(actor, caps.APPEAL_TRIAGE, caps.APPEAL_DISPATCH)
        _check_transition(row, Action.REJECT)
        reason = _require_text(reason, "reason", _("不予受理理由"))
        from_status = row.status
        row.status, row.closed_at = Status.REJECTED, timezone.now()
        row.save(update_fields=["status", "closed_at", "updated_at"])
        _record(row, actor=actor, action=Action.REJECT, from_status=from_status, note=reason)
        _tell_reporters(
            row,
            kind=NotificationKind.OUTCOME,
            text=Notice(
                gettext_noop("您反映的问题不予受理：%(reason)s"), {"reason": mask_text(reason)[:80]}
            ),
            dedupe=f"reject:{row.pk}",
        )
    return row


def staff_may_not_withdraw(appeal: Appeal, now: dt.datetime) -> bool:
    """Overdue or supervised (督办): withdrawing would take the case out of the rates, so
    only its reporter may (``appeal_withdraw``)."""
    return bool(appeal.supervision_count) or (appeal.deadline is not None and appeal.deadline < now)


def has_merged_reports(appeal: Appeal | int) -> bool:
    """Have other residents' reports been merged into the case (``duplicate_of`` points at
    it)? One indexed look-up."""
    return Appeal.objects.filter(duplicate_of_id=_get_appeal_id(appeal)).exists()


def may_withdraw(appeal: Appeal) -> bool:
    """May the case be withdrawn at all (by its reporter, or by staff for them): its state
    allows it and no other report was merged into it (``appeal_withdraw``)."""
    return appeal.status in TRANSITIONS[Action.WITHDRAW][0] and not has_merged_reports(appeal)


def appeal_withdraw(
    *,
    actor: Any,
    appeal: Appeal | int,
    reason: str = "",
    tracking_code: str | None = None,
    reporter_phone: str | None = None,
) -> Appeal:
    """撤回: the reporter withdraws (with their account, or the tracking code and the phone
    number on file as in ``appeal_verify``), or staff with
    APPEAL_TRIAGE in jurisdiction record the reporter's withdrawal on their behalf: then the
    reason is required (field ``note``), the reporter is told (inbox/SMS, so a withdrawal
    they did not ask for comes to light), and a case that is overdue or under supervision
    (督办) is refused (409): a withdrawn case leaves the rates, so only the reporter may
    withdraw it then.

    A case into which other residents' reports were merged is never withdrawn, by its
    reporter or by staff (409, field ``status``): the others did not withdraw, and their
    matter would leave the loop and the rates unanswered."""
    with transaction.atomic():
        row = _lock(appeal, actor, tracking_code=tracking_code)
        _check_transition(row, Action.WITHDRAW)
        if has_merged_reports(row):
            raise Conflict(
                _("已有其他居民的反映合并到本诉求，不能撤回；如问题已不存在，请联系社区或热线说明"),
                field="status",
            )
        by_reporter = _is_reporter(actor, row, tracking_code, reporter_phone)
        if not (
            by_reporter
            or (caps.has_cap(actor, caps.APPEAL_TRIAGE) and in_scope(actor, row.region_path))
        ):
            _refuse_reporter(
                actor, row, tracking_code, reporter_phone, denied=_("只有反映人或受理人员可以撤回")
            )
        now = timezone.now()
        if by_reporter:
            reason = (reason or "").strip()[:500]
        else:
            if staff_may_not_withdraw(row, now):
                raise Conflict(
                    _("该诉求已超期或被督办，工作人员不能代为撤回；可由反映人凭查询码自行撤回"),
                    field="status",
                )
            reason = _require_text(reason, "note", _("撤回理由"))
        from_status = row.status
        row.status, row.closed_at = Status.WITHDRAWN, now
        row.save(update_fields=["status", "closed_at", "updated_at"])
        _record(row, actor=actor, action=Action.WITHDRAW, from_status=from_status, note=reason)
        if not by_reporter:
            _tell_reporters(
                row,
                kind=NotificationKind.OUTCOME,
                text=Notice(
                    gettext_noop(
                        "您反映的问题已由工作人员代为撤回，理由：%(reason)s；如有异议请联系社区"
                    ),
                    {"reason": mask_text(reason)[:80]},
                ),
                dedupe=f"withdraw:{row.pk}:reporter",
            )
        if from_status in (Status.DISPATCHED, Status.ACCEPTED):
            notify.notify_users(
                users=handlers_of(row),
                appeal=row,
                kind=NotificationKind.OTHER,
                text=Notice(
                    gettext_noop("诉求 %(tracking_code)s 已被反映人撤回"),
                    {"tracking_code": row.tracking_code},
                ),
                dedupe=f"withdraw:{row.pk}",
            )
    return row


def _lapse_pending_extension(row: Appeal, now: dt.datetime) -> int | None:
    """A pending 延期申请 lapses when the case leaves its requester's unit (退单, 上报, a
    new lead by 吹哨): it asked for more time for work that is no longer theirs. Returns the
    request's id (for the step's history row), or None."""
    request = ExtensionRequest.objects.filter(appeal=row, approved=None).first()
    if request is None:
        return None
    request.approved, request.decided_at, request.decided_by = False, now, None
    request.save(update_fields=["approved", "decided_at", "decided_by"])
    return request.pk


def appeal_extend_request(
    *, actor: Any, appeal: Appeal | int, working_days: int, reason: str
) -> Appeal:
    """延期申请: the handler asks for more working days (1–30); one pending request at a time."""
    with transaction.atomic():
        row = _lock(appeal, actor)
        _check_transition(row, Action.EXTEND_REQUEST)
        if not is_handler(actor, row):
            raise PermissionDenied(_("该诉求未派遣给您或您的部门"))
        if ExtensionRequest.objects.filter(appeal=row, approved=None).exists():
            raise Conflict(_("已有待审批的延期申请"), field="working_days")
        if not isinstance(working_days, int) or not 1 <= working_days <= 30:
            raise ValidationFailed(_("延长天数须在 1 到 30 个工作日之间"), field="working_days")
        reason = _require_text(reason, "reason", _("延期理由"))
        request = ExtensionRequest.objects.create(
            appeal=row,
            requested_by=actor,
            working_days=working_days,
            reason=reason,
            requested_at=timezone.now(),
        )
        row.save(update_fields=["updated_at"])
        _record(
            row,
            actor=actor,
            action=Action.EXTEND_REQUEST,
            from_status=row.status,
            note=reason,
            data={"request": request.pk, "working_days": working_days},
        )
        notify.notify_users(
            users=dispatchers_of(row),
            appeal=row,
            kind=NotificationKind.EXTENSION,
            text=Notice(
                gettext_noop("诉求 %(tracking_code)s 申请延期 %(working_days)s 个工作日"),
                {"tracking_code": row.tracking_code, "working_days": working_days},
            ),
            dedupe=f"extreq:{request.pk}",
        )
    return row


def appeal_extend_decide(
    *, actor: Any, appeal: Appeal | int, approve: bool, note: str = ""
) -> Appeal:
    """延期审批: approve (deadline moves by the requested working days) or refuse the
    pending request. Needs APPEAL_DISPATCH or APPEAL_SUPERVISE in jurisdiction, and someone
    other than the requester and the current handler (``assigned_user``): 403."""
    with transaction.atomic():
        row = _lock(appeal, actor)
        _require(actor, caps.APPEAL_DISPATCH, caps.APPEAL_SUPERVISE)
        _check_transition(row, Action.EXTEND_DECIDE)
        if not in_scope(actor, row.region_path):
            raise PermissionDenied(_("只有属地调度或督办人员可以审批延期"))
        request = (
            ExtensionRequest.objects.select_for_update()
            .filter(appeal=row, approved=None)
            .order_by("pk")
            .first()
        )
        if request is None:
            raise Conflict(_("没有待审批的延期申请"), field="approve")
        if actor.pk in (request.requested_by_id, row.assigned_user_id):
            # Separation of duties: the handler never approves their own extension.
            raise PermissionDenied(_("申请人或承办人不能审批本案的延期申请"))
        now = timezone.now()
        request.decided_by, request.decided_at, request.approved = actor, now, bool(approve)
        fields = ["updated_at"]
        if approve:
            request.old_deadline = row.deadline
            # Days granted on a case already past its limit count from the decision: the
            # handler asked for them, and the wait for approval does not use them up.
            base = max(row.deadline, now) if row.deadline else now
            row.deadline = workdays.add_working_days(base, request.working_days)
            request.new_deadline = row.deadline
            row.extension_count += 1
            fields += ["deadline", "extension_count"]
            if row.overdue_at and row.deadline > now:
                row.overdue_at = None
                fields.append("overdue_at")
        request.save(
            update_fields=["decided_by", "decided_at", "approved", "old_deadline", "new_deadline"]
        )
        row.save(update_fields=fields)
        _record(
            row,
            actor=actor,
            action=Action.EXTEND_DECIDE,
            from_status=row.status,
            note=note,
            data={
                "request": request.pk,
                "approved": bool(approve),
                "deadline": row.deadline.isoformat() if row.deadline else None,
            },
            at=now,
        )
        message = (
            gettext_noop("诉求 %(tracking_code)s 的延期申请已批准")
            if approve
            else gettext_noop("诉求 %(tracking_code)s 的延期申请未批准")
        )
        notify.notify_users(
            users=[request.requested_by],
            appeal=row,
            kind=NotificationKind.EXTENSION,
            text=Notice(message, {"tracking_code": row.tracking_code}),
            dedupe=f"extdec:{request.pk}",
        )
    return row


def appeal_supervise(*, actor: Any, appeal: Appeal | int, note: str) -> Appeal:
    """督办: a supervision order on a slow or overdue case; the handler is told."""
    with transaction.atomic():
        row = _lock(appeal, actor)
        _require(actor, caps.APPEAL_SUPERVISE)
        _check_transition(row, Action.SUPERVISE)
        note = _require_text(note, "note", _("督办意见"))
        row.supervision_count += 1
        row.save(update_fields=["supervision_count", "updated_at"])
        _record(
            row,
            actor=actor,
            action=Action.SUPERVISE,
            from_status=row.status,
            note=note,
            data={"count": row.supervision_count},
        )
        notify.notify_users(
            users=handlers_of(row) or dispatchers_of(row),
            appeal=row,
            kind=NotificationKind.SUPERVISED,
            text=Notice(
                gettext_noop("诉求 %(tracking_code)s 被督办：%(note)s"),
                {"tracking_code": row.tracking_code, "note": mask_text(note)[:80]},
            ),
            dedupe=f"supervise:{row.pk}:{row.supervision_count}",
        )
    return row


def _current_level(row: Appeal) -> tuple[str, Region | None]:
    if row.assigned_level:
        return row.assigned_level, row.assigned_region
    if row.grid_id:
        return Level.GRID, row.grid.region
    kind = row.region.kind
    if kind == RegionKind.COMMUNITY:
        return Level.COMMUNITY, row.region
    if kind in (RegionKind.STREET, RegionKind.TOWNSHIP):
        return Level.STREET, row.region
    return "", None


def appeal_escalate(*, actor: Any, appeal: Appeal | int, reason: str) -> Appeal:
    """上报 (escalation ladder): grid → its community → the street. A street cannot go
    higher (it whistles departments instead); a department returns rather than escalates.
    Needs to be the current handler or hold APPEAL_DISPATCH in jurisdiction."""
    with transaction.atomic():
        row = _lock(appeal, actor)
        _check_transition(row, Action.ESCALATE)
        level, region = _current_level(row)
        if not (
            is_handler(actor, row)
            or (
                caps.has_cap(actor, caps.APPEAL_DISPATCH)
                and region is not None
                and in_scope(actor, region.path)
            )
        ):
            raise PermissionDenied(_("只有当前承办单位可以上报"))
        reason = _require_text(reason, "reason", _("上报理由"))
        if level == Level.GRID:
            new_level, new_region = Level.COMMUNITY, region
        elif level == Level.COMMUNITY and region is not None and region.parent_id:
            new_level, new_region = Level.STREET, region.parent
        elif level == Level.STREET:
            raise Conflict(_("街道已是最高承办层级，请吹哨相关部门"), field="level")
        else:
            raise Conflict(_("部门承办的诉求不能上报，请退单"), field="level")
        from_status = row.status
        row.status = Status.DISPATCHED
        row.assigned_level, row.assigned_region = new_level, new_region
        row.assigned_department, row.assigned_user = None, None
        row.save(
            update_fields=[
                "status",
                "assigned_level",
                "assigned_region",
                "assigned_department",
                "assigned_user",
                "updated_at",
            ]
        )
        _record(
            row,
            actor=actor,
            action=Action.ESCALATE,
            from_status=from_status,
            note=reason,
            data={
                "from_level": level,
                "to_level": new_level,
                "region": new_region.pk,
                "region_name": new_region.name,
                "extension_lapsed": _lapse_pending_extension(row, timezone.now()),
            },
        )
        notify.notify_users(
            users=handlers_of(row),
            appeal=row,
            kind=NotificationKind.DISPATCHED,
            text=Notice(
                gettext_noop("诉求 %(tracking_code)s 上报至%(new_region_name)s：%(reason)s"),
                {
                    "tracking_code": row.tracking_code,
                    "new_region_name": new_region.name,
                    "reason": mask_text(reason)[:60],
                },
            ),
            dedupe=f"escalate:{row.pk}:{row.events.count()}",
        )
    return row


def appeal_whistle(
    *, actor: Any, appeal: Appeal | int, departments: Iterable[Department], note: str = ""
) -> Appeal:
    """吹哨: a community or street calls one or more departments; each must report (报到,
    i.e. ``appeal_accept``) within the district's report limit (working hours) or the
    periodic job flags it. Needs APPEAL_DISPATCH and a community/street (or wider) scope."""
    with transaction.atomic():
        row = _lock(appeal, actor)
        _require(actor, caps.APPEAL_DISPATCH)
        _check_transition(row, Action.WHISTLE)
        scope = getattr(actor, "scope_region", None)
        if not actor.is_superuser and (
            scope is None
            or scope.kind
            not in (
                RegionKind.COMMUNITY,
                RegionKind.STREET,
                RegionKind.TOWNSHIP,
                RegionKind.DISTRICT,
            )
        ):
            raise PermissionDenied(_("只有社区或街道可以吹哨"))
        depts = list({d.pk: d for d in departments}.values())
        if not depts:
            raise ValidationFailed(_("请选择至少一个部门"), field="departments")
        for dept in depts:
            if dept.district_id != row.district_id or not dept.is_active:
                raise ValidationFailed(
                    _("部门「%(dept_name)s」无效") % {"dept_name": dept.name}, field="departments"
                )
        already = set(
            AppealWhistle.objects.filter(appeal=row).values_list("department_id", flat=True)
        )
        new = [d for d in depts if d.pk not in already]
        if not new:
            raise ValidationFailed(_("所选部门均已吹哨"), field="departments")
        now = timezone.now()
        settings_row = rate_settings_for(row.district_id)
        report_deadline = workdays.add_working_hours(now, settings_row.whistle_report_hours)
        AppealWhistle.objects.bulk_create(
            [
                AppealWhistle(
                    appeal=row,
                    department=d,
                    whistled_by=actor,
                    whistled_at=now,
                    report_deadline=report_deadline,
                )
                for d in new
            ]
        )
        from_status = row.status
        # A department already leading keeps the lead (and its pending extension request).
        new_lead = row.assigned_level != Level.DEPARTMENT or row.assigned_department_id is None
        lapsed = _lapse_pending_extension(row, now) if new_lead else None
        row.status = Status.DISPATCHED
        row.assigned_level = Level.DEPARTMENT
        row.assigned_department = (
            new[0] if row.assigned_department_id is None else (row.assigned_department)
        )
        row.assigned_user = None
        row.save(
            update_fields=[
                "status",
                "assigned_level",
                "assigned_department",
                "assigned_user",
                "updated_at",
            ]
        )
        _record(
            row,
            actor=actor,
            action=Action.WHISTLE,
            from_status=from_status,
            note=note,
            data={
                "departments": [d.pk for d in new],
                "department_names": [d.name for d in new],
                "report_deadline": report_deadline.isoformat(),
                "extension_lapsed": lapsed,
            },
            at=now,
        )
        for dept in new:
            notify.notify_users(
                users=_users_of_department(dept.pk),
                appeal=row,
                kind=NotificationKind.WHISTLED,
                text=Notice(
                    gettext_noop("吹哨：诉求 %(tracking_code)s 请于 %(report_deadline)s 前报到"),
                    {
                        "tracking_code": row.tracking_code,
                        "report_deadline": format(
                            timezone.localtime(report_deadline), "%m-%d %H:%M"
                        ),
                    },
                ),
                dedupe=f"whistle:{row.pk}:d{dept.pk}",
            )
    return row


def appeal_merge(
    *, actor: Any, appeal: Appeal | int, duplicates: Iterable[Appeal | int], note: str = ""
) -> Appeal:
    """合并: fold duplicates into ``appeal`` (the primary). Each duplicate becomes ``merged``
    with ``duplicate_of`` set (its own duplicates move along); their reporters get the
    primary's outcome (at once if it is already closed); rates count the primary only.
    Needs APPEAL_DISPATCH."""
    primary_id = _get_appeal_id(appeal)
    dup_ids = sorted({_get_appeal_id(d) for d in duplicates})
    if any(valid_pk(pk) is None for pk in [primary_id, *dup_ids]):
        raise NotFound(_("诉求不存在"))
    if not dup_ids:
        raise ValidationFailed(_("请选择要合并的重复件"), field="duplicates")
    if primary_id in dup_ids:
        raise ValidationFailed(_("不能把诉求合并到自身"), field="duplicates")
    with transaction.atomic():
        # Lock in id order so two merges never deadlock.
        locked = {pk: _lock(pk, actor) for pk in sorted([primary_id, *dup_ids])}
        primary = locked[primary_id]
        if primary.status in FINAL_STATUSES and primary.status != Status.CLOSED:
            raise Conflict(
                _("主件状态为「%(status_label)s」，不能接收合并")
                % {"status_label": Status(primary.status).label},
                field="appeal",
            )
        for pk in dup_ids:
            _check_transition(locked[pk], Action.MERGE)
        _require(actor, caps.APPEAL_DISPATCH)
        for pk in dup_ids:
            if locked[pk].district_id != primary.district_id:
                raise ValidationFailed(_("只能合并同一区县的诉求"), field="duplicates")
        for pk in dup_ids:
            dup = locked[pk]
            from_status = dup.status
            dup.status, dup.duplicate_of = Status.MERGED, primary
            dup.save(update_fields=["status", "duplicate_of", "updated_at"])
            Appeal.objects.filter(duplicate_of=dup).update(duplicate_of=primary)
            _record(
                dup,
                actor=actor,
                action=Action.MERGE,
                from_status=from_status,
                note=note,
                data={"into": primary.pk, "into_code": primary.tracking_code},
            )
        primary.save(update_fields=["updated_at"])
        _record(
            primary,
            actor=actor,
            action=Action.MERGE_RECEIVE,
            from_status=primary.status,
            note=note,
            data={"duplicates": dup_ids},
        )
        if primary.status == Status.CLOSED:
            # Already settled: the duplicates' reporters hear its outcome now.
            _tell_outcome(primary)
    return primary


def appeal_add_photos(
    *,
    actor: Any,
    appeal: Appeal | int,
    photos: Iterable[Any],
    stage: str = PhotoStage.INTAKE,
    tracking_code: str | None = None,
) -> Appeal:
    """Attach photos to an open appeal: intake photos by intake staff in jurisdiction or the
    reporter (tracking code); result photos by the current handler while accepted/handled.
    Photos are checked and stripped of metadata (see ``photos.clean_photo``); at most
    ``MAX_PHOTOS`` per stage. Not a transition: one audit row, no history row."""
    from gridgov.appeals.photos import MAX_PHOTOS

    if stage not in PhotoStage.values:
        raise ValidationFailed(_("照片阶段无效"), field="stage")
    cleaned = clean_photos(photos)
    if not cleaned:
        raise ValidationFailed(_("请选择照片"), field="photos")
    with transaction.atomic():
        row = _lock(appeal, actor, tracking_code=tracking_code)
        if row.status in FINAL_STATUSES:
            raise Conflict(
                _("诉求当前状态为「%(status)s」，不能再上传照片")
                % {"status": Status(row.status).label},
                field="status",
            )
        if stage == PhotoStage.INTAKE:
            if not (
                _is_reporter(actor, row, tracking_code, phone_checked=False)
                or (caps.has_cap(actor, caps.APPEAL_INTAKE) and in_scope(actor, row.region_path))
            ):
                raise PermissionDenied(_("您没有执行此操作的权限"))
        else:
            if row.status not in (Status.ACCEPTED, Status.HANDLED):
                raise Conflict(_("办理中或已处置的诉求才能上传处置照片"), field="status")
            if not is_handler(actor, row):
                raise PermissionDenied(_("该诉求未派遣给您或您的部门"))
        existing = AppealPhoto.objects.filter(appeal=row, stage=stage).count()
        if existing + len(cleaned) > MAX_PHOTOS:
            raise ValidationFailed(
                _("照片最多 %(count)s 张") % {"count": MAX_PHOTOS}, field="photos"
            )
        _save_photos(row, cleaned, stage)
        row.save(update_fields=["updated_at"])
        audit(
            actor=actor,
            action="appeal.add_photos",
            target=row,
            region_path=row.region_path,
            data={"stage": stage, "count": len(cleaned)},
        )
    return row


def notification_mark_read(*, actor: Any, ids: Iterable[int] | None = None) -> int:
    """Mark the actor's own inbox rows read (all unread ones when ``ids`` is None);
    returns how many changed. Other users' rows are never touched."""
    from gridgov.appeals.models import Notification

    if not _authenticated(actor):
        raise PermissionDenied(_("请先登录"))
    qs = Notification.objects.filter(user=actor, read_at=None)
    if ids is not None:
        qs = qs.filter(pk__in=[pk for pk in ids if valid_pk(pk) is not None])
    return qs.update(read_at=timezone.now())


# ---------------------------------------------------------------- periodic checks


def appeals_mark_overdue(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Mark cases past their deadline whose clock still runs (not yet handled: see
    ``CLOCK_STATUSES``; one ``overdue`` event each, once) and tell the supervisors. Idempotent: a case already marked is skipped, so each run marks the next
    ``limit`` (longest overdue first) and a larger backlog drains over the following runs."""
    now = now or timezone.now()
    ids = list(
        Appeal.objects.filter(status__in=sorted(CLOCK_STATUSES), deadline__lt=now, overdue_at=None)
        .order_by("deadline", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    count = 0
    # Supervisors are told once per run, whatever the number of cases (see _tell_supervisors).
    supervised: dict[int, tuple[User, list[Appeal]]] = {}
    for pk in ids:
        with transaction.atomic():
            row = Appeal.objects.select_for_update().filter(pk=pk, overdue_at=None).first()
            if (
                row is None
                or row.status not in CLOCK_STATUSES
                or row.deadline is None
                or row.deadline >= now
            ):
                continue
            row.overdue_at = now
            row.save(update_fields=["overdue_at", "updated_at"])
            _record(
                row,
                actor=None,
                action=Action.OVERDUE,
                from_status=row.status,
                at=now,
                data={"deadline": row.deadline.isoformat()},
            )
            # The handlers are asked to deal with it, one message per case.
            notify.notify_users(
                users=handlers_of(row),
                appeal=row,
                kind=NotificationKind.OVERDUE,
                text=Notice(
                    gettext_noop("诉求 %(tracking_code)s 已超期，请尽快办理"),
                    {"tracking_code": row.tracking_code},
                ),
                dedupe=_overdue_key(row),
            )
            for user in supervisors_of(row):
                supervised.setdefault(user.pk, (user, []))[1].append(row)
            count += 1
    _tell_supervisors(supervised.values(), now)
    return count


def _overdue_key(row: Appeal) -> str:
    return f"overdue:{row.pk}:{row.deadline.isoformat() if row.deadline else ''}"


# Tracking codes named in a supervisor's overdue digest; the supervision page lists them all.
DIGEST_CODES = 5


def _tell_supervisors(supervised: Iterable[tuple[User, list[Appeal]]], now: dt.datetime) -> None:
    """Ask each supervisor to supervise the cases a run marked overdue in their reach: one
    message for one case (with its link), one digest for several (the count and the first
    codes; the inbox links it to the supervision page), so a backlog after a holiday is one
    message and one e-mail, not hundreds. A supervisor who also handles a case was told
    as its handler (the per-case key is per user: the first message stands)."""
    for user, rows in supervised:
        if len(rows) == 1:
            row = rows[0]
            notify.notify_users(
                users=[user],
                appeal=row,
                kind=NotificationKind.OVERDUE,
                text=Notice(
                    gettext_noop("诉求 %(tracking_code)s 已超期，请督办"),
                    {"tracking_code": row.tracking_code},
                ),
                dedupe=_overdue_key(row),
            )
            continue
        codes = "、".join(r.tracking_code for r in rows[:DIGEST_CODES])
        notify.notify_users(
            users=[user],
            appeal=None,
            kind=NotificationKind.OVERDUE,
            text=Notice(
                gettext_noop("%(count)s 件诉求已超期，请督办：%(codes)s")
                if len(rows) <= DIGEST_CODES
                else gettext_noop("%(count)s 件诉求已超期，请督办：%(codes)s 等"),
                {"count": len(rows), "codes": codes},
            ),
            dedupe=f"overdue-digest:{now.isoformat()}:{rows[0].pk}",
        )


def _active(users: list[User]) -> list[User]:
    return [u for u in users if u is not None and u.is_active]


def appeals_remind_due(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Remind handlers of cases near their deadline (one day / 20 % before), once per
    case and deadline (an approved extension earns a new reminder).

    One query picks the cases due now and not yet reminded for their current deadline,
    nearest deadline first, so each run works through the next ``limit`` of them and a
    backlog larger than ``limit`` drains over the following runs. A case is reminded when
    it is due (``reminder_due_at``: the later of 80 % of its time, i.e. ``amber_at``, and one
    day before the deadline); it has been reminded for its current deadline when it has a
    到期提醒 row written since then (an extension moves the deadline by at least a day, so
    a reminder for the old deadline is always earlier). A case nobody can be told about
    gets the row too (with no users), so it does not come back every run."""
    from gridgov.appeals.deadlines import reminder_due_at

    # "80 % of the time used" is the stored amber_at: deadlines.REMIND_SHARE equals
    # models.AMBER_SHARE (tests/test_review_loop.py holds them equal).
    now = now or timezone.now()
    reminded = AppealEvent.objects.filter(
        appeal_id=OuterRef("pk"),
        action=Action.REMIND,
        at__gte=OuterRef("amber_at"),
    ).filter(at__gte=OuterRef("deadline") - dt.timedelta(days=1))
    qs = (
        Appeal.objects.filter(
            status__in=[Status.DISPATCHED, Status.ACCEPTED, Status.REGISTERED],
            deadline__gt=now,
            deadline__lte=now + dt.timedelta(days=1),
            amber_at__lte=now,
        )
        .exclude(Exists(reminded))
        .select_related("assigned_user", "assigned_region", "grid__owner")
        .order_by("deadline", "pk")[:limit]
    )
    count = 0
    for row in qs:
        due = reminder_due_at(row)
        if due is None or due > now:
            continue
        key = f"remind:{row.pk}:{row.deadline.isoformat()}"
        with transaction.atomic():
            users = _active(handlers_of(row)) or _active(dispatchers_of(row))
            made = notify.notify_users(
                users=users,
                appeal=row,
                kind=NotificationKind.REMINDER,
                text=Notice(
                    gettext_noop("诉求 %(tracking_code)s 将于 %(deadline)s 到期，请抓紧办理"),
                    {
                        "tracking_code": row.tracking_code,
                        "deadline": format(timezone.localtime(row.deadline), "%m-%d %H:%M"),
                    },
                ),
                dedupe=key,
            )
            # Nothing made for users there are: another run reminded them just now.
            if made or not users:
                _record(
                    row,
                    actor=None,
                    action=Action.REMIND,
                    from_status=row.status,
                    at=now,
                    data={"deadline": row.deadline.isoformat(), "users": [n.user_id for n in made]},
                )
                count += 1 if made else 0
    return count


def appeals_flag_late_whistles(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Flag whistled departments that did not report in time (once each; a flagged one is
    not read again, so each run flags the next ``limit``, oldest report deadline first)."""
    now = now or timezone.now()
    rows = list(
        AppealWhistle.objects.filter(reported_at=None, flagged_at=None, report_deadline__lt=now)
        .select_related("appeal", "department")
        .order_by("report_deadline", "pk")[:limit]
    )
    count = 0
    for whistle in rows:
        with transaction.atomic():
            updated = AppealWhistle.objects.filter(pk=whistle.pk, flagged_at=None).update(
                flagged_at=now
            )
            if not updated:
                continue
            appeal = whistle.appeal
            _record(
                appeal,
                actor=None,
                action=Action.WHISTLE_FLAG,
                from_status=appeal.status,
                at=now,
                data={
                    "department": whistle.department_id,
                    "department_name": whistle.department.name,
                },
            )
            users = [whistle.whistled_by, *supervisors_of(appeal)]
            notify.notify_users(
                users=users,
                appeal=appeal,
                kind=NotificationKind.WHISTLE_LATE,
                text=Notice(
                    gettext_noop("%(department_name)s 未按时报到（诉求 %(tracking_code)s）"),
                    {
                        "department_name": whistle.department.name,
                        "tracking_code": appeal.tracking_code,
                    },
                ),
                dedupe=f"whistle_late:{whistle.pk}",
            )
            count += 1
    return count


def appeals_tick(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The periodic job: overdue marks, reminders, late whistles, outbox retries."""
    now = now or timezone.now()
    return {
        "overdue": appeals_mark_overdue(now=now),
        "reminded": appeals_remind_due(now=now),
        "late_whistles": appeals_flag_late_whistles(now=now),
        "sent": notify.deliver_due(now=now),
    }


# ---------------------------------------------------------------- configuration

# (code, name, default priority, children: [(code, name, default priority, extra_fields)])
_LIFT_FIELDS = [
    {
        "code": "building",
        "datatype": "string",
        "required": False,
        "description": "楼栋号",
        "order": 1,
        "values": [],
    },
    {
        "code": "trapped",
        "datatype": "singlevaluelist",
        "required": True,
        "description": "是否有人被困",
        "order": 2,
        "values": [{"key": "yes", "name": "有人被困"}, {"key": "no", "name": "无人被困"}],
    },
]
_UTILITY_FIELDS = [
    {
        "code": "utility",
        "datatype": "singlevaluelist",
        "required": True,
        "description": "类型",
        "order": 1,
        "values": [
            {"key": "water", "name": "供水"},
            {"key": "power", "name": "供电"},
            {"key": "gas", "name": "燃气"},
            {"key": "heat", "name": "供暖"},
        ],
    },
]
DEFAULT_TAXONOMY: list[tuple[str, str, str, list[tuple[str, str, str, list]]]] = [
    (
        "city",
        "市容环境",
        Priority.NORMAL,
        [
            ("city.sanitation", "环境卫生", Priority.NORMAL, []),
            ("city.vending", "占道经营", Priority.NORMAL, []),
            ("city.greening", "绿化养护", Priority.NORMAL, []),
            ("city.noise", "噪音扰民", Priority.NORMAL, []),
            ("city.waste", "垃圾分类", Priority.NORMAL, []),
        ],
    ),
    (
        "facility",
        "设施维护",
        Priority.NORMAL,
        [
            ("facility.utilities", "水电气暖", Priority.NORMAL, _UTILITY_FIELDS),
            ("facility.lift", "电梯故障", Priority.NORMAL, _LIFT_FIELDS),
            ("facility.road", "道路井盖", Priority.NORMAL, []),
            ("facility.light", "路灯照明", Priority.NORMAL, []),
            ("facility.sewer", "下水管道", Priority.NORMAL, []),
        ],
    ),
    (
        "property",
        "物业管理",
        Priority.NORMAL,
        [
            ("property.service", "物业服务", Priority.NORMAL, []),
            ("property.parking", "停车管理", Priority.NORMAL, []),
            ("property.fund", "维修资金", Priority.COMPLEX, []),
        ],
    ),
    (
        "building",
        "违法建设",
        Priority.NORMAL,
        [
            ("building.illegal", "私搭乱建", Priority.NORMAL, []),
            ("building.renovation", "违规装修", Priority.NORMAL, []),
        ],
    ),
    (
        "safety",
        "安全隐患",
        Priority.URGENT,
        [
            ("safety.fire", "消防安全", Priority.URGENT, []),
            ("safety.house", "房屋安全", Priority.URGENT, []),
            ("safety.gas", "燃气安全", Priority.URGENT, []),
        ],
    ),
    (
        "neighbour",
        "邻里纠纷",
        Priority.NORMAL,
        [
            ("neighbour.adjacent", "相邻关系", Priority.NORMAL, []),
            ("neighbour.family", "家庭矛盾", Priority.NORMAL, []),
        ],
    ),
    (
        "livelihood",
        "民生服务",
        Priority.NORMAL,
        [
            ("livelihood.elderly", "养老助残", Priority.NORMAL, []),
            ("livelihood.social", "就业社保", Priority.NORMAL, []),
            ("livelihood.health", "医疗卫生", Priority.NORMAL, []),
            ("livelihood.school", "教育入学", Priority.NORMAL, []),
        ],
    ),
    (
        "policy",
        "政策咨询",
        Priority.NORMAL,
        [
            ("policy.consult", "政策咨询", Priority.NORMAL, []),
        ],
    ),
    (
        "other",
        "其他",
        Priority.NORMAL,
        [
            ("other.other", "其他诉求", Priority.NORMAL, []),
        ],
    ),
]
# Groups whose cases are not shown in public (Open311): family and neighbour quarrels.
PRIVATE_GROUPS = frozenset({"neighbour"})
# Time limits per top-level category; utilities override "normal" with 24 h.
DEFAULT_LIMIT_ROWS = [
    (Priority.URGENT, 2, TimeUnit.CALENDAR_HOURS),
    (Priority.NORMAL, 7, TimeUnit.WORKING_DAYS),
    (Priority.COMPLEX, 15, TimeUnit.WORKING_DAYS),
]
UTILITY_LIMIT = (Priority.NORMAL, 24, TimeUnit.CALENDAR_HOURS)


def seed_default_categories(*, district: Region, actor: Any = None) -> list[Category]:
    """Create the default two-level taxonomy and its time limits for ``district``.

    Idempotent: existing categories and limit rows (perhaps edited) are left as they are.
    """
    made: list[Category] = []
    with transaction.atomic():
        for order, (code, name, prio, children) in enumerate(DEFAULT_TAXONOMY):
            top, _created = Category.objects.get_or_create(
                district=district,
                code=code,
                defaults={
                    "name": name,
                    "default_priority": prio,
                    "order": order,
                    "is_public": code not in PRIVATE_GROUPS,
                },
            )
            made.append(top)
            for priority, amount, unit in DEFAULT_LIMIT_ROWS:
                TimeLimit.objects.get_or_create(
                    category=top, priority=priority, defaults={"amount": amount, "unit": unit}
                )
            for child_order, (ccode, cname, cprio, fields) in enumerate(children):
                child, _created = Category.objects.get_or_create(
                    district=district,
                    code=ccode,
                    defaults={
                        "name": cname,
                        "parent": top,
                        "default_priority": cprio,
                        "order": child_order,
                        "extra_fields": fields,
                    },
                )
                made.append(child)
                if ccode == "facility.utilities":
                    priority, amount, unit = UTILITY_LIMIT
                    TimeLimit.objects.get_or_create(
                        category=child, priority=priority, defaults={"amount": amount, "unit": unit}
                    )
        audit(
            actor=actor,
            action="appeal.seed_categories",
            target=district,
            region_path=district.path,
            data={"categories": len(made)},
        )
    return made
