"""Referral pad URLs, mounted under /s/<spa_slug>/partners/<practice_id>/pads/ (spa_referrals/urls.py)."""

from django.urls import path

from . import views

app_name = "pads"

urlpatterns = [
    path("", views.pad_request, name="request"),
]
