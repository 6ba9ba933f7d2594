"""Outreach URLs for campaigns, included by outreach/urls.py (names live in the "outreach" namespace)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.campaign_list, name="campaign_list"),
    path("new/", views.campaign_create, name="campaign_create"),
    path("preview/", views.campaign_preview, name="campaign_preview"),
    path("<uuid:campaign_id>/", views.campaign_detail, name="campaign_detail"),
    path("<uuid:campaign_id>/edit/", views.campaign_edit, name="campaign_edit"),
    path("<uuid:campaign_id>/launch/", views.campaign_launch, name="campaign_launch"),
    path("<uuid:campaign_id>/stop/", views.campaign_stop, name="campaign_stop"),
    path("<uuid:campaign_id>/delete/", views.campaign_delete, name="campaign_delete"),
    path("<uuid:campaign_id>/letters/", views.campaign_letters_print, name="campaign_letters_print"),
    path(
        "<uuid:campaign_id>/practices/<uuid:practice_id>/remove/",
        views.campaign_practice_remove,
        name="campaign_practice_remove",
    ),
]
