"""Making a referral pad from the documents page, mounted under /s/<spa_slug>/documents/pads/."""

from django.urls import path

from . import views

app_name = "pad_choose"

urlpatterns = [
    path("new/", views.pad_choose_practice, name="choose"),
]
