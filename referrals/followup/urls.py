"""A referral's patient follow-up, mounted under /s/<spa_slug>/referrals/<referral_id>/follow-up/."""

from django.urls import path

from . import views

app_name = "follow_up"

urlpatterns = [
    path("cancel/", views.follow_up_cancel_view, name="cancel"),
]
