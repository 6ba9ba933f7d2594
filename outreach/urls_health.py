"""Outreach URLs for health, included by outreach/urls.py (names live in the "outreach" namespace)."""

urlpatterns = []
