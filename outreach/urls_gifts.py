"""Outreach URLs for gifts, included by outreach/urls.py (names live in the "outreach" namespace)."""

urlpatterns = []
