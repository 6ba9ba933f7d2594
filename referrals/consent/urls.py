"""A referral's authorizations, mounted under /s/<spa_slug>/referrals/<referral_id>/consent/."""

from django.urls import path

from . import views

app_name = "consent"

urlpatterns = [
    path("record/", views.authorization_record, name="record"),
    path("<uuid:authorization_id>/revoke/", views.authorization_revoke_view, name="revoke"),
]
