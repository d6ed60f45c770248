"""The JSON API at /api/v1/, one OpenAPI document at /api/docs.

Each app contributes a router from its own ``api.py``; errors share one shape.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from gridgov.core.errors import DomainError

api = NinjaAPI(
    title="gridgov API",
    version="1",
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
    description="党建引领城市基层治理平台 gridgov 的 JSON API。",
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, {"error": exc.as_dict()}, status=exc.status)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = [
        {"field": ".".join(str(p) for p in err.get("loc", [])[1:]) or "body",
         "message": err.get("msg", "")}
        for err in exc.errors
    ]
    first = details[0]["field"] if details else "body"
    body = {"error": {"code": "invalid", "message": f"输入有误: {first}", "field": first,
                      "details": details}}
    return api.create_response(request, body, status=400)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": "unauthorized", "message": "需要登录或有效的令牌"}}, status=401
    )


def _register_routers() -> None:
    import importlib

    for app in ("territory", "people", "appeals"):
        try:
            module = importlib.import_module(f"gridgov.{app}.api")
        except ModuleNotFoundError as exc:
            if exc.name != f"gridgov.{app}.api":
                raise
            continue
        api.add_router(f"/v1/{app}/", module.router)


_register_routers()
