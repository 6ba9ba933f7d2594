"""Public URLs (no sign-in, no spa in the address): the patient landing page /r/<code>, the patient's link
that revokes an authorization, and the portal invitation link (whose view is the portal's: included by its
dotted path, so intake does not import the portal)."""

from django.urls import include, path

from . import public_views

app_name = "public"

urlpatterns = [
    path("r/", public_views.landing_code_entry, name="landing_code"),
    path("r/<str:code>", public_views.landing, name="landing"),
    path("r/<str:code>/", public_views.landing),
    path("r/<str:code>/thanks", public_views.landing_thanks, name="landing_thanks"),
    path("consent/revoke/<str:token>/", public_views.consent_revoke, name="consent_revoke"),
    path("portal-invitations/<str:token>/", include("referrals.portal.invitation_urls")),
]
