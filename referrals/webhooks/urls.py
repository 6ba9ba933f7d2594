"""Owners' webhook pages, mounted under /s/<spa_slug>/webhooks/."""

from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("", views.webhook_list, name="list"),
    path("new/", views.webhook_create, name="create"),
    path("<uuid:endpoint_id>/", views.webhook_detail, name="detail"),
    path("<uuid:endpoint_id>/edit/", views.webhook_edit, name="edit"),
    path("<uuid:endpoint_id>/disable/", views.webhook_set_active, {"active": False}, name="disable"),
    path("<uuid:endpoint_id>/enable/", views.webhook_set_active, {"active": True}, name="enable"),
    path("<uuid:endpoint_id>/rotate-secret/", views.webhook_rotate, name="rotate"),
    path("<uuid:endpoint_id>/test/", views.webhook_send_test, name="test"),
    path("<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/retry/", views.webhook_retry, name="retry"),
]
