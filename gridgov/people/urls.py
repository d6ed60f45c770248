from __future__ import annotations

from django.urls import path

from gridgov.people import views

app_name = "people"
urlpatterns = [
    path("", views.residents, name="residents"),
    path("residents/<int:pk>/", views.resident_detail, name="resident"),
    path("residents/<int:pk>/update/", views.resident_update, name="resident_update"),
    path("houses/", views.houses, name="houses"),
    path("houses/<int:pk>/", views.house_detail, name="house"),
    path("businesses/", views.businesses, name="businesses"),
    path("businesses/<int:pk>/close/", views.business_close, name="business_close"),
    path("party/", views.party_tree, name="party_tree"),
    path("party/members/", views.party_members, name="party_members"),
    path("roles/", views.roles, name="roles"),
    path("roles/<int:pk>/end/", views.role_end, name="role_end"),
    path("partner-units/", views.partner_units, name="partner_units"),
    path("new-orgs/", views.new_orgs, name="new_orgs"),
    path("new-orgs/<int:pk>/coverage/", views.new_org_coverage, name="new_org_coverage"),
]
