"""Outcome report URLs, mounted under /s/<spa_slug>/referrals/<referral_id>/outcome/."""

from django.urls import path

from . import views

app_name = "outcomes"

urlpatterns = [
    path("", views.outcome_report_edit, name="edit"),
    path("share/", views.outcome_report_share_view, name="share"),
    path("pdf/", views.outcome_report_pdf, name="pdf"),
]
