"""Day-to-day outreach URLs: My day, tasks, touchpoints, the playbook and outreach settings."""

from django.urls import path

from . import activity_views

urlpatterns = [
    path("", activity_views.my_day, name="my_day"),
    path("my-day/patients/", activity_views.my_day_patients, name="my_day_patients"),
    path("tasks/", activity_views.task_list, name="task_list"),
    path("tasks/new/", activity_views.task_form, name="task_create"),
    path("tasks/done/", activity_views.task_bulk_done, name="task_bulk_done"),
    path("tasks/done/undo/", activity_views.task_bulk_undo, name="task_bulk_undo"),
    path("tasks/<uuid:task_id>/", activity_views.task_form, name="task_edit"),
    path("tasks/<uuid:task_id>/done/", activity_views.task_done, name="task_done"),
    path("tasks/<uuid:task_id>/undo/", activity_views.task_undo, name="task_undo"),
    path("tasks/<uuid:task_id>/snooze/", activity_views.task_snooze, name="task_snooze"),
    path("tasks/<uuid:task_id>/snooze/undo/", activity_views.task_snooze_undo, name="task_snooze_undo"),
    path("practices/<uuid:practice_id>/touchpoints/", activity_views.touchpoint_log, name="touchpoint_log"),
    path("touchpoints/<uuid:touchpoint_id>/delete/", activity_views.touchpoint_delete, name="touchpoint_delete"),
    path("touchpoints/<uuid:touchpoint_id>/restore/", activity_views.touchpoint_restore, name="touchpoint_restore"),
    path("practices/<uuid:practice_id>/timeline/", activity_views.practice_timeline, name="practice_timeline"),
    path("practices/<uuid:practice_id>/playbook/", activity_views.task_from_playbook, name="task_from_playbook"),
    path("settings/", activity_views.outreach_settings, name="outreach_settings"),
]
