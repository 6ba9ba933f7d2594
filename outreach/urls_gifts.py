"""Outreach URLs for gifts, included by outreach/urls.py (names live in the "outreach" namespace)."""

from django.urls import path

from . import gift_views

urlpatterns = [
    path("", gift_views.gift_ledger, name="gift_ledger"),
    path("new/", gift_views.gift_create, name="gift_create"),
    path("new/recipients/", gift_views.gift_recipient_options, name="gift_recipient_options"),
    path("new/standing/", gift_views.gift_recipient_standing, name="gift_recipient_standing"),
    path("<uuid:gift_id>/correct/", gift_views.gift_correct, name="gift_correct"),
    path("<uuid:gift_id>/remove/", gift_views.gift_delete, name="gift_delete"),
    path("report/", gift_views.gift_report_current, name="gift_report_current"),
    path("report/<int:year>/", gift_views.gift_report, name="gift_report"),
    path("report/<int:year>/csv/", gift_views.gift_report_csv, name="gift_report_csv"),
    path("limits/", gift_views.gift_limits, name="gift_limits"),
    path("limits/<int:year>/", gift_views.gift_limit_edit, name="gift_limit_edit"),
]
