"""Outreach URLs for events, included by outreach/urls.py (names live in the "outreach" namespace)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.event_list, name="event_list"),
    path("new/", views.event_form, name="event_create"),
    path("<uuid:event_id>/", views.event_detail, name="event_detail"),
    path("<uuid:event_id>/edit/", views.event_form, name="event_edit"),
    path("<uuid:event_id>/delete/", views.event_delete, name="event_delete"),
    path("<uuid:event_id>/invite/", views.event_invite, name="event_invite"),
    path("<uuid:event_id>/follow-ups/", views.event_follow_ups_create, name="event_follow_ups_create"),
    path("<uuid:event_id>/invitees/<uuid:invitee_id>/", views.event_invitee_update, name="event_invitee_update"),
    path(
        "<uuid:event_id>/invitees/<uuid:invitee_id>/remove/",
        views.event_invitee_remove,
        name="event_invitee_remove",
    ),
]
