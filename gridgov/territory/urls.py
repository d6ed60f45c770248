from __future__ import annotations

from django.urls import path

from gridgov.territory import views

app_name = "territory"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("map/", views.grid_map, name="map"),
    path("grids/", views.grid_list, name="grid_list"),
    path("grids/geojson/", views.geojson, name="geojson"),
    path("grids/<str:code>/", views.grid_detail, name="grid_detail"),
    path("regions/<str:code>/", views.region_detail, name="region_detail"),
]
