"""Day-to-day outreach URLs: My day, tasks, touchpoints, the playbook and outreach settings."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.my_day, name="my_day"),
    path("my-day/patients/", views.my_day_patients, name="my_day_patients"),
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/new/", views.task_form, name="task_create"),
    path("tasks/done/", views.task_bulk_done, name="task_bulk_done"),
    path("tasks/done/undo/", views.task_bulk_undo, name="task_bulk_undo"),
    path("tasks/<uuid:task_id>/", views.task_form, name="task_edit"),
    path("tasks/<uuid:task_id>/done/", views.task_done, name="task_done"),
    path("tasks/<uuid:task_id>/undo/", views.task_undo, name="task_undo"),
    path("tasks/<uuid:task_id>/snooze/", views.task_snooze, name="task_snooze"),
    path("tasks/<uuid:task_id>/snooze/undo/", views.task_snooze_undo, name="task_snooze_undo"),
    path("practices/<uuid:practice_id>/touchpoints/", views.touchpoint_log, name="touchpoint_log"),
    path("touchpoints/<uuid:touchpoint_id>/delete/", views.touchpoint_delete, name="touchpoint_delete"),
    path("touchpoints/<uuid:touchpoint_id>/restore/", views.touchpoint_restore, name="touchpoint_restore"),
    path("practices/<uuid:practice_id>/timeline/", views.practice_timeline, name="practice_timeline"),
    path("practices/<uuid:practice_id>/playbook/", views.task_from_playbook, name="task_from_playbook"),
    path("settings/", views.outreach_settings, name="outreach_settings"),
]
