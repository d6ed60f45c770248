from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.static import serve

from gridgov.api import api
from gridgov.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    # Browsers ask for it on pages without an icon link (the admin's).
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", api.urls),
    path("open311/", include("gridgov.open311.urls")),
    path("admin/", admin.site.urls),
    path("", core_views.home, name="home"),
    path("accounts/", include("gridgov.accounts.urls")),
    path("territory/", include("gridgov.territory.urls")),
    path("people/", include("gridgov.people.urls")),
    path("appeals/", include("gridgov.appeals.urls")),
    path("ledgers/", include("gridgov.ledgers.urls")),
    path("dashboard/", include("gridgov.dashboard.urls")),
    path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}),
]
