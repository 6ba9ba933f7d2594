"""Partner (practice) URLs, mounted under /s/<spa_slug>/partners/."""

from django.urls import path

from . import import_views, views
from .prospecting import views as prospect_views

app_name = "partners"

urlpatterns = [
    path("", views.practice_list, name="list"),
    path("board/", views.practice_board, name="board"),
    path("new/", views.practice_create, name="create"),
    path("import/", import_views.import_upload, name="import_upload"),
    path("import/<uuid:import_id>/", import_views.import_review, name="import_review"),
    path("prospects/", prospect_views.prospect_search, name="prospects"),
    path("prospects/import/", prospect_views.prospect_import, name="prospects_import"),
    path(
        "prospects/imports/<uuid:prospect_import_id>/",
        prospect_views.prospect_import_detail,
        name="prospect_import_detail",
    ),
    path("nearby/", prospect_views.nearby, name="nearby"),
    path("export/practices.csv", import_views.export_practices, name="export_practices"),
    path("export/clinicians.csv", import_views.export_clinicians, name="export_clinicians"),
    path("<uuid:practice_id>/", views.practice_detail, name="detail"),
    path("<uuid:practice_id>/edit/", views.practice_edit, name="edit"),
    path("<uuid:practice_id>/stage/", views.practice_move_stage, name="move_stage"),
    path("<uuid:practice_id>/stage/undo/", views.practice_move_stage_undo, name="move_stage_undo"),
    path("<uuid:practice_id>/merge/", views.practice_merge, name="merge"),
    path("<uuid:practice_id>/clinicians/new/", views.clinician_form, name="clinician_create"),
    path("<uuid:practice_id>/clinicians/<uuid:clinician_id>/", views.clinician_form, name="clinician_edit"),
    path("<uuid:practice_id>/clinicians/<uuid:clinician_id>/delete/", views.clinician_delete, name="clinician_delete"),
    path("<uuid:practice_id>/contacts/new/", views.contact_form, name="contact_create"),
    path("<uuid:practice_id>/contacts/<uuid:contact_id>/", views.contact_form, name="contact_edit"),
    path("<uuid:practice_id>/contacts/<uuid:contact_id>/delete/", views.contact_delete, name="contact_delete"),
]
