"""Spa-side referral URLs, mounted under /s/<spa_slug>/referrals/."""

from django.urls import path

from . import views
from .intake import views as intake_views

app_name = "referrals"

urlpatterns = [
    path("", views.referral_inbox, name="inbox"),
    path("bulk/", views.referral_bulk, name="bulk"),
    path("bulk/undo/", views.referral_bulk_undo, name="bulk_undo"),
    path("nav-badges/", views.referral_nav_badges, name="nav_badges"),
    path("new/", intake_views.referral_create, name="create"),
    path("new/practice-fields/", intake_views.referral_create_options, name="create_options"),
    path("settings/", views.referral_settings, name="settings"),
    path("<uuid:referral_id>/", views.referral_detail, name="detail"),
    path("<uuid:referral_id>/attachment/", views.referral_attachment, name="attachment"),
    # One address per action (accept, decline, attempt, schedule, …): each is its own audited change.
    *[
        path(
            f"<uuid:referral_id>/{action.replace('_', '-')}/",
            views.referral_action,
            {"action": action},
            name=f"action_{action}",
        )
        for action in views.ACTION_FORMS
    ],
]
