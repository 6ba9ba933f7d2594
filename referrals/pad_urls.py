"""Referral pad URLs, mounted under /s/<spa_slug>/partners/<practice_id>/pads/ (spa_referrals/urls.py)."""

from django.urls import path

from . import pad_views

app_name = "pads"

urlpatterns = [
    path("", pad_views.pad_request, name="request"),
]
