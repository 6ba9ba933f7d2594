"""Letter URLs: letter templates, sending a letter or a batch, batches and the leave-behind. Included by
outreach/urls.py at its root, so the paths keep their prefixes and the names live in the "outreach" namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("letters/", views.letter_template_list, name="index"),
    path("letters/new/", views.letter_template_form, name="template_create"),
    path("letters/<uuid:template_id>/", views.letter_template_form, name="template_edit"),
    path("send/", views.letter_send, name="send"),
    path("batches/<uuid:batch_id>/", views.batch_detail, name="batch"),
    path("batches/<uuid:batch_id>/<uuid:part_id>/download/", views.batch_part_download, name="part_download"),
    path("leave-behind/", views.leave_behind, name="leave_behind"),
]
