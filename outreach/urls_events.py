"""Outreach URLs for events, included by outreach/urls.py (names live in the "outreach" namespace)."""

urlpatterns = []
