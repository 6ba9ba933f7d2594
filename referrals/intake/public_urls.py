"""Public URLs: the patient landing page /r/<code> and portal invitation links."""

from django.urls import path

from . import public_views

app_name = "public"

urlpatterns = [
    path("r/", public_views.landing_code_entry, name="landing_code"),
    path("r/<str:code>", public_views.landing, name="landing"),
    path("r/<str:code>/", public_views.landing),
    path("r/<str:code>/thanks", public_views.landing_thanks, name="landing_thanks"),
    path("consent/revoke/<str:token>/", public_views.consent_revoke, name="consent_revoke"),
    path("portal-invitations/<str:token>/", public_views.portal_invitation, name="portal_invitation"),
]
