from __future__ import annotations

from django.urls import path

from gridgov.ledgers import views

app_name = "ledgers"
urlpatterns = [
    path("", views.index, name="index"),
    path("<str:kind>/template.<str:fmt>", views.template, name="template"),
    path("<str:kind>/import/", views.import_file, name="import"),
    path("<str:kind>/export/", views.export, name="export"),
    path("grids/geojson/", views.export_geojson, name="export_geojson"),
]
