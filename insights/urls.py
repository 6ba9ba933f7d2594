"""The workspace's front page, mounted at /s/<spa_slug>/ (namespace "insights")."""

from django.urls import path

from . import dashboard_views

app_name = "insights"

urlpatterns = [
    path("", dashboard_views.dashboard, name="dashboard"),
]
