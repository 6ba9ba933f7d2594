"""Outreach URLs for objections, included by outreach/urls.py (names live in the "outreach" namespace)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.objection_library, name="objection_library"),
    path("summary/", views.objection_summary, name="objection_summary"),
    path("log/", views.objection_log_create, name="objection_log_create"),
    path("response-options/", views.objection_response_options, name="objection_response_options"),
    path("responses/new/", views.objection_response_form, name="objection_response_create"),
    path("responses/<uuid:response_id>/", views.objection_response_form, name="objection_response_edit"),
    path("responses/<uuid:response_id>/archive/", views.objection_response_archive, name="objection_response_archive"),
    path("responses/<uuid:response_id>/restore/", views.objection_response_restore, name="objection_response_restore"),
    path("practices/<uuid:practice_id>/", views.objection_practice_log, name="objection_practice_log"),
    path("<uuid:objection_id>/delete/", views.objection_log_delete, name="objection_log_delete"),
]
