from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

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
            return JsonResponse({"error": exception.as_dict()}, status=exception.status)
        return render(request, "error.html", {"error": exception}, status=exception.status)
