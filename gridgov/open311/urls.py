from __future__ import annotations

from django.conf import settings
from django.urls import path, re_path

from gridgov.open311 import views

app_name = "open311"

FMT = r"\.(?P<fmt>json|xml)$"

urlpatterns = [
    re_path(r"^v2/discovery" + FMT, views.discovery, name="discovery"),
    re_path(r"^v2/services" + FMT, views.service_list, name="services"),
    re_path(r"^v2/services/(?P<code>[^/]+?)" + FMT, views.service_definition, name="service"),
    re_path(r"^v2/requests" + FMT, views.requests, name="requests"),
    re_path(r"^v2/requests/(?P<code>[^/]+?)" + FMT, views.request_detail, name="request"),
    re_path(r"^v2/tokens/(?P<token>[^/]+?)" + FMT, views.token_detail, name="token"),
    re_path(r"^v2/(?P<rest>.*)$", views.not_found),
]

if getattr(settings, "GRIDGOV_BENCH", False):
    from gridgov.open311 import bench_views

    urlpatterns.append(path("bench/bare", bench_views.bare_insert, name="bench_bare"))
