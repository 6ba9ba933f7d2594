"""Documents URLs, mounted under /s/<spa_slug>/documents/."""

from django.urls import path

from . import document_views as views

app_name = "documents"

urlpatterns = [
    path("", views.document_list, name="list"),
    path("<uuid:document_id>/download/", views.document_download, name="download"),
    path("<uuid:document_id>/thumbnail.png", views.document_thumbnail, name="thumbnail"),
    path("<uuid:document_id>/regenerate/", views.document_regenerate, name="regenerate"),
]
