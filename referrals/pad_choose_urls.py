"""Making a referral pad from the documents page, mounted under /s/<spa_slug>/documents/pads/."""

from django.urls import path

from . import pad_views

app_name = "pad_choose"

urlpatterns = [
    path("new/", pad_views.pad_choose_practice, name="choose"),
]
