"""Owner pages for REST API keys, mounted under /s/<spa_slug>/api-keys/."""

from django.urls import path

from . import views

app_name = "api_keys"

urlpatterns = [
    path("", views.api_key_list, name="list"),
    path("new/", views.api_key_create_view, name="create"),
    path("<uuid:key_id>/revoke/", views.api_key_revoke_view, name="revoke"),
]
