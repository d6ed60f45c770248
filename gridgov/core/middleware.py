from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from gridgov.core.errors import DomainError, ValidationFailed


def nul_parameter(request: HttpRequest) -> str | None:
    """The name of the query parameter holding a NUL character (%00), ``query`` when the
    query string holds one elsewhere; None when it holds none."""
    query = request.META.get("QUERY_STRING", "")
    if "%00" not in query and "\x00" not in query:
        return None
    name = next((k for k, vs in request.GET.lists() if "\x00" in k + "".join(vs)), "query")
    return name.replace("\x00", "") or "query"


class DomainErrorMiddleware:
    """Maps a DomainError raised in a page view to its HTTP status with a readable page.

    Also refuses a query string with a NUL character (%00) before any view reads it: no
    filter of any list may pass one to PostgreSQL, whose text cannot hold it (a 500)."""

    NUL_IN_QUERY = _("查询参数不能包含空字符（\\0）")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    # Paths whose views answer errors in a shape of their own (Open311's error list): they
    # refuse a NUL themselves (``nul_parameter``).
    OWN_ERROR_SHAPE = ("/open311/",)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(self.OWN_ERROR_SHAPE):
            name = nul_parameter(request)
            if name is not None:
                error = ValidationFailed(self.NUL_IN_QUERY, field=name)
                return self.process_exception(request, error)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        if not isinstance(exception, DomainError):
            return None
        wants_json = request.path.startswith("/api/") or "application/json" in request.headers.get(
            "Accept", ""
        )
        if wants_json:
            response = JsonResponse({"error": exception.as_dict()}, status=exception.status)
        else:
            response = render(request, "error.html", {"error": exception}, status=exception.status)
        if getattr(exception, "retry_after", None):
            response["Retry-After"] = str(exception.retry_after)
        return response


class ApiErrorShapeMiddleware:
    """Gives /api/ answers that Django or ninja produce outside our handlers (an unknown URL,
    a method not allowed) the API's one error shape: {"error": {"code", "message"}}.

    A body ninja cannot parse (not JSON, form-encoded, not UTF-8) it answers with an
    ``HttpError(400, "Cannot parse request body")``, which reaches the API's handler as any
    other HttpError: that English answer is given the Chinese message and ``field: "body"``."""

    SHAPES = {
        404: ("not_found", _("未找到该接口")),
        405: ("method_not_allowed", _("不支持该请求方法")),
    }
    # ninja.params.models.BodyModel; under DEBUG it appends " (<the parser's error>)".
    NINJA_UNPARSABLE = "Cannot parse request body"
    UNPARSABLE = _("请求体不是有效的 JSON")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 400 and request.path.startswith("/api/"):
            return self._unparsable_body(response)
        shape = self.SHAPES.get(response.status_code)
        if (
            shape is None
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        shaped = JsonResponse(
            {"error": {"code": shape[0], "message": str(shape[1])}},
            status=response.status_code,
            json_dumps_params={"ensure_ascii": False},
        )
        if response.has_header("Allow"):
            shaped["Allow"] = response["Allow"]
        return shaped

    def _unparsable_body(self, response: HttpResponse) -> HttpResponse:
        content = getattr(response, "content", b"")  # not a streaming answer
        if self.NINJA_UNPARSABLE.encode() not in content:
            return response
        try:
            message = json.loads(content)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            return response
        if not isinstance(message, str) or not message.startswith(self.NINJA_UNPARSABLE):
            return response
        return JsonResponse(
            {"error": {"code": "invalid", "message": str(self.UNPARSABLE), "field": "body"}},
            status=400,
            json_dumps_params={"ensure_ascii": False},
        )


class PrivatePagesMiddleware:
    """What a signed-in user is shown (a revealed phone number, a resident's record) is
    never kept by the browser or a proxy: Back after signing out, or on a shared desk PC,
    asks the server again instead of showing a stored copy. A response that sets its own
    Cache-Control keeps it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Cache-Control" not in response:
            response["Cache-Control"] = "private, no-store"
        return response
