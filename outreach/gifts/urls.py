"""Outreach URLs for gifts, included by outreach/urls.py (names live in the "outreach" namespace)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.gift_ledger, name="gift_ledger"),
    path("new/", views.gift_create, name="gift_create"),
    path("new/recipients/", views.gift_recipient_options, name="gift_recipient_options"),
    path("new/standing/", views.gift_recipient_standing, name="gift_recipient_standing"),
    path("<uuid:gift_id>/correct/", views.gift_correct, name="gift_correct"),
    path("<uuid:gift_id>/remove/", views.gift_delete, name="gift_delete"),
    path("report/", views.gift_report_current, name="gift_report_current"),
    path("report/<int:year>/", views.gift_report, name="gift_report"),
    path("report/<int:year>/csv/", views.gift_report_csv, name="gift_report_csv"),
    path("limits/", views.gift_limits, name="gift_limits"),
    path("limits/<int:year>/", views.gift_limit_edit, name="gift_limit_edit"),
]
