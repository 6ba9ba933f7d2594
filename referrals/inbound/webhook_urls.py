"""The providers' webhooks, mounted under /inbound/ (public: the signature is the credential)."""

from django.urls import path

from . import webhooks

app_name = "inbound_webhooks"

urlpatterns = [
    path("email/", webhooks.inbound_email, name="email"),
    path("sms/", webhooks.inbound_sms, name="sms"),
]
