"""GeoReport v2 endpoints under /open311/v2/ (JSON and XML).

Thin views: parse, call the selector or the appeals intake service, render. Every
failure answers the spec's error list (errors/error with code and description) with
400, 403, 404 or 429 — never a 500 for bad input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from gridgov.core.errors import DomainError, ValidationFailed
from gridgov.core.idempotency import idempotency_key
from gridgov.core.middleware import DomainErrorMiddleware, nul_parameter
from gridgov.core.ratelimit import TooManyRequests, check_rate
from gridgov.open311 import selectors
from gridgov.open311.formats import render, render_errors
from gridgov.open311.models import ApiKey
from gridgov.open311.services import apikey_authenticate

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-23T00:00:00+08:00"
# The spec allows 4,000 characters; an appeal holds 2,000 (appeals.services.MAX_DESCRIPTION).
MAX_DESCRIPTION = 2000
RATE_SCOPE = "open311_post"


class Open311Error(Exception):
    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = headers or {}


# The appeals intake names its own fields; an Open311 client knows the spec's parameters.
SPEC_PARAMETERS = {
    "reporter_phone": "phone",
    "reporter_name": "first_name/last_name",
    "latitude": "lat",
    "longitude": "long",
    "location": "lat/long",
    "region": "lat/long",
    "address": "address_string",
    "category": "service_code",
    "photos": "media",
    "idempotency_key": "Idempotency-Key",
}


def _error_for(exc: DomainError) -> Open311Error:
    status = exc.status if exc.status in (400, 403, 404, 429) else 400
    text = str(exc.message)
    field = SPEC_PARAMETERS.get(exc.field or "", exc.field)
    if field and field not in text:
        text = f"{field}: {text}"
    return Open311Error(
        status,
        text,
        {"Retry-After": str(exc.retry_after)} if getattr(exc, "retry_after", None) else None,
    )


def open311_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn Open311Error and DomainError into the spec's error list in the asked format."""

    def wrapped(request: HttpRequest, *args: Any, fmt: str, **kwargs: Any) -> HttpResponse:
        try:
            nul = nul_parameter(request)
            if nul is not None:
                raise ValidationFailed(DomainErrorMiddleware.NUL_IN_QUERY, field=nul)
            response = view(request, *args, fmt=fmt, **kwargs)
        except DomainError as exc:
            err = _error_for(exc)
        except Open311Error as exc:
            err = exc
        except (SuspiciousOperation, BadRequest, MultiPartParserError, UnicodeDecodeError):
            # Django refuses to read the request (too many parameters, a multipart body
            # without a boundary, text not in its charset): the spec's 400, not a page.
            err = Open311Error(400, _("请求无法读取：参数过多或格式不对"))
        else:
            if response.status_code != 405:
                return response
            err = Open311Error(405, _("不支持该请求方法"), {"Allow": response["Allow"]})
        return render_errors(fmt, err.status, err.description, headers=err.headers)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return csrf_exempt(wrapped)


def _params(request: HttpRequest) -> QueryDict:
    return request.POST if request.method == "POST" else request.GET


def _district(request: HttpRequest) -> str:
    """The deployment's district code; a jurisdiction_id naming another one is a 404."""
    jurisdiction = _params(request).get("jurisdiction_id", "").strip()
    code = settings.GRIDGOV_DISTRICT_CODE
    if jurisdiction and jurisdiction != code:
        raise Open311Error(404, _("jurisdiction_id 不存在: %(value)s") % {"value": jurisdiction})
    return code


def _api_key(request: HttpRequest) -> ApiKey | None:
    """The client's key, or None when it sent none; a key that is unknown or revoked is
    refused on every method (403), so a client learns at once that its key is wrong."""
    clear = _params(request).get("api_key") or request.headers.get("X-API-Key", "")
    clear = clear.strip()
    if not clear:
        return None
    key = apikey_authenticate(clear)
    if key is None:
        raise Open311Error(403, _("api_key 无效或已吊销"))
    return key


def _scope_path(key: ApiKey | None) -> str | None:
    if key is None:
        return None
    region = key.user.scope_region
    return region.path if region is not None else None


# --- discovery and services ---------------------------------------------------------


@open311_view
@require_http_methods(["GET", "HEAD"])
def discovery(request: HttpRequest, *, fmt: str) -> HttpResponse:
    _api_key(request)
    base = request.build_absolute_uri("/open311/v2/")
    data = {
        "changeset": CHANGESET,
        "contact": getattr(settings, "DEFAULT_FROM_EMAIL", ""),
        "key_service": _("由区指挥中心发放 API 密钥"),
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": base.rstrip("/"),
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", data)


@open311_view
@require_http_methods(["GET", "HEAD"])
def service_list(request: HttpRequest, *, fmt: str) -> HttpResponse:
    district = _district(request)
    _api_key(request)
    data = [selectors.service_as_open311(c) for c in selectors.service_list(district_code=district)]
    return render(fmt, "services", data)


@open311_view
@require_http_methods(["GET", "HEAD"])
def service_definition(request: HttpRequest, code: str, *, fmt: str) -> HttpResponse:
    district = _district(request)
    _api_key(request)
    category = selectors.service_get(district_code=district, code=code)
    if category is None:
        raise Open311Error(404, _("service_code 不存在: %(value)s") % {"value": code})
    return render(fmt, "service_definition", selectors.service_definition(category))


# --- service requests ---------------------------------------------------------------


@open311_view
@require_http_methods(["GET", "HEAD", "POST"])
def requests(request: HttpRequest, *, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post_request(request, fmt)
    district = _district(request)
    key = _api_key(request)
    rows = selectors.request_list(
        district_code=district, scope_path=_scope_path(key), params=request.GET.dict()
    )
    return render(fmt, "service_requests", selectors.requests_as_open311(rows, request))


@open311_view
@require_http_methods(["GET", "HEAD"])
def request_detail(request: HttpRequest, code: str, *, fmt: str) -> HttpResponse:
    district = _district(request)
    key = _api_key(request)
    row = selectors.request_get(district_code=district, scope_path=_scope_path(key), code=code)
    if row is None:
        raise Open311Error(404, _("service_request_id 不存在: %(value)s") % {"value": code})
    return render(fmt, "service_requests", selectors.requests_as_open311([row], request))


@open311_view
@require_http_methods(["GET", "HEAD"])
def token_detail(request: HttpRequest, token: str, *, fmt: str) -> HttpResponse:
    district = _district(request)
    key = _api_key(request)
    appeal = selectors.token_lookup(
        district_code=district, token=token, key_id=key.pk if key is not None else None
    )
    if appeal is None:
        raise Open311Error(404, _("token 不存在: %(value)s") % {"value": token})
    return render(fmt, "service_requests", [{"service_request_id": str(appeal.pk), "token": token}])


def _float(params: QueryDict, name: str, low: float, high: float) -> float | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, _("%(name)s 须为数字") % {"name": name}) from None
    if not math.isfinite(value) or value < low or value > high:
        raise Open311Error(
            400,
            _("%(name)s 须在 %(low)s 到 %(high)s 之间")
            % {"name": name, "low": f"{low:g}", "high": f"{high:g}"},
        )
    return value


def _post_request(request: HttpRequest, fmt: str) -> HttpResponse:
    from gridgov.open311.intake import open311_intake

    district = _district(request)
    key = _api_key(request)
    if key is None:
        retry_after = check_rate(request, scope=RATE_SCOPE)
        if retry_after is not None:
            raise TooManyRequests(retry_after)
        if not settings.GRIDGOV_OPEN311_ANONYMOUS_POST:
            raise Open311Error(403, _("api_key 缺失: 提交诉求需要 API 密钥"))

    params = request.POST
    latitude = _float(params, "lat", -90, 90)
    longitude = _float(params, "long", -180, 180)
    if (latitude is None) != (longitude is None):
        raise Open311Error(400, _("lat 和 long 须同时提供"))
    description = params.get("description", "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, _("description 不能超过 %(n)s 个字符") % {"n": MAX_DESCRIPTION})
    started = timezone.now()
    appeal = open311_intake(
        actor=key.user if key is not None else None,
        key=key,
        district_code=district,
        service_code=params.get("service_code", "").strip(),
        latitude=latitude,
        longitude=longitude,
        address=params.get("address_string", "").strip(),
        address_id=params.get("address_id", "").strip(),
        description=description,
        attributes=_attributes(params),
        first_name=params.get("first_name", "").strip(),
        last_name=params.get("last_name", "").strip(),
        phone=params.get("phone", "").strip(),
        email=params.get("email", "").strip(),
        media_url=params.get("media_url", "").strip(),
        photo=request.FILES.get("media"),
        client_key=idempotency_key(request),
    )
    status = 200 if getattr(appeal, "replayed", appeal.created_at < started) else 201
    return render(
        fmt,
        "service_requests",
        [
            {
                "service_request_id": str(appeal.pk),
                "service_notice": selectors.service_notice(appeal),
                "account_id": None,
            }
        ],
        status=status,
    )


def _attributes(params: QueryDict) -> dict[str, list[str]]:
    """attribute[CODE]=v and attribute[CODE][]=v1&attribute[CODE][]=v2 → {CODE: [v…]}."""
    result: dict[str, list[str]] = {}
    for name in params:
        if not name.startswith("attribute[") or "]" not in name:
            continue
        code = name[len("attribute[") : name.index("]")]
        result.setdefault(code, []).extend(params.getlist(name))
    return result


def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    """Any other path under /open311/v2/: the spec's error list (XML when it ends in .xml)."""
    fmt = "xml" if rest.endswith(".xml") else "json"
    return render_errors(fmt, 404, _("没有这个接口: %(path)s") % {"path": request.path})
