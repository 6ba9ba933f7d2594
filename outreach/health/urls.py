"""Outreach URLs for health, included by outreach/urls.py (names live in the "outreach" namespace)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.partner_health, name="partner_health"),
    path("practices/<uuid:practice_id>/", views.practice_panel, name="health_practice_panel"),
    path("practices/<uuid:practice_id>/cadence/", views.cadence_update, name="health_cadence_update"),
]
