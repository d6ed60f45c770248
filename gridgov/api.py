"""The JSON API at /api/v1/, one OpenAPI document at /api/docs.

Each app contributes a router from its own ``api.py``; errors share one shape, which the
OpenAPI document declares (400/401/403/404/409/429) on every operation.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from gridgov.core.errors import DomainError

# The one error shape of every answer that is not a success (the handlers below,
# core.middleware.ApiErrorShapeMiddleware, core.ratelimit), as OpenAPI schemas.
ERROR_SCHEMAS: dict[str, Any] = {
    "ApiError": {
        "title": "ApiError",
        "description": "所有错误应答的统一格式。",
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"$ref": "#/components/schemas/ApiErrorBody"}},
    },
    "ApiErrorBody": {
        "title": "ApiErrorBody",
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {
                "type": "string",
                "description": "invalid / unauthorized / forbidden / not_found / conflict / "
                "rate_limited / method_not_allowed / server_error，个别接口另有更细的代码"
                "（如 no_grid）",
            },
            "message": {"type": "string", "description": "可直接展示给用户的说明"},
            "field": {"type": "string", "description": "出错的输入项（请求中的名称）"},
            "row": {"type": "integer", "description": "导入数据中出错的行"},
            "details": {
                "type": "array",
                "description": "逐项的错误（有多项时）",
                "items": {"$ref": "#/components/schemas/ApiErrorDetail"},
            },
        },
    },
    "ApiErrorDetail": {
        "title": "ApiErrorDetail",
        "type": "object",
        "required": ["message"],
        "properties": {
            "field": {"type": "string"},
            "message": {"type": "string"},
            "row": {"type": "integer"},
        },
    },
}
# The error answers every operation may give (401: those that need a user or key).
ERROR_RESPONSES: dict[int, str] = {
    400: "输入有误：error.field 指明出错的输入项",
    401: "需要登录或有效的令牌",
    403: "无权执行此操作",
    404: "未找到，或不在您的管辖范围内",
    409: "当前状态不允许此操作，或幂等键已用于另一条内容不同的请求",
    429: "请求过于频繁：请于 Retry-After 头给出的秒数后重试",
}


def with_error_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the error answers, with the one error shape, on every operation of an
    OpenAPI document (once, here, rather than on each endpoint); an operation's own
    declaration of a status stays as it is."""
    schema.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, description in ERROR_RESPONSES.items():
                if status == 401 and not operation.get("security"):
                    continue
                if status in responses or str(status) in responses:
                    continue
                answer: dict[str, Any] = {"description": description, "content": content}
                if status == 429:
                    answer["headers"] = {
                        "Retry-After": {
                            "description": "可重试前需等待的秒数",
                            "schema": {"type": "integer"},
                        }
                    }
                responses[status] = answer
    return schema


class GridgovAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document declares the error answers (see
    ``with_error_responses``)."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return with_error_responses(schema)


api = GridgovAPI(
    title="gridgov API",
    version="1",
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
    description="党建引领城市基层治理平台 gridgov 的 JSON API。",
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    response = api.create_response(request, {"error": exc.as_dict()}, status=exc.status)
    if getattr(exc, "retry_after", None):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _field(loc: list[Any]) -> str:
    """The field as the client sent it: ninja's location is ("query" | "path", field, …) or
    ("body", <the view's parameter>, field, …), and the parameter is no name of the client's."""
    parts = [str(p) for p in loc]
    parts = parts[2:] if parts[:1] == ["body"] else parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = [
        {"field": _field(err.get("loc", [])), "message": err.get("msg", "")} for err in exc.errors
    ]
    first = details[0]["field"] if details else "body"
    body = {
        "error": {
            "code": "invalid",
            "message": _("输入有误：%(field)s") % {"field": first},
            "field": first,
            "details": details,
        }
    }
    return api.create_response(request, body, status=400)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {"error": {"code": "unauthorized", "message": _("需要登录或有效的令牌")}},
        status=401,
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(
        request,
        {"error": {"code": "not_found", "message": _("未找到，或不在您的管辖范围内")}},
        status=404,
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        429: "rate_limited",
    }.get(exc.status_code, "invalid")
    return api.create_response(
        request, {"error": {"code": code, "message": str(exc)}}, status=exc.status_code
    )


@api.exception_handler(SuspiciousOperation)
@api.exception_handler(BadRequest)
def _unreadable_request(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Django refuses to read a request it finds malformed or too large (more than
    # DATA_UPLOAD_MAX_NUMBER_FIELDS parameters, a multipart body without a boundary): the
    # client's fault, not a server fault.
    field = "query" if request.method in ("GET", "HEAD") else "body"
    message = _("请求无法读取：参数过多或格式不对（%(field)s）") % {"field": field}
    return api.create_response(
        request, {"error": {"code": "invalid", "message": message, "field": field}}, status=400
    )


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def _out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
    # An id or number beyond what the database column holds (SQLite: OverflowError;
    # PostgreSQL: DataError "out of range") is bad input, not a server fault.
    return api.create_response(
        request, {"error": {"code": "invalid", "message": _("输入的数值超出范围")}}, status=400
    )


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logging.getLogger("gridgov.api").exception("unhandled API error", exc_info=exc)
    return api.create_response(
        request,
        {"error": {"code": "server_error", "message": _("服务器内部错误，请稍后再试")}},
        status=500,
    )


def _register_routers() -> None:
    import importlib

    for app in ("accounts", "territory", "people", "appeals"):
        try:
            module = importlib.import_module(f"gridgov.{app}.api")
        except ModuleNotFoundError as exc:
            if exc.name != f"gridgov.{app}.api":
                raise
            continue
        api.add_router(f"/v1/{app}/", module.router)


_register_routers()
