from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from gridgov.core.errors import DomainError


class DomainErrorMiddleware:
    """Maps a DomainError raised in a page view to its HTTP status with a readable page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        if not isinstance(exception, DomainError):
            return None
        wants_json = "application/json" in request.headers.get("Accept", "")
        if wants_json:
            response = JsonResponse({"error": exception.as_dict()}, status=exception.status)
        else:
            response = render(request, "error.html", {"error": exception}, status=exception.status)
        if getattr(exception, "retry_after", None):
            response["Retry-After"] = str(exception.retry_after)
        return response


class ApiErrorShapeMiddleware:
    """Gives /api/ answers that Django or ninja produce outside our handlers (an unknown URL,
    a method not allowed) the API's one error shape: {"error": {"code", "message"}}."""

    SHAPES = {
        404: ("not_found", _("未找到该接口")),
        405: ("method_not_allowed", _("不支持该请求方法")),
    }

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
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
