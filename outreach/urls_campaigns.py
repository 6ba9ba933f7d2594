"""Outreach URLs for campaigns, included by outreach/urls.py (names live in the "outreach" namespace)."""

urlpatterns = []
