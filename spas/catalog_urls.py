"""Catalog URLs, mounted under /s/<spa_slug>/catalog/."""

from django.urls import path

from . import catalog_views as views

app_name = "catalog"

urlpatterns = [
    path("", views.catalog_index, name="index"),
    path("talking-points/", views.talking_points, name="talking_points"),
    path("talking-points/<slug:specialty>/", views.talking_points_edit, name="talking_points_edit"),
    path("<slug:kind>/", views.catalog_list, name="list"),
    path("<slug:kind>/new/", views.catalog_form, name="create"),
    path("<slug:kind>/<uuid:item_id>/", views.catalog_form, name="edit"),
    path("<slug:kind>/<uuid:item_id>/archive/", views.catalog_archive, name="archive"),
]
