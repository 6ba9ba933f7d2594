"""Outreach URLs, mounted under /s/<spa_slug>/outreach/ (namespace "outreach").

Each area has its own URL module, included here without a namespace of its own so every page is
"outreach:<name>"; names are prefixed by area to stay unique.
"""

from django.urls import include, path

from . import views

app_name = "outreach"

urlpatterns = [
    path("", include("outreach.activity.urls")),
    path("letters/", views.letter_template_list, name="index"),
    path("letters/new/", views.letter_template_form, name="template_create"),
    path("letters/<uuid:template_id>/", views.letter_template_form, name="template_edit"),
    path("send/", views.letter_send, name="send"),
    path("batches/<uuid:batch_id>/", views.batch_detail, name="batch"),
    path("batches/<uuid:batch_id>/<uuid:part_id>/download/", views.batch_part_download, name="part_download"),
    path("leave-behind/", views.leave_behind, name="leave_behind"),
    path("campaigns/", include("outreach.urls_campaigns")),
    path("events/", include("outreach.urls_events")),
    path("objections/", include("outreach.urls_objections")),
    path("gifts/", include("outreach.urls_gifts")),
    path("health/", include("outreach.urls_health")),
]
