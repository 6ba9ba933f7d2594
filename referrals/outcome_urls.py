"""Outcome report URLs, mounted under /s/<spa_slug>/referrals/<referral_id>/outcome/."""

from django.urls import path

from . import outcome_views

app_name = "outcomes"

urlpatterns = [
    path("", outcome_views.outcome_report_edit, name="edit"),
    path("share/", outcome_views.outcome_report_share_view, name="share"),
    path("pdf/", outcome_views.outcome_report_pdf, name="pdf"),
]
