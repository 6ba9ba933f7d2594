"""Outreach URLs, mounted under /s/<spa_slug>/outreach/."""

from django.urls import path

from . import views

app_name = "outreach"

urlpatterns = [
    path("", views.letter_template_list, name="index"),
    path("letters/new/", views.letter_template_form, name="template_create"),
    path("letters/<uuid:template_id>/", views.letter_template_form, name="template_edit"),
    path("send/", views.letter_send, name="send"),
    path("batches/<uuid:batch_id>/", views.batch_detail, name="batch"),
    path("batches/<uuid:batch_id>/<uuid:part_id>/download/", views.batch_part_download, name="part_download"),
    path("leave-behind/", views.leave_behind, name="leave_behind"),
]
