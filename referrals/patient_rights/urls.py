"""Patient-rights URLs, mounted under /s/<spa_slug>/referrals/<referral_id>/patient/."""

from django.urls import path

from . import views

app_name = "patient_rights"

urlpatterns = [
    path("", views.patient_rights, name="page"),
    path("export/", views.patient_export_view, name="export"),
    path("erase/", views.patient_erase_view, name="erase"),
]
