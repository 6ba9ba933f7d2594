"""The spa's drafts of referrals by email and text, mounted under /s/<spa_slug>/referrals/inbound/."""

from django.urls import path

from . import views

app_name = "inbound"

urlpatterns = [
    path("", views.draft_list, name="list"),
    path("<uuid:draft_id>/", views.draft_detail, name="detail"),
    path("<uuid:draft_id>/confirm/", views.draft_confirm, name="confirm"),
    path("<uuid:draft_id>/discard/", views.draft_discard, name="discard"),
    path("<uuid:draft_id>/attachments/<uuid:attachment_id>/", views.draft_attachment, name="attachment"),
]
