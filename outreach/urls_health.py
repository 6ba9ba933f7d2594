"""Outreach URLs for health, included by outreach/urls.py (names live in the "outreach" namespace)."""

from django.urls import path

from . import health_views

urlpatterns = [
    path("", health_views.partner_health, name="partner_health"),
    path("practices/<uuid:practice_id>/", health_views.practice_panel, name="health_practice_panel"),
    path("practices/<uuid:practice_id>/cadence/", health_views.cadence_update, name="health_cadence_update"),
]
