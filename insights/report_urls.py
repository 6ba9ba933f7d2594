"""Report URLs, mounted under /s/<spa_slug>/reports/."""

from django.urls import path

from . import report_views

app_name = "reports"

urlpatterns = [
    path("", report_views.report_page, name="index"),
]
