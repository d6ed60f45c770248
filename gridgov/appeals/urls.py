from __future__ import annotations

from django.urls import path

from gridgov.appeals import views

app_name = "appeals"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk-dispatch/", views.bulk_dispatch, name="bulk_dispatch"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/act/<str:action>/", views.act, name="act"),
    path("<int:pk>/merge/", views.merge, name="merge"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
    path("hotline/", views.hotline, name="hotline"),
    path("hotline/duplicates/", views.hotline_duplicates, name="hotline_duplicates"),
    path("hotline/caller/", views.hotline_caller, name="hotline_caller"),
    path("grid/report/", views.grid_report, name="grid_report"),
    path("mine/", views.my_tasks, name="my_tasks"),
    path("supervision/", views.supervision, name="supervision"),
    path("stats/", views.stats, name="stats"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read/", views.inbox_read, name="inbox_read"),
    # Residents, no account.
    path("report/", views.report, name="report"),
    path("report/done/<str:code>/", views.report_done, name="report_done"),
    path("track/", views.track, name="track"),
    path("track/<str:code>/", views.track_code, name="track_code"),
    path("track/<str:code>/<str:action>/", views.track_act, name="track_act"),
]
