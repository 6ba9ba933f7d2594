"""Patient-rights URLs, mounted under /s/<spa_slug>/referrals/<referral_id>/patient/."""

from django.urls import path

from . import patient_rights_views

app_name = "patient_rights"

urlpatterns = [
    path("", patient_rights_views.patient_rights, name="page"),
    path("export/", patient_rights_views.patient_export_view, name="export"),
    path("erase/", patient_rights_views.patient_erase_view, name="erase"),
]
