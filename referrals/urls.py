"""Spa-side referral URLs, mounted under /s/<spa_slug>/referrals/."""

from django.urls import path  # noqa: F401 - the inbox views are added with their tests

app_name = "referrals"

urlpatterns = []
