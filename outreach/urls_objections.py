"""Outreach URLs for objections, included by outreach/urls.py (names live in the "outreach" namespace)."""

urlpatterns = []
